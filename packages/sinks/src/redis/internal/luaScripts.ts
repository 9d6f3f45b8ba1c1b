// Lua scripts of the Redis store. Each runs atomically on the server, so a
// conditional write ("only if newer") costs no extra round trip and cannot
// race with another writer. Arguments are passed as strings produced by
// JavaScript's String(number), so values round-trip exactly; Lua only parses
// the integers it compares (epoch ms, rev), which doubles hold exactly.

/**
 * Latest trade per symbol. KEYS: `price:{symbol}` hashes. ARGV[1]: TTL in ms
 * (0: none); then per key: ts, price, size, side, id (empty when absent).
 * A key is replaced when the trade's ts ≥ the stored ts (ties: the later
 * write, as a candle's close), so a replayed older trade never wins.
 * Returns how many keys were replaced.
 */
export const LATEST_PRICE_LUA = `
local ttl = tonumber(ARGV[1])
local changed = 0
for k = 1, #KEYS do
  local j = 2 + (k - 1) * 5
  local cur = tonumber(redis.call('HGET', KEYS[k], 'ts'))
  if cur == nil or tonumber(ARGV[j]) >= cur then
    redis.call('HSET', KEYS[k], 'ts', ARGV[j], 'price', ARGV[j + 1], 'size', ARGV[j + 2], 'side', ARGV[j + 3], 'id', ARGV[j + 4])
    if ttl > 0 then redis.call('PEXPIRE', KEYS[k], ttl) end
    changed = changed + 1
  end
end
return changed
`;

/**
 * Price history per symbol, one argument per key instead of two per trade.
 * KEYS: `price_history:{symbol}` sorted sets. ARGV[1]: the rank to trim to
 * (negative: `-(historyLength + 1)` keeps the last `historyLength`); then per
 * key one string of members separated by newlines (a member never holds one:
 * the writer sends those with ZADD). A member's score is the number before
 * its first `|` (the trade's ts, as String(ts) wrote it). Adds the members
 * (ZADD, at most 1 000 a call), then trims. Returns the number of keys.
 */
export const PRICE_HISTORY_LUA = `
local trim = tonumber(ARGV[1])
local args = {}
for k = 1, #KEYS do
  local n = 0
  for m in string.gmatch(ARGV[k + 1], '[^\\n]+') do
    args[n + 1] = string.sub(m, 1, string.find(m, '|', 1, true) - 1)
    args[n + 2] = m
    n = n + 2
    if n == 2000 then
      redis.call('ZADD', KEYS[k], unpack(args, 1, n))
      n = 0
    end
  end
  if n > 0 then redis.call('ZADD', KEYS[k], unpack(args, 1, n)) end
  redis.call('ZREMRANGEBYRANK', KEYS[k], 0, trim)
end
return #KEYS
`;

/**
 * Latest window per key (candles, tick counts, volume profiles), processed in
 * order. KEYS: one key per row (may repeat). ARGV[1]: TTL in ms (0: none),
 * ARGV[2]: pub/sub channel ('' for none), ARGV[3]: message type; then per
 * row: start, rev, JSON. A row replaces the stored one when it is a newer
 * window (higher start) or the same window with rev ≥ the stored rev, so a
 * stale or replayed row never overwrites a newer one. The rows that were
 * applied are published as one message `{"type":…,"items":[…]}`.
 * Returns how many rows were applied.
 */
export const LATEST_WINDOW_LUA = `
local ttl = tonumber(ARGV[1])
local starts, revs, values = {}, {}, {}
local order = {}
local applied = {}
for k = 1, #KEYS do
  local key = KEYS[k]
  local j = 4 + (k - 1) * 3
  local start, rev = tonumber(ARGV[j]), tonumber(ARGV[j + 1])
  if starts[key] == nil then
    local old = redis.call('GET', key)
    if old then
      local d = cjson.decode(old)
      starts[key], revs[key] = tonumber(d.start), tonumber(d.rev)
    else
      starts[key], revs[key] = -1, 0
    end
  end
  if start > starts[key] or (start == starts[key] and rev >= revs[key]) then
    if values[key] == nil then order[#order + 1] = key end
    starts[key], revs[key], values[key] = start, rev, ARGV[j + 2]
    applied[#applied + 1] = ARGV[j + 2]
  end
end
for i = 1, #order do
  local key = order[i]
  if ttl > 0 then redis.call('SET', key, values[key], 'PX', ttl) else redis.call('SET', key, values[key]) end
end
if ARGV[2] ~= '' and #applied > 0 then
  redis.call('PUBLISH', ARGV[2], '{"type":"' .. ARGV[3] .. '","items":[' .. table.concat(applied, ',') .. ']}')
end
return #applied
`;

/**
 * Idempotent quote counter and latest quote per symbol. KEYS: `quotes:{symbol}`
 * hashes (one per symbol). ARGV per key: n, then n × (ts, bid, ask, bidSize,
 * askSize). A quote counts once: when its ts is newer than the newest counted
 * (the high-water mark), or equal to it with content not yet counted at that
 * ms (`seen` holds the contents counted at the high-water ms). A quote older
 * than the high-water mark is a replay or stale and is not counted again.
 * Returns how many quotes were counted.
 */
export const QUOTE_COUNT_LUA = `
local i = 1
local total = 0
for k = 1, #KEYS do
  local key = KEYS[k]
  local n = tonumber(ARGV[i])
  i = i + 1
  local cur = redis.call('HMGET', key, 'ts', 'seen')
  local hwm = tonumber(cur[1])
  local seen = cur[2] or ''
  local added, last = 0, 0
  for q = 1, n do
    local ts = tonumber(ARGV[i])
    local content = ARGV[i + 1] .. ':' .. ARGV[i + 2] .. ':' .. ARGV[i + 3] .. ':' .. ARGV[i + 4]
    if hwm == nil or ts > hwm then
      hwm, seen = ts, '\\n' .. content .. '\\n'
      added, last = added + 1, i
    elseif ts == hwm and not string.find(seen, '\\n' .. content .. '\\n', 1, true) then
      seen = seen .. content .. '\\n'
      added, last = added + 1, i
    end
    i = i + 5
  end
  if added > 0 then
    redis.call('HINCRBY', key, 'count', added)
    redis.call('HSET', key, 'ts', ARGV[last], 'bid', ARGV[last + 1], 'ask', ARGV[last + 2], 'bidSize', ARGV[last + 3], 'askSize', ARGV[last + 4], 'seen', seen)
    total = total + added
  end
end
return total
`;
