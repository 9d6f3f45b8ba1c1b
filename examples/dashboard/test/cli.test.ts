import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Candle, Trade } from '@tickflow/core';
import { collect, pipeline } from '@tickflow/core';
import { MarketSimulator, syntheticTrades } from '@tickflow/core/synthetic';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregationOperators } from '../src/aggregation.js';
import { cli } from './runCli.js';
import { serveCommand } from '../src/serveCommand.js';

const dir = mkdtempSync(join(tmpdir(), 'tickflow-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CANDLE_FIELDS = ['symbol', 'timeframe', 'start', 'end', 'open', 'high', 'low', 'close', 'volume', 'trades', 'vwap', 'buyVolume', 'sellVolume', 'final', 'rev'];

describe('tickflow aggregate', () => {
  it('reads NDJSON from stdin and writes one candle per line with the documented fields, in order', async () => {
    const input = [
      '{"symbol":"AAPL","price":150.25,"volume":50000,"bid":150.24,"ask":150.26,"timestamp":"2024-01-19 10:30:45.123Z"}',
      '{"symbol":"AAPL","price":150.5,"volume":100,"side":"buy","timestamp":"2024-01-19 10:31:02Z"}',
    ].join('\n');
    const { code, out, err } = await cli(['aggregate', '--timeframe', '1m'], input);
    expect(code).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Candle);
    expect(lines).toHaveLength(2);
    expect(Object.keys(lines[0]!)).toEqual(CANDLE_FIELDS);
    expect(lines[0]).toEqual({
      symbol: 'AAPL', timeframe: '1m', start: Date.UTC(2024, 0, 19, 10, 30), end: Date.UTC(2024, 0, 19, 10, 31),
      open: 150.25, high: 150.25, low: 150.25, close: 150.25, volume: 50000, trades: 1, vwap: 150.25, buyVolume: 0, sellVolume: 0, final: true, rev: 3,
    });
    expect(err).toMatch(/tickflow aggregate: 2 trades, 2 candles, 0 late, 0 bad lines/);
  });

  it('reports bad lines on stderr with line number and reason, and goes on', async () => {
    const input = ['symbol,ts,price,size', 'A,1000,1,1', 'A,2000,oops,1', 'A,3000,2', 'A,4000,3,1'].join('\n');
    const { code, out, err } = await cli(['aggregate', '--kind', 'ticks'], input);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ symbol: 'A', trades: 2 });
    expect(err).toMatch(/^line 3: price: .*number/m);
    expect(err).toMatch(/^line 4: invalid CSV: expected 4 fields/m);
    expect(err).toMatch(/2 bad lines/);
  });

  it('reports late trades on stderr and counts them', async () => {
    const input = ['{"symbol":"A","ts":70000,"price":1,"size":1}', '{"symbol":"A","ts":1000,"price":2,"size":1}'].join('\n');
    const { out, err } = await cli(['aggregate'], input);
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/late trade \(window 1970-01-01T00:00:00.000Z closed/);
    expect(err).toMatch(/1 late/);
  });

  it('writes volume profiles and rolls timeframes up from a file', async () => {
    const file = join(dir, 't.csv');
    writeFileSync(file, 'symbol,ts,price,size,side\nX,0,10.02,5,buy\nX,61000,10.07,5,sell\nX,62000,10.08,10,sell\n');
    const { code, out } = await cli(['aggregate', '--input', file, '--kind', 'profile', '--profile-step', '0.05', '--timeframe', '1m,2m']);
    expect(code).toBe(0);
    const rows = out.trim().split('\n').map((l) => JSON.parse(l) as { timeframe: string; poc: number; volume: number; levels: unknown[] });
    expect(rows.map((r) => [r.timeframe, r.volume, r.poc])).toEqual([
      ['1m', 5, 10],
      ['1m', 15, 10.05],
      ['2m', 20, 10.05],
    ]);
  });

  it('answers usage errors with exit code 2 and a message', async () => {
    expect(await cli(['aggregate', '--timeframe', '5 minutes'])).toMatchObject({ code: 2, err: expect.stringMatching(/timeframe "5 minutes" is not a duration/) });
    expect(await cli(['aggregate', '--kind', 'bars'])).toMatchObject({ code: 2, err: expect.stringMatching(/--kind must be candles, profile or ticks/) });
    expect(await cli(['aggregate', '--bogus'])).toMatchObject({ code: 2, err: expect.stringMatching(/bogus/) });
    expect(await cli(['frobnicate'])).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command "frobnicate"/) });
    expect((await cli(['--help'])).out).toMatch(/tickflow aggregate/);
    expect((await cli(['aggregate', '--input', join(dir, 'missing.ndjson')])).code).toBe(1);
  });


  it('hands aggregate to its own parser: every flag and its own help work through main()', async () => {
    const help = await cli(['aggregate', '--help']);
    expect(help).toMatchObject({ code: 0, out: expect.stringMatching(/^Usage: tickflow aggregate/) });
    expect(help.out).toMatch(/--to URL/);
    const { code, out, err } = await cli(['aggregate', '--time-unit', 's', '--output', 'csv', '--max-reports', '0'], 'symbol,ts,price,size\nA,1705660245,1,1\nA,x,1,1\n');
    expect(code).toBe(0);
    expect(out.split('\n')[1]).toMatch(/^A,1m,1705660200000,/);
    expect(err).toMatch(/… 1 more bad lines not shown \(line 3\)/);
  });
  it('replay equals live: the CLI on a recorded feed gives exactly what the live code path computes', async () => {
    const market = { seed: 5, symbols: 8, rate: 50, outOfOrder: { probability: 0.2, maxDelay: 1_500 } } as const;
    const count = 20_000;
    const options = { ...market, count };
    // Record the feed to a file, as a collector would.
    const simulator = new MarketSimulator(market);
    const trades: Trade[] = Array.from({ length: count }, () => simulator.nextTrade());
    const file = join(dir, 'feed.ndjson');
    writeFileSync(file, trades.map((t) => JSON.stringify(t)).join('\n'));
    const { out } = await cli(['aggregate', '--input', file, '--timeframe', '1m,5m,15m', '--out-of-orderness', '2s', '--grace', '10s']);
    const replayed = out.trim().split('\n').map((l) => JSON.parse(l) as Candle);
    // Live: the feed as a source, the same operator builder the server uses.
    const ops = aggregationOperators({ timeframes: ['1m', '5m', '15m'], kind: 'candles', grace: '10s' });
    const live = collect<Candle>();
    await pipeline(syntheticTrades(options), { outOfOrderness: '2s' }).pipe(ops[0], ops[1]).to(live).run();
    expect(replayed.length).toBeGreaterThan(50);
    expect(replayed).toEqual(live.values);
  });
});

