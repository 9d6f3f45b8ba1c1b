import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { logDestination } from '../../src/server/serveCli.js';
import { until } from '../waitUntil.js';

function capture(tty: boolean): { stream: PassThrough & { isTTY?: boolean }; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (tty) stream.isTTY = true;
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString()));
  return { stream, text: () => out };
}

describe('server logs', () => {
  it('are readable lines on a terminal and JSON lines otherwise (or as chosen)', async () => {
    const term = capture(true);
    pino({ level: 'info' }, logDestination({ stdout: term.stream, env: { NO_COLOR: '1' } }, 'auto')).info({ port: 3000 }, 'hello');
    const pipe = capture(false);
    pino({ level: 'info' }, logDestination({ stdout: pipe.stream, env: {} }, 'auto')).info({ port: 3000 }, 'hello');
    const forced = capture(true);
    pino({ level: 'info' }, logDestination({ stdout: forced.stream, env: {} }, 'json')).info('hello');
    await until(async () => ([term, pipe, forced].every((c) => c.text().includes('\n')) ? true : undefined), 'the three lines written', 5_000);
    expect(term.text()).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: hello\n\s+port: 3000/);
    expect(JSON.parse(pipe.text())).toMatchObject({ level: 30, msg: 'hello', port: 3000 });
    expect(JSON.parse(forced.text())).toMatchObject({ msg: 'hello' });
  });

  it('log each request once at debug, nothing per request at info', async () => {
    for (const level of ['info', 'debug'] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'tickflow-logs-'));
      const out = capture(false);
      const server = await startReferenceServer({ port: 0, host: '127.0.0.1', dataDir: dir, jwtSecret: 'logs-secret-logs-secret-logs-secret!!', symbols: 2, rate: 50 }, pino({ level }, out.stream));
      try {
        for (let i = 0; i < 3; i++) await (await fetch(`${server.url}/healthz`)).text();
      } finally {
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      }
      const lines = out.text().trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; url?: string });
      const requests = lines.filter((l) => l.url === '/healthz');
      expect(lines.filter((l) => /incoming request|request completed/.test(l.msg))).toEqual([]);
      if (level === 'info') expect(requests).toEqual([]);
      else {
        expect(requests).toHaveLength(3);
        expect(requests.every((r) => r.level === 20 && r.msg === 'request')).toBe(true);
      }
    }
  });
});
