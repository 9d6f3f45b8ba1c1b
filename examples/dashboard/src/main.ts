import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { TickflowError } from '@tickflow/core';
import { aggregateMain } from './aggregateCommand.js';
import { produceCommand } from './produceCommand.js';
import { serveMain } from './server/serveCli.js';

const HELP = `tickflow: real-time market-data analytics

Usage:
  tickflow aggregate [options]   read trades, write windowed results (NDJSON, CSV, Parquet or a store)
  tickflow serve [options]       run the reference server (embedded: synthetic feed, live candles)
  tickflow produce [options]     publish trades (and quotes) to Kafka: the market-data collector
  tickflow --help | --version

aggregate options: see tickflow aggregate --help (inputs: NDJSON/CSV, gzip/zstd, Parquet, Arrow IPC;
  --time-unit, --output ndjson|csv|parquet, --out FILE, --to clickhouse://…|postgres://…, --max-reports, --threads)

serve options: see tickflow serve --help (port, host, feed, data dir, JWT, rate limit, retention, …;
  flags or environment variables such as PORT, JWT_SECRET, RATE_LIMIT)

produce options:
  --brokers LIST           Kafka bootstrap servers, comma separated (default $KAFKA_BROKERS)
  --topic NAME             trades topic (default trades); key = symbol, partition = murmur2(symbol)
  --quotes-topic NAME      quotes topic for the quotes carried on trades (default quotes; "" for none)
  --format FORMAT          json | msgpack (default json)
  --input FILE             replay an NDJSON or CSV file of trades instead of the synthetic feed
  --count N                synthetic trades (default 10000)
  --symbols N              synthetic symbols (default 10)
  --seed N                 feed seed (default 1)
  --rate N                 trades per second (default: as fast as the broker takes them)
`;

/** Standard streams of a CLI run. */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
}

function positiveNumber(value: string | undefined, fallback: number, flag: string, integer = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new TickflowError('INVALID_ARGUMENT', `${flag} must be a ${integer ? 'whole ' : ''}number > 0, got "${value}"`);
  }
  return n;
}

/**
 * Runs the tickflow CLI with `argv` (without node and script). Resolves with
 * the exit code: 0 on success, 2 on a usage error, 1 on failure. `serve` keeps
 * running until SIGINT/SIGTERM.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    io.stdout.write('tickflow 0.1.0\n');
    return 0;
  }
  try {
    // aggregate parses its own flags and prints its own help and errors (one parser for every path).
    if (command === 'aggregate') return await aggregateMain(rest, io);
    if (command === 'serve') return await serveMain(rest, io);
    if (command === 'produce') {
      const { values } = parseArgs({
        args: [...rest],
        options: {
          brokers: { type: 'string' },
          topic: { type: 'string' },
          'quotes-topic': { type: 'string' },
          format: { type: 'string' },
          input: { type: 'string' },
          count: { type: 'string' },
          symbols: { type: 'string' },
          seed: { type: 'string' },
          rate: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: false,
      });
      if (values.help) {
        io.stdout.write(HELP);
        return 0;
      }
      const format = values.format ?? 'json';
      if (format !== 'json' && format !== 'msgpack') throw new TickflowError('INVALID_ARGUMENT', `--format must be json or msgpack, got "${format}"`);
      const brokers = (values.brokers ?? io.env.KAFKA_BROKERS ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      if (brokers.length === 0) throw new TickflowError('INVALID_ARGUMENT', 'no Kafka brokers: pass --brokers host:port or set KAFKA_BROKERS');
      const quotesTopic = values['quotes-topic'] ?? 'quotes';
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      try {
        const s = await produceCommand(
          {
            brokers,
            topic: values.topic ?? 'trades',
            quotesTopic: quotesTopic === '' ? undefined : quotesTopic,
            format,
            input: values.input,
            count: positiveNumber(values.count, 10_000, '--count', true),
            symbols: positiveNumber(values.symbols, 10, '--symbols', true),
            seed: positiveNumber(values.seed, 1, '--seed', true),
            rate: values.rate === undefined ? undefined : positiveNumber(values.rate, 1, '--rate'),
          },
          io,
          ac.signal,
        );
        const parts = Object.entries(s.partitions).map(([p, n]) => `${p}:${n}`).join(' ');
        io.stderr.write(
          `tickflow produce: ${s.trades} trades${quotesTopic === '' ? '' : `, ${s.quotes} quotes`} (${format}, ${(s.bytes / 1e6).toFixed(2)} MB) in ${(s.ms / 1000).toFixed(2)} s, ${Math.round((s.trades / Math.max(1, s.ms)) * 1000)} trades/s; ${values.topic ?? 'trades'} partitions now hold ${parts}\n`,
        );
        return 0;
      } finally {
        process.off('SIGINT', stop);
      }
    }
    io.stderr.write(`tickflow: unknown command "${command}"\n\n${HELP}`);
    return 2;
  } catch (e) {
    const usage = e instanceof TickflowError ? e.code === 'INVALID_ARGUMENT' || e.code === 'INVALID_DURATION' : (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    io.stderr.write(`tickflow ${command}: ${e instanceof Error ? e.message : String(e)}\n`);
    return usage ? 2 : 1;
  }
}
