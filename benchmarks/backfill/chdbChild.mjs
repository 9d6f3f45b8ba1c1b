// chDB (ClickHouse 26 in process) backfilling 1m OHLCV candles straight from
// a trade file: node chdbChild.mjs <file> <ndjson|csv> <out>. One query,
// a GROUP BY over file(…, JSONEachRow | CSVWithNames), the result written as
// JSONEachRow to <out>. The whole process is what the parent times, as for
// tickflow: start, load the engine, read, parse, aggregate, write.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';

const [file, format, out, cacheDir] = process.argv.slice(2);
const { query } = createRequire(join(cacheDir, 'package.json'))('chdb');
const structure = "symbol String, ts Float64, price Float64, size Float64, side String";
const fmt = format === 'csv' ? 'CSVWithNames' : 'JSONEachRow';
const result = query(
  `SELECT symbol, intDiv(toUInt64(ts), 60000) * 60000 AS start,
          argMin(price, ts) AS open, max(price) AS high, min(price) AS low, argMax(price, ts) AS close,
          sum(size) AS volume, count() AS trades,
          sumIf(size, side = 'buy') AS buyVolume, sumIf(size, side = 'sell') AS sellVolume
   FROM file('${file}', '${fmt}', '${structure}')
   GROUP BY symbol, start
   SETTINGS output_format_json_quote_64bit_integers = 0`,
  'JSONEachRow',
);
writeFileSync(out, result);
