// CPU and memory of processes from Linux /proc: utime+stime of a process
// (and of every descendant of this benchmark), the machine's busy time, RSS.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc times (getconf CLK_TCK; 100 almost everywhere). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * Parses one /proc/<pid>/stat line: `{ pid, comm, ppid, ticks }` (ticks =
 * utime + stime), or undefined when the text is not a stat line.
 * @param {string} text
 */
export function parseProcStat(text) {
  // comm is in parentheses and may contain spaces or parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf('(')).trim());
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { pid, comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
}

/** /proc/<pid>/stat of one process, or undefined when it is gone. */
export function procStat(pid) {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** VmRSS and VmHWM (peak RSS) of a process in MB, or undefined when it is gone. */
export function procMemory(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Every process's stat (pid → stat). */
export function allProcs() {
  const out = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (s !== undefined) out.set(s.pid, s);
  }
  return out;
}

/** The machine's busy and total ticks over every core (/proc/stat `cpu` line). */
export function machineTicks() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest times are inside user/nice)
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * A CPU sample: the machine's ticks and every process's, to attribute CPU
 * between two samples to named processes, to the rest of this benchmark's
 * process tree, and to everything else on the machine.
 */
export function cpuSample() {
  return { at: Date.now(), machine: machineTicks(), procs: allProcs() };
}

/** Pids of `root` and all its descendants in a sample. */
export function descendants(sample, root) {
  const children = new Map();
  for (const s of sample.procs.values()) {
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid).push(s.pid);
  }
  const out = new Set([root]);
  const stack = [root];
  while (stack.length > 0) for (const c of children.get(stack.pop()) ?? []) if (!out.has(c)) (out.add(c), stack.push(c));
  return out;
}

/**
 * CPU between two samples in cores (1 = one core busy all the time):
 * `named` (name → pid or pid list, each with its descendants counted to it),
 * `benchmark` (`root` itself: coordination and autocannon), `services` (the
 * rest of root's process tree: the test services' servers, the Kafka mock
 * broker), `elsewhere` (the machine's busy time outside
 * this process tree: other work on the machine), `machine`, `cores`.
 * @param {ReturnType<typeof cpuSample>} a
 * @param {ReturnType<typeof cpuSample>} b
 * @param {Record<string, number | number[]>} named
 */
export function cpuBetween(a, b, named, root = process.pid) {
  const seconds = (b.at - a.at) / 1000;
  const ticksOf = (pids) => {
    let t = 0;
    for (const pid of pids) {
      const s1 = b.procs.get(pid);
      if (s1 === undefined) continue;
      const s0 = a.procs.get(pid);
      t += s1.ticks - (s0?.ticks ?? 0);
    }
    return t;
  };
  const cores = (ticks) => ticks / CLK_TCK / seconds;
  const tree = descendants(b, root);
  const out = {};
  const claimed = new Set();
  for (const [name, pids] of Object.entries(named)) {
    const own = new Set();
    for (const p of [pids].flat()) for (const d of descendants(b, p)) own.add(d);
    for (const p of own) claimed.add(p);
    out[name] = cores(ticksOf(own));
  }
  out.benchmark = cores(ticksOf([root]));
  out.services = cores(ticksOf([...tree].filter((p) => p !== root && !claimed.has(p))));
  const machineBusy = b.machine.busy - a.machine.busy;
  const machineTotal = b.machine.total - a.machine.total;
  const nCores = machineTotal / CLK_TCK / seconds;
  out.machine = cores(machineBusy);
  out.elsewhere = Math.max(0, out.machine - cores(ticksOf(tree)));
  out.cores = Math.round(nCores);
  return out;
}
