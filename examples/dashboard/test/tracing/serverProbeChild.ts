// Starts the reference server (embedded mode) in its own process, answers one
// request and one WebSocket-free read, then prints which modules the process
// loaded (bundled by childScripts.ts, run with loadRecorder's --import).
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReferenceServer } from '../../src/server/referenceServer.js';

const server = await startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', history: '0', rate: 500, dataDir: mkdtempSync(join(tmpdir(), 'tickflow-probe-')), jwtSecret: 'probe-secret-probe-secret-probe-secret!', ingestThread: 'main', otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined });
const symbols = await fetch(`${server.url}/api/symbols`);
await symbols.arrayBuffer();
await new Promise((r) => setTimeout(r, 300)); // trades through the window jobs
const esm = (globalThis as { __tickflowLoaded?: () => string[] }).__tickflowLoaded?.() ?? [];
const cjs = Object.keys(createRequire(import.meta.url).cache);
const tracer = (globalThis as Record<symbol, { tracer?: unknown } | undefined>)[Symbol.for('tickflow.tracer')]?.tracer;
await server.close();
// Exits once the line is written: a client library may leave a handle open.
process.stdout.write(`${JSON.stringify({ status: symbols.status, modules: [...esm, ...cjs], tracerInstalled: tracer !== undefined })}\n`, () => process.exit(0));
