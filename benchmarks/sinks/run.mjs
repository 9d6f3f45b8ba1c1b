// `npm run bench -- sinks [--quick] [--only clickhouse,timescale,redis]`:
// rows/s per sink for trades and candles at a few batch sizes, from one Node
// process to local servers started by @tickflow/test-services (or the ones
// CLICKHOUSE_URL / DATABASE_URL / TIMESCALE_URL / REDIS_URL point at).
import { writeFileSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fmt } from '../format.mjs';

const stores = {
  clickhouse: './clickhouse.mjs',
  timescale: './timescale.mjs',
  redis: './redis.mjs',
};

export async function main(args) {
  const { values } = parseArgs({ args, options: { quick: { type: 'boolean' }, only: { type: 'string' } } });
  const only = values.only?.split(',');
  const results = [];
  for (const [name, path] of Object.entries(stores)) {
    if (only && !only.includes(name)) continue;
    console.log(`\n${name}`);
    const { bench } = await import(path);
    const rows = await bench({ quick: Boolean(values.quick) });
    for (const r of rows) {
      console.log(`  ${r.sink.padEnd(22)} ${r.kind.padEnd(10)} batch ${String(r.batchSize).padStart(6)}  ${fmt(r.rowsPerSecond).padStart(9)} rows/s  (${r.rows} rows in ${r.seconds.toFixed(2)} s)`);
      results.push(r);
    }
  }
  if (values.quick || only) return 0; // results/sinks.json keeps the last full run
  const out = new URL('../results/', import.meta.url);
  mkdirSync(out, { recursive: true });
  writeFileSync(new URL('sinks.json', out), `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, results }, null, 2)}\n`);
  return 0;
}
