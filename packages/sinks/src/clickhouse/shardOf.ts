/**
 * 32-bit FNV-1a hash of a string's UTF-8 bytes (offset basis 2166136261,
 * prime 16777619), as an unsigned integer. Stable across processes,
 * machines and versions: it decides which ClickHouse shard holds a symbol.
 *
 * @example
 * ```ts
 * fnv1a32('AAPL'); // 1489842955
 * ```
 */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return fnv1a32Bytes(Buffer.from(s, 'utf8'));
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h >>> 0;
}

function fnv1a32Bytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * The shard of a symbol among `shards` ClickHouse servers:
 * `fnv1a32(symbol) % shards`. The order of the configured URLs matters:
 * shard i is the i-th URL. Changing the number of shards moves symbols, so
 * existing rows must then be re-sharded (or read from every shard).
 *
 * @example
 * ```ts
 * shardOf('AAPL', 2); // 1
 * ```
 */
export function shardOf(symbol: string, shards: number): number {
  return shards <= 1 ? 0 : fnv1a32(symbol) % shards;
}
