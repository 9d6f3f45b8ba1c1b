// Writes the backfill benchmark's trade files: the same seeded trades as the
// windowing benchmark (benchmarks/windowing/generator.mjs), as NDJSON and as
// CSV, with epoch-ms timestamps. Generation is never timed.
import { createWriteStream } from 'node:fs';
import { CHUNK, TradeGenerator } from '../windowing/generator.mjs';

/** Writes `trades` trades over `symbols` symbols to `path` as 'ndjson' or 'csv'; resolves when the file is closed. */
export async function writeTrades(path, format, { trades, symbols, seed = 1 }) {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const gen = new TradeGenerator(symbols, seed);
  if (format === 'csv') out.write('symbol,ts,price,size,side\n');
  for (let done = 0; done < trades; ) {
    const n = gen.next(Math.min(CHUNK, trades - done));
    const o = gen.objects;
    let text = '';
    if (format === 'csv') {
      for (let i = 0; i < n; i++) text += `${o[i].symbol},${o[i].ts},${o[i].price},${o[i].size},${o[i].side}\n`;
    } else {
      for (let i = 0; i < n; i++) text += `{"symbol":"${o[i].symbol}","ts":${o[i].ts},"price":${o[i].price},"size":${o[i].size},"side":"${o[i].side}"}\n`;
    }
    if (!out.write(text)) await new Promise((r) => out.once('drain', r));
    done += n;
  }
  await new Promise((resolve, reject) => out.end((e) => (e ? reject(e) : resolve())));
}