describe('tickflow serve (embedded)', () => {
  it('serves live candles from the synthetic feed over REST (guest token) and the dashboard page', async () => {
    const server = await serveCommand({ port: 0, host: '127.0.0.1', symbols: 5, rate: 2000, seed: 1, timeframes: ['1m', '5m'], print: false }, () => {});
    try {
      let symbols: Candle[] = [];
      for (let i = 0; i < 50 && symbols.length < 5; i++) {
        await new Promise((r) => setTimeout(r, 100));
        symbols = (await (await fetch(`${server.url}/api/symbols`)).json()) as Candle[];
      }
      expect(symbols.map((c) => c.symbol)).toEqual(['SYM0001', 'SYM0002', 'SYM0003', 'SYM0004', 'SYM0005']);
      expect(symbols[0]).toMatchObject({ timeframe: '1m', final: false });
      const { accessToken } = (await (await fetch(`${server.url}/api/auth/guest`, { method: 'POST' })).json()) as { accessToken: string };
      const auth = { headers: { authorization: `Bearer ${accessToken}` } };
      const { candles } = (await (await fetch(`${server.url}/api/aggregates/SYM0001/5m`, auth)).json()) as { candles: Candle[] };
      expect(candles[0]).toMatchObject({ symbol: 'SYM0001', timeframe: '5m' });
      const bad = await fetch(`${server.url}/api/aggregates/SYM0001/2h`, auth);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/timeframe/);
      expect((await fetch(`${server.url}/nope`)).status).toBe(404);
      const page = await fetch(server.url);
      expect(page.status, 'the dashboard page is built by `npm run build` (vite build → dist/web)').toBe(200);
      expect(await page.text()).toMatch(/<title>tickflow live<\/title>/);
    } finally {
      await server.close();
    }
  });
});
