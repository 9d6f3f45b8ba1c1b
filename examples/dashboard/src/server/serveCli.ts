import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { pino } from 'pino';
import { PinoPretty } from 'pino-pretty';
import { startReferenceServer } from './referenceServer.js';
import { SETTINGS, configInput, parseServerConfig, serveHelp } from './serverConfig.js';

/**
 * Where the server logs: readable lines (pino-pretty: time, level, message,
 * fields) on a terminal, JSON lines otherwise (pipes, files, containers);
 * `--log-format` / TICKFLOW_LOG_FORMAT json|pretty chooses.
 */
export function logDestination(io: { stdout: Writable; env: NodeJS.ProcessEnv }, format: 'auto' | 'json' | 'pretty'): pino.DestinationStream {
  const tty = (io.stdout as Writable & { isTTY?: boolean }).isTTY === true;
  if (format === 'pretty' || (format !== 'json' && tty)) {
    return PinoPretty({ destination: io.stdout, sync: true, colorize: tty && io.env.NO_COLOR === undefined, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  }
  return io.stdout as unknown as pino.DestinationStream;
}

/**
 * `tickflow serve [options]`: validates flags and environment, starts the
 * reference server, and shuts it down gracefully on SIGINT/SIGTERM.
 * Resolves with the exit code.
 */
export async function serveMain(args: readonly string[], io: { stdout: Writable; env: NodeJS.ProcessEnv }): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' }, print: { type: 'boolean' }, quiet: { type: 'boolean' } };
  for (const s of SETTINGS) if (s.flag !== '') options[s.flag.split(' ')[0]!.slice(2)] = { type: 'string' };
  const { values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  if (values.help === true) {
    io.stdout.write(serveHelp());
    return 0;
  }
  const input = configInput(values, io.env);
  const config = parseServerConfig(input); // fails here, before anything starts, with one line per bad value
  const log = pino({ level: config.logLevel }, logDestination(io, config.logFormat));
  const server = await startReferenceServer(input, log);
  io.stdout.write(`tickflow serve: live dashboard on ${server.url}  (API: ${server.url}/api/docs, WebSocket: ${server.url.replace('http', 'ws')}/ws, metrics: ${server.url}/metrics)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.stdout.write('tickflow serve: shutting down\n');
  await server.close();
  return 0;
}
