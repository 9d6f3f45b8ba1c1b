// The browser SDK's size budget: the client entry as a page bundles it (esbuild, minified), gzipped.
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ENTRY = fileURLToPath(new URL('../src/client/index.ts', import.meta.url));
const BUDGET = 30 * 1024;

describe('client SDK bundle', () => {
  it(`is under ${BUDGET / 1024} KB gzip, without zod, Node built-ins or server code`, async () => {
    const result = await build({
      entryPoints: [ENTRY],
      bundle: true,
      minify: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      // Workspace packages from source, as the dashboard page's build resolves them.
      conditions: ['@tickflow/source'],
      metafile: true,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]!.contents;
    const gzipped = gzipSync(code, { level: 9 }).length;
    // What ends up in the bundle (the metafile also lists modules parsed and then dropped by tree shaking).
    const output = Object.values(result.metafile.outputs)[0]!;
    const inputs = Object.entries(output.inputs)
      .filter(([, v]) => v.bytesInOutput > 0)
      .map(([f]) => f);
    expect(inputs.some((f) => f.includes('msgpackr'))).toBe(true); // the bundle is the real client
    expect(inputs.filter((f) => /node_modules\/(zod|ws|jose|ioredis)\//.test(f))).toEqual([]);
    expect(inputs.filter((f) => /ws-server\/src\/(wsServer|wsServerOptions|jwtAuth|redisBridge|internal\/)/.test(f))).toEqual([]);
    expect(inputs.filter((f) => f.startsWith('node:'))).toEqual([]);
    expect(gzipped, `client bundle: ${code.length} bytes minified, ${gzipped} gzip`).toBeLessThan(BUDGET);
  });
});
