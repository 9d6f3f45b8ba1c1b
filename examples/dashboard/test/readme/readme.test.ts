// The README's shell and code blocks, extracted and run (or compiled, strict)
// as a newcomer would after the quick start: every `npx tickflow …` from a
// folder inside the clone, every TypeScript block compiled with a strict,
// ESM (nodenext) tsconfig against the built packages. Needs the build
// (`npm run build`; `npm test` builds first).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Dictionary, Float64, Int32, Table, TimestampMicrosecond, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../../../../', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');

interface Block { lang: string; body: string; section: string }

/** Fenced blocks with their language and the nearest heading above them. */
function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  let section = '';
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heading = /^#+\s+(.*)$/.exec(line);
    if (heading) section = heading[1]!;
    const fence = /^```(\w*)\s*$/.exec(line);
    if (!fence) continue;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    out.push({ lang: fence[1]!, body: body.join('\n'), section });
  }
  return out;
}

/** Shell commands of a block: continuations joined, comments dropped. */
function commands(body: string): string[] {
  return body
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.replace(/(^|\s)#\s.*$/, '').trim())
    .filter((l) => l !== '');
}

const all = blocks(readme);
const shell = all.filter((b) => b.lang === 'sh' || b.lang === 'bash').flatMap((b) => commands(b.body).map((cmd) => ({ cmd, section: b.section })));
const code = all.filter((b) => b.lang === 'ts' || b.lang === 'typescript');

// A folder inside the clone (npx finds the repository's `tickflow` bin from there), ignored by git.
const work = join(root, '.cache', 'readme-test');
let dir = '';

const trades = Array.from({ length: 400 }, (_, i) => ({
  symbol: i % 2 ? 'AAPL' : 'MSFT',
  ts: Date.UTC(2024, 0, 19, 10, 0, 0) + i * 1500,
  price: 100 + Math.round(Math.sin(i / 7) * 200) / 100,
  size: 1 + (i % 5),
}));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ host, port, timeout: 1000 });
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
    c.once('timeout', () => (c.destroy(), resolve(false)));
  });
}

function sh(cmd: string, cwd: string, timeout = 60_000): { code: number; out: string; err: string } {
  const r = spawnSync('bash', ['-c', cmd], { cwd, encoding: 'utf8', timeout, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  const built = ['examples/dashboard/dist/cli.js', 'packages/core/dist/index.d.ts', 'packages/windowing/dist/index.d.ts', 'packages/sinks/dist/clickhouse.d.ts'];
  const missing = built.filter((f) => !existsSync(join(root, f)));
  if (missing.length > 0) throw new Error(`README test needs the build (npm run build): missing ${missing.join(', ')}`);
  mkdirSync(work, { recursive: true });
  dir = mkdtempSync(join(work, 'run-'));
  writeFileSync(join(dir, 'trades.ndjson'), trades.map((t) => JSON.stringify(t)).join('\n') + '\n');
  const csv = 'symbol,ts,price,size\n' + trades.map((t) => `${t.symbol},${t.ts},${t.price},${t.size}`).join('\n') + '\n';
  writeFileSync(join(dir, 'trades.csv'), csv);
  // The other input formats the CLI section names: gzip, zstd (microsecond times), Parquet, Arrow IPC.
  writeFileSync(join(dir, 'trades.csv.gz'), gzipSync(csv));
  writeFileSync(join(dir, 'trades-us.ndjson'), trades.map((t) => JSON.stringify({ ...t, ts: t.ts * 1000 })).join('\n') + '\n');
  const zstd = spawnSync('zstd', ['-q', '-f', 'trades-us.ndjson', '-o', 'trades.ndjson.zst'], { cwd: dir });
  if (zstd.status !== 0) throw new Error(`README test needs the zstd program for trades.ndjson.zst (${zstd.error?.message ?? zstd.stderr.toString()})`);
  parquetWriteFile({
    filename: join(dir, 'trades.parquet'),
    columnData: [
      { name: 'ts', data: trades.map((t) => new Date(t.ts)), type: 'TIMESTAMP' },
      { name: 'symbol', data: trades.map((t) => t.symbol), type: 'STRING' },
      { name: 'price', data: Float64Array.from(trades.map((t) => t.price)), type: 'DOUBLE' },
      { name: 'size', data: Float64Array.from(trades.map((t) => t.size)), type: 'DOUBLE' },
    ],
  });
  const table = new Table({
    symbol: vectorFromArray(trades.map((t) => t.symbol), new Dictionary(new Utf8(), new Int32())),
    ts: vectorFromArray(trades.map((t) => t.ts), new TimestampMicrosecond()),
    price: vectorFromArray(trades.map((t) => t.price), new Float64()),
    size: vectorFromArray(trades.map((t) => t.size), new Float64()),
  });
  writeFileSync(join(dir, 'trades.arrow'), tableToIPC(table, 'file'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('README shell blocks', () => {
  it('has the blocks this test knows how to check', () => {
    expect(shell.length).toBeGreaterThan(3);
    expect(code.length).toBeGreaterThanOrEqual(2);
  });

  it.for(shell)('$cmd', { timeout: 90_000 }, async ({ cmd }, { skip }) => {
    // The quick start itself: the scripts exist (running them is what the reader did first).
    if (/^npm (install|ci|start|test)\b/.test(cmd)) {
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin?: Record<string, string> };
      for (const m of cmd.matchAll(/npm (start|test)\b/g)) expect(pkg.scripts[m[1]!]).toBeTruthy();
      expect(pkg.bin?.tickflow).toBeTruthy();
      return;
    }
    // A contributor's script (`npm run api:update`): it exists, and what it runs is on disk.
    if (/^npm run [\w:-]+/.test(cmd)) {
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
      const script = pkg.scripts[/^npm run ([\w:-]+)/.exec(cmd)![1]!];
      expect(script, cmd).toBeTruthy();
      for (const m of script!.matchAll(/node (\S+\.m?js)/g)) expect(existsSync(join(root, m[1]!)), m[1]).toBe(true);
      return;
    }
    // Full mode: its services are not here; every variable it sets must be a setting `serve --help` lists.
    if (/^[A-Z_]+=/.test(cmd)) {
      const help = sh('npx tickflow serve --help', dir);
      expect(help.code, help.err).toBe(0);
      for (const m of cmd.matchAll(/(?:^|\s)([A-Z][A-Z0-9_]*)=/g)) expect(help.out).toContain(m[1]!);
      for (const m of cmd.matchAll(/\s(--[a-z-]+)/g)) expect(help.out).toContain(m[1]!);
      return;
    }
    expect(cmd).toMatch(/^npx tickflow /);
    if (/ serve\b/.test(cmd)) {
      // Verbatim unless its port is taken on this machine (then the same command on a free port).
      const wanted = Number(/--port (\d+)/.exec(cmd)?.[1] ?? 3000);
      const port = (await portFree(wanted)) ? wanted : await freePort();
      const run = cmd.replace(/--port \d+/, `--port ${port}`);
      // Its own process group: npx runs the server as a grandchild (npx → sh → node), and signals must reach all of them.
      const child = spawn('bash', ['-c', `exec ${run}`], { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const signalGroup = (signal: NodeJS.Signals): void => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // already gone
        }
      };
      let log = '';
      child.stdout.on('data', (d: Buffer) => (log += d.toString()));
      child.stderr.on('data', (d: Buffer) => (log += d.toString()));
      try {
        const deadline = Date.now() + 45_000;
        let ok = false;
        while (!ok && Date.now() < deadline && child.exitCode === null) {
          ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
          if (!ok) await new Promise((r) => setTimeout(r, 300));
        }
        expect(ok, log).toBe(true);
        const symbols = await fetch(`http://127.0.0.1:${port}/api/symbols`).then((r) => r.json() as Promise<unknown>);
        expect(Array.isArray(symbols) || typeof symbols === 'object').toBe(true);
      } finally {
        const exited = new Promise((r) => child.once('exit', r));
        signalGroup('SIGINT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        // Whatever of the group is left (the server under npx) goes too.
        signalGroup('SIGKILL');
      }
      return;
    }
    // Writing to a store: run where that store answers at the address the README names.
    const store = /--to (\w+):\/\/(?:[^@/]*@)?([^:/]+):(\d+)/.exec(cmd);
    if (store !== null && !(await reachable(store[2]!, Number(store[3])))) return skip(`no ${store[1]} at ${store[2]}:${store[3]} here`);
    const r = sh(cmd, dir);
    expect(r.code, r.err).toBe(0);
    if (store !== null) return;
    const file = /--out (\S+)/.exec(cmd)?.[1];
    if (file !== undefined) {
      expect(statSync(join(dir, file)).size, r.err).toBeGreaterThan(0);
      return;
    }
    const target = /> *(\S+)\s*$/.exec(cmd)?.[1];
    const out = target === undefined ? r.out : readFileSync(join(dir, target), 'utf8');
    const lines = out.trim().split('\n').filter(Boolean);
    expect(lines.length, r.err).toBeGreaterThan(1);
    for (const l of lines) expect(() => JSON.parse(l) as unknown).not.toThrow();
  });
});

