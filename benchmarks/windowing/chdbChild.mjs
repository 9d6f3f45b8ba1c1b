// chDB (in-process ClickHouse) running the same 1m OHLCV in SQL on the same
// trades: node chdbChild.mjs <symbols> <trades>. The trades are written to a
// CSV file first (not timed); then the load (INSERT … FROM file) and the
// aggregation query are timed separately. chDB is large (~540 MB), so it is
// installed on first use into benchmarks/.cache/chdb, never by `npm install`.
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHUNK, TradeGenerator, fingerprint } from './generator.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cache = join(here, '..', '.cache', 'chdb');

function loadChdb() {
  if (!existsSync(join(cache, 'node_modules', 'chdb'))) {
    mkdirSync(cache, { recursive: true });
    console.error('installing chdb (first use, ~540 MB) into benchmarks/.cache/chdb …');
    execFileSync('npm', ['install', '--prefix', cache, '--no-audit', '--no-fund', '--no-save', 'chdb@3'], { stdio: 'inherit' });
  }
  return createRequire(join(cache, 'package.json'))('chdb');
}

const [symbolsArg, tradesArg] = process.argv.slice(2);
const symbols = Number(symbolsArg);
const trades = Number(tradesArg);
const { Session } = loadChdb();
const dir = mkdtempSync(join(tmpdir(), 'tickflow-chdb-'));
try {
  const csv = join(dir, 'trades.csv');
  const out = createWriteStream(csv);
  const gen = new TradeGenerator(symbols);
  for (let done = 0; done < trades; ) {
    const n = gen.next(Math.min(CHUNK, trades - done));
    let text = '';
    const o = gen.objects;
    for (let i = 0; i < n; i++) text += `${o[i].symbol},${o[i].ts},${o[i].price},${o[i].size},${o[i].side === 'buy' ? 1 : 2}\n`;
    if (!out.write(text)) await new Promise((r) => out.once('drain', r));
    done += n;
  }
  await new Promise((r) => out.end(r));

  const session = new Session(join(dir, 'db'));
  session.query('CREATE TABLE trades (symbol String, ts Float64, price Float64, size Float64, side Int8) ENGINE = MergeTree ORDER BY tuple()');
  let t0 = process.hrtime.bigint();
  session.query(`INSERT INTO trades SELECT * FROM file('${csv}', 'CSV', 'symbol String, ts Float64, price Float64, size Float64, side Int8')`);
  const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  t0 = process.hrtime.bigint();
  const result = session.query(
    `SELECT symbol, intDiv(toUInt64(ts), 60000) * 60000 AS start,
            argMin(price, ts) AS open, max(price) AS high, min(price) AS low, argMax(price, ts) AS close,
            sum(size) AS volume, count() AS trades, sum(price * size) / sum(size) AS vwap,
            sumIf(size, side = 1) AS buyVolume, sumIf(size, side = 2) AS sellVolume
     FROM trades GROUP BY symbol, start
     SETTINGS output_format_json_quote_64bit_integers = 0`,
    'JSONCompactEachRow',
  );
  const querySeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const candles = result
    .trim()
    .split('\n')
    .map((line) => {
      const [symbol, start, open, high, low, close, volume, count] = JSON.parse(line);
      return { symbol, start: Number(start), open, high, low, close, volume, trades: Number(count) };
    });
  session.close();
  const seconds = loadSeconds + querySeconds;
  console.log(JSON.stringify({
    impl: 'chdb',
    symbols,
    trades,
    seconds,
    loadSeconds,
    querySeconds,
    tradesPerSecond: trades / seconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    baseRssMb: 0,
    candles: candles.length,
    fingerprint: fingerprint(candles),
  }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
