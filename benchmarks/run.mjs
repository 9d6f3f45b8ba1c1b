#!/usr/bin/env node
// `npm run bench -- <name> [options]`: runs one benchmark suite.
const [name, ...args] = process.argv.slice(2);
const suites = { windowing: './windowing/run.mjs', sinks: './sinks/run.mjs', fanout: './fanout/run.mjs', kafka: './kafka/run.mjs', page: './page/run.mjs', e2e: './e2e/run.mjs', 'e2e-drain': './e2e/drain.mjs', backfill: './backfill/run.mjs', correlation: './correlation/run.mjs' };
if (!name || !(name in suites)) {
  console.error(`usage: npm run bench -- <${Object.keys(suites).join('|')}> [options]\n  windowing: --trades N --symbols 100,10000 --only tickflow-columnar,rxjs,... --quick\n  sinks: --quick --only clickhouse,timescale,redis\n  fanout: see benchmarks/README.md\n  kafka: --trades N --quick --no-postgres --no-profile\n  page: --symbols 50 --rates 1000,5000 --seconds 15 --quick\n  e2e: --rates 10000,50000,100000 --clients 1000 --seconds 20 --modes embedded,full,kafka --quick (see benchmarks/README.md)\n  e2e-drain: --trades 1000000 --symbols 100 --partitions 6 --modes kafka-memory,kafka --processes 1,2 --out FILE\n  backfill: --trades N --symbols N --runs N --formats ndjson,csv --threads 1,2 --quick\n  correlation: --symbols 500 --lookbacks 60,390 --only tickflow,recompute --quick`);
  process.exit(2);
}
const { main } = await import(suites[name]);
process.exitCode = await main(args);