describe('README TypeScript blocks', () => {
  it('compile under strict (noUnused*, ESM nodenext) and the ten-line example runs', () => {
    const ts = join(dir, 'ts');
    mkdirSync(ts, { recursive: true });
    writeFileSync(join(ts, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(
      join(ts, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true,
          noUnusedLocals: true, noUnusedParameters: true, noImplicitReturns: true, noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true, skipLibCheck: true, types: ['node'], outDir: 'out', rootDir: '.',
        },
        include: ['*.ts'],
      }),
    );
    code.forEach((b, i) => writeFileSync(join(ts, `block${i}.ts`), b.body + '\n'));
    const tsc = sh(`node ${join(root, 'node_modules/typescript/bin/tsc')} -p tsconfig.json`, ts, 120_000);
    expect(tsc.out + tsc.err).toBe('');
    expect(tsc.code).toBe(0);
    // The ten-line example reads trades.ndjson from the working folder and prints candles.
    const ten = code.findIndex((b) => b.body.includes("fromFile('trades.ndjson')"));
    expect(ten).toBeGreaterThanOrEqual(0);
    const run = sh(`node ${join(ts, 'out', `block${ten}.js`)}`, dir);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/^(AAPL|MSFT) 1m \d/m);
    expect(run.out).toMatch(/^(AAPL|MSFT) 5m \d/m);
  }, 150_000);
});
