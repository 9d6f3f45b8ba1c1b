// Summary of a V8 CPU profile (`node --cpu-prof`), shared by the kafka and
// e2e benchmarks (kafka/run.mjs, e2e/run.mjs): self time by function and by
// area (a package, node internals, GC), as milliseconds and % of busy time.

import { readFileSync } from 'node:fs';

/** Sums self time by function (name + file:line) and by area (package) from a .cpuprofile. */
export function summariseProfile(file, top = 25) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
  const fn = new Map();
  const area = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    total += us;
    const url = cf.url.replace(/^file:\/\//, '');
    const short = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(packages|benchmarks)\//, '$1/');
    const key = `${cf.functionName || '(anonymous)'}  ${short ? `${short}:${cf.lineNumber + 1}` : ''}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + us);
    let a;
    if (cf.functionName === '(garbage collector)') a = 'GC';
    else if (cf.functionName === '(idle)' || cf.functionName === '(program)') a = cf.functionName;
    else if (url === '') a = 'native / V8 builtins';
    else if (url.startsWith('node:')) a = 'node: internals';
    else if (url.includes('/node_modules/')) a = url.replace(/^.*\/node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1');
    else if (url.includes('/packages/')) a = `@tickflow/${url.replace(/^.*\/packages\/([^/]+).*$/, '$1')}`;
    else a = 'other';
    area.set(a, (area.get(a) ?? 0) + us);
  }
  // Percentages are of the busy time: the group join and the endWhenIdle wait are (idle).
  const idle = area.get('(idle)') ?? 0;
  const busy = total - idle;
  fn.delete('(idle)');
  area.delete('(idle)');
  const sorted = (m) => [...m].sort((x, y) => y[1] - x[1]).map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: Math.round((us / busy) * 1000) / 10 }));
  return { totalMs: Math.round(total / 1000), idleMs: Math.round(idle / 1000), busyMs: Math.round(busy / 1000), functions: sorted(fn).slice(0, top), areas: sorted(area) };
}
