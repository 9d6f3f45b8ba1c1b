import type { Options } from 'tsup';

/** Shared tsup settings: ESM + CJS + .d.ts for Node 20, one entry per public subpath. */
export function tsupOptions(entry: Record<string, string>, overrides: Options = {}): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'neutral',
    treeshake: true,
    splitting: true,
    ...overrides,
  };
}
