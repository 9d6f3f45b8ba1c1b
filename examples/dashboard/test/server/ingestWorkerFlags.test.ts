import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { newIngestWorker } from '../../src/server/ingestThread.js';
import type { IngestWorkerConfig } from '../../src/server/ingestWire.js';

// A stand-in worker script that reports the flags and heap limit it got.
const dir = mkdtempSync(join(tmpdir(), 'tickflow-worker-flags-'));
const script = join(dir, 'probe.mjs');
writeFileSync(script, `import { parentPort } from 'node:worker_threads';\nimport v8 from 'node:v8';\nparentPort.postMessage({ execArgv: process.execArgv, heapLimitMb: v8.getHeapStatistics().heap_size_limit / 2 ** 20 });\n`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config: IngestWorkerConfig = { feed: { kind: 'synthetic', symbols: 1, rate: 1, seed: 1 } };

async function report(worker: Worker): Promise<{ execArgv: string[]; heapLimitMb: number }> {
  try {
    return await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

describe('the ingest worker under Node flags a worker refuses', () => {
  it('starts without the V8 flags (which made new Worker throw), keeps the others, and takes --max-old-space-size as its own heap limit', async () => {
    const argv = ['--max-old-space-size=256', '--stack-size=2000', '--enable-source-maps', '--expose-gc', '--conditions', '@tickflow/source', '--max-semi-space-size=32'];
    const r = await report(newIngestWorker(pathToFileURL(script), config, argv));
    expect(r.execArgv).toEqual(['--enable-source-maps']);
    // The old generation at 256 MB plus the young generation: well under the default limit of a machine this size.
    expect(r.heapLimitMb).toBeGreaterThanOrEqual(256);
    expect(r.heapLimitMb).toBeLessThan(400);
  });

  it('passes flags a worker takes through unchanged (profiling)', async () => {
    const prof = join(dir, 'prof');
    const r = await report(newIngestWorker(pathToFileURL(script), config, ['--cpu-prof', '--cpu-prof-dir', prof]));
    expect(r.execArgv).toEqual(['--cpu-prof', '--cpu-prof-dir', prof]);
  });
});
