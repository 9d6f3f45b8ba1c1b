import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Candle } from '@tickflow/core';
import { pipeline, syntheticTrades } from '@tickflow/core';
import { aggregationOperators } from './aggregation.js';
import { LiveCandleStore } from './liveCandleStore.js';
import { livePage } from './livePage.js';

/** Options of `tickflow serve`. */
export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly symbols: number;
  readonly rate: number;
  readonly seed: number;
  readonly timeframes: string[];
  /** Print each final candle of the smallest timeframe to stdout. */
  readonly print: boolean;
}

/** A running server: its address and a way to stop it. */
export interface RunningServer {
  readonly url: string;
  readonly store: LiveCandleStore;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * `tickflow serve`, embedded mode: the synthetic market feed on the wall clock
 * through the same operators as `tickflow aggregate` (live 1m/5m candles,
 * updated every 250 ms, final when the minute ends) into a bounded in-memory
 * store, served as JSON, a server-sent-event stream and a live page.
 */
export async function serveCommand(o: ServeOptions, log: (line: string) => void = console.log): Promise<RunningServer> {
  const store = new LiveCandleStore();
  const clients = new Set<ServerResponse>();
  const ops = aggregationOperators({ timeframes: o.timeframes as never, kind: 'candles', grace: '5s', emit: { mode: 'update', throttle: '250ms' } });
  const smallest = o.timeframes[0]!;
  const ac = new AbortController();
  const job = pipeline(syntheticTrades({ symbols: o.symbols, rate: o.rate, seed: o.seed, clock: 'wall' }), {
    name: 'serve',
    outOfOrderness: '1s',
    wallClockLag: '2s',
    idleTimeout: '5s',
  })
    .pipe(ops[0], ops[1])
    .to({
      write(batch: readonly Candle[]) {
        let frame = '';
        for (const c of batch) {
          if (!store.upsert(c)) continue;
          frame += `event: candle\ndata: ${JSON.stringify(c)}\n\n`;
          if (o.print && c.final && c.timeframe === smallest) {
            log(`${new Date(c.start).toISOString().slice(11, 16)} ${c.symbol.padEnd(8)} ${c.timeframe} O ${c.open} H ${c.high} L ${c.low} C ${c.close} V ${c.volume} (${c.trades} trades)${c.rev > 1 ? ` rev ${c.rev}` : ''}`);
          }
        }
        if (frame !== '') for (const res of clients) res.write(frame);
      },
    });
  const running = job.run({ signal: ac.signal });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET') return json(res, 405, { error: `method ${req.method} not allowed` });
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(livePage(o.timeframes));
    }
    if (url.pathname === '/healthz') return json(res, 200, { status: 'ok', ...job.stats });
    if (url.pathname === '/api/symbols') return json(res, 200, store.latest(smallest));
    const m = /^\/api\/candles\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const timeframe = url.searchParams.get('timeframe') ?? smallest;
      if (!o.timeframes.includes(timeframe)) return json(res, 400, { error: `timeframe must be one of ${o.timeframes.join(', ')}, got "${timeframe}"` });
      return json(res, 200, store.candles(decodeURIComponent(m[1]!), timeframe));
    }
    if (url.pathname === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': connected\n\n');
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return undefined;
    }
    return json(res, 404, { error: `no route for ${url.pathname}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : o.port;
  const url = `http://${o.host === '0.0.0.0' ? 'localhost' : o.host}:${port}`;
  log(`tickflow serve: synthetic feed (${o.symbols} symbols, ${o.rate} trades/s, seed ${o.seed}) → ${o.timeframes.join('/')} candles`);
  log(`live dashboard on ${url}  (JSON: ${url}/api/symbols, ${url}/api/candles/SYM0001?timeframe=${smallest}; stream: ${url}/events)`);
  running.catch((e: unknown) => log(`pipeline stopped: ${e instanceof Error ? e.message : String(e)}`));
  return {
    url,
    store,
    async close() {
      ac.abort();
      for (const res of clients) res.end();
      clients.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await running.catch(() => undefined);
    },
  };
}
