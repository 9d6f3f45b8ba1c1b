// Issue 13 item 3: the audit journal is bounded per entry, samples floods of denied requests,
// writes in group commits off the event loop, rotates in segments and is streamed at start.
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/server/auditLog.js';
import { PaperBroker } from '../../src/server/paperBroker.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown> & { type: string });

describe('audit journal safety', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-audit-safety-'));
    file = join(dir, 'audit.ndjson');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a 403 with a 15 KB URL journals a bounded entry: the path without its query, at most 200 characters', async () => {
    const s = await startReferenceServer({ port: 0, host: '127.0.0.1', symbols: 1, rate: 50, logLevel: 'silent', jwtSecret: 'safety-secret-safety-secret-safety-secret', dataDir: dir });
    const guest = (await (await fetch(`${s.url}/api/auth/guest`, { method: 'POST' })).json()) as { accessToken: string };
    const r = await fetch(`${s.url}/api/orders?junk=${'x'.repeat(15_000)}`, { headers: { authorization: `Bearer ${guest.accessToken}` } });
    expect(r.status).toBe(403);
    await s.close();
    const raw = readFileSync(file, 'utf8').trim().split('\n');
    const forbidden = raw.find((l) => l.includes('"forbidden"'))!;
    expect(forbidden.length).toBeLessThan(600); // today: > 15 000
    expect(JSON.parse(forbidden)).toMatchObject({ type: 'forbidden', url: '/api/orders', route: '/api/orders', needed: 'trader' });
  });

  it('bounds every string of an entry (a 100 KB user name is cut to 256 characters, its length noted)', async () => {
    const log = await AuditLog.open(file);
    const e = log.append({ ts: 1, type: 'login', user: 'u'.repeat(100_000), nested: { deep: { deeper: { deepest: { x: 1 } } } } })!;
    await log.close();
    expect(String(e.user)).toMatch(/^u{256}…\(100000 chars\)$/);
    expect(readFileSync(file, 'utf8').length).toBeLessThan(1_000);
  });

  it('samples floods of denied requests: 5 per key per minute and 50/s in all are written, the rest counted in one suppressed entry; orders are never sampled', async () => {
    const log = await AuditLog.open(file);
    for (let i = 0; i < 1_000; i++) log.append({ ts: i, type: 'forbidden', user: 'guest-00000001', method: 'GET', url: '/api/orders' });
    for (let i = 0; i < 1_000; i++) log.append({ ts: i, type: 'login_failed', user: 'admin', ip: `10.0.${i >> 8}.${i & 255}` }); // many addresses: the global cap
    for (let i = 0; i < 300; i++) log.append({ ts: i, type: 'order', user: 'ann', order: { id: `o${i}` } });
    expect(log.stats().suppressed).toBeGreaterThan(1_800);
    await log.close();
    const all = lines(file);
    expect(all.filter((e) => e.type === 'forbidden')).toHaveLength(5);
    const failed = all.filter((e) => e.type === 'login_failed').length;
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThanOrEqual(100); // the burst of the 50/s cap
    expect(all.filter((e) => e.type === 'order')).toHaveLength(300);
    const summary = all.find((e) => e.type === 'suppressed') as unknown as { counts: Record<string, { total: number; top: Record<string, number> }> };
    expect(summary.counts.forbidden!.total).toBe(995);
    expect(summary.counts.forbidden!.top['forbidden:guest-00000001']).toBe(995);
    expect(summary.counts.login_failed!.total).toBe(1_000 - failed);
  });

  it('writes in group commits off the event loop: 2 000 appends in one turn are one or a few writes + fdatasyncs, durable once flush() resolves', async () => {
    const log = await AuditLog.open(file);
    for (let i = 0; i < 2_000; i++) log.append({ ts: i, type: 'fill', user: 'ann', orderId: `o${i}`, price: 1 });
    // append returned without touching the disk:
    expect(log.stats().journalPending).toBe(2_000);
    expect(readFileSync(file, 'utf8')).toBe('');
    await log.flush();
    expect(log.stats().journalPending).toBe(0);
    expect(log.stats().journalCommits).toBeLessThanOrEqual(2);
    expect(lines(file)).toHaveLength(2_000);
    await log.close();
  });

  it('rotates into numbered segments and reads them back in order at start', async () => {
    const log = await AuditLog.open(file, { segmentBytes: 8 * 1024 });
    const written = [];
    for (let i = 0; i < 300; i++) {
      written.push(log.append({ ts: i, type: 'fill', user: 'ann', orderId: `o${i}`, price: i })!);
      if (i % 20 === 0) await log.flush();
    }
    await log.close();
    const segments = readdirSync(dir).filter((n) => /^audit\.ndjson\.\d{6}$/.test(n)).sort();
    expect(segments.length).toBeGreaterThanOrEqual(3);
    expect(segments[0]).toBe('audit.ndjson.000001');
    const again = await AuditLog.open(file, { segmentBytes: 8 * 1024 });
    expect(again.loaded.map((e) => e.id)).toEqual(written.map((e) => e.id));
    expect(again.recent(5).map((e) => e.id)).toEqual(written.slice(-5).map((e) => e.id));
    // New segments continue the numbering.
    for (let i = 0; i < 100; i++) again.append({ ts: i, type: 'fill', user: 'bob', orderId: `p${i}`, price: i });
    await again.close();
    const more = readdirSync(dir).filter((n) => /^audit\.ndjson\.\d{6}$/.test(n));
    expect(more.length).toBeGreaterThan(segments.length);
  });

  const BIG_MB = Number(process.env.TICKFLOW_BIG_JOURNAL_MB ?? 600);
  it(`streams a ${BIG_MB} MB journal at start in bounded memory and restores the trading state (today: > 512 MB does not start)`, async () => {
    // Mostly 403 lines, as a flood writes them, with an order and its fill at the start and the end.
    const order = (id: string, ts: number) => JSON.stringify({ ts, type: 'order', user: 'ann', order: { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 1, id, user: 'ann', createdAt: ts, status: 'open' }, id: `${ts.toString(36).padStart(9, '0')}0000-aaaa` });
    const fill = (id: string, ts: number) => JSON.stringify({ ts, type: 'fill', user: 'ann', orderId: id, symbol: 'AAPL', side: 'buy', quantity: 1, price: 100, id: `${ts.toString(36).padStart(9, '0')}0001-aaaa` });
    let block = '';
    for (let i = 0; block.length < 8 * 1024 * 1024; i++) {
      block += `${JSON.stringify({ ts: 2e12, type: 'forbidden', user: 'guest-0badf00d', role: 'viewer', needed: 'trader', method: 'GET', route: '/api/orders', url: '/api/orders', id: `${(2e12).toString(36).padStart(9, '0')}${(i % 1_000_000).toString(36).padStart(4, '0')}-bbbb` })}\n`;
    }
    const buf = Buffer.from(block);
    const fd = openSync(file, 'w');
    writeSync(fd, `${order('o1', 1e12)}\n${fill('o1', 1e12)}\n`);
    const blocks = Math.ceil((BIG_MB * 1024 * 1024) / buf.length);
    for (let i = 0; i < blocks; i++) writeSync(fd, buf);
    writeSync(fd, `${order('o2', 3e12)}\n${fill('o2', 3e12)}\n`);
    closeSync(fd);

    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const t0 = performance.now();
    const log = await AuditLog.open(file);
    const ms = performance.now() - t0;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    console.log(`audit journal of ${(blocks * buf.length) / 2 ** 20} MB: opened in ${ms.toFixed(0)} ms, RSS +${((peak - before) / 2 ** 20).toFixed(0)} MB (peak)`);
    expect(log.loaded.map((e) => e.type)).toEqual(['order', 'fill', 'order', 'fill']);
    expect(log.recent(2).map((e) => e.type)).toEqual(['order', 'fill']);
    expect(peak - before).toBeLessThan(256 * 2 ** 20);
    const broker = new PaperBroker(log, 1_000, () => 100);
    expect(broker.portfolio('ann')).toMatchObject({ cash: 800, positions: [{ symbol: 'AAPL', quantity: 2 }] });
    // New ids continue above the greatest one read.
    expect(log.append({ ts: 0, type: 'login', user: 'x' })!.id > `${(3e12).toString(36).padStart(9, '0')}0001-aaaa`).toBe(true);
    await log.close();
  }, 240_000);
});
