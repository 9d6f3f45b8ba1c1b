// Helpers of the deploy checks: reading the kit's YAML, env and JSON files, rendering the
// kustomizations, and finding the metric names a PromQL expression uses.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The deploy kit folder. */
export const DEPLOY = join(ROOT, 'deploy');

/** A Kubernetes object as parsed from YAML (shape checked by the tests, not by this type). */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** Every document of a YAML file (a parse error or warning fails with the file named). */
export function readYamlDocuments(path: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'), { prettyErrors: true });
  const out: unknown[] = [];
  for (const d of docs) {
    const problems = [...d.errors, ...d.warnings];
    if (problems.length > 0) throw new Error(`${path}: ${problems.map((e) => e.message).join('; ')}`);
    const value: unknown = d.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** The single document of a YAML file. */
export function readYaml<T = unknown>(path: string): T {
  const docs = readYamlDocuments(path);
  if (docs.length !== 1) throw new Error(`${path}: expected one YAML document, found ${docs.length}`);
  return docs[0] as T;
}

/** KEY=VALUE lines of a kustomize env file (comments and blank lines skipped), in file order. */
export function readEnvFile(path: string): Map<string, string> {
  const out = new Map<string, string>();
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const t = line.trim();
      if (t === '' || t.startsWith('#')) return;
      const eq = t.indexOf('=');
      if (eq <= 0) throw new Error(`${path}:${i + 1}: not KEY=VALUE: ${t}`);
      const key = t.slice(0, eq);
      if (out.has(key)) throw new Error(`${path}:${i + 1}: ${key} set twice`);
      out.set(key, t.slice(eq + 1));
    });
  return out;
}

interface Kustomization {
  resources?: string[];
  configMapGenerator?: { name: string; behavior?: string; envs?: string[] }[];
  patches?: { path?: string; target?: unknown }[];
  images?: { name: string; newName?: string; newTag?: string }[];
  namespace?: string;
}

/** A kustomization file of the kit. */
export function readKustomization(dir: string): Kustomization {
  return readYaml<Kustomization>(join(dir, 'kustomization.yaml'));
}

/** The resource files a kustomization lists (folders are other kustomizations, followed). */
export function kustomizationFiles(dir: string): string[] {
  const k = readKustomization(dir);
  return (k.resources ?? []).flatMap((r) => {
    const p = join(dir, r);
    return existsSync(join(p, 'kustomization.yaml')) ? kustomizationFiles(p) : [p];
  });
}

/** The settings a kustomization's configMapGenerator produces (base first, overlays merged over it). */
export function generatedConfig(dir: string, name = 'tickflow-config'): Map<string, string> {
  const k = readKustomization(dir);
  let out = new Map<string, string>();
  for (const r of k.resources ?? []) if (existsSync(join(dir, r, 'kustomization.yaml'))) out = new Map([...out, ...generatedConfig(join(dir, r), name)]);
  for (const g of k.configMapGenerator ?? []) {
    if (g.name !== name) continue;
    for (const env of g.envs ?? []) out = new Map([...out, ...readEnvFile(join(dir, env))]);
  }
  return out;
}

/** `kubectl` when this machine has it (it renders kustomizations offline); undefined otherwise. */
export function kubectlPath(): string | undefined {
  const r = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 ? 'kubectl' : undefined;
}

/** `kubectl kustomize DIR`: the objects `kubectl apply -k DIR` would send. */
export function kustomizeBuild(kubectl: string, dir: string): KubeObject[] {
  const r = spawnSync(kubectl, ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed (exit ${r.status}): ${r.stderr}`);
  const docs = parseAllDocuments(r.stdout);
  return docs.map((d) => d.toJS() as KubeObject);
}

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'atan2']);

/**
 * The metric names a PromQL expression selects: identifiers left once strings, label
 * matchers, ranges and grouping clauses are removed, that are neither a function call nor
 * a keyword. Grafana variables only appear inside matchers and ranges, so they are removed too.
 */
export function promqlMetricNames(expr: string): Set<string> {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = s.slice(m.index + m[0].length).trimStart();
    if (after.startsWith('(') || PROMQL_KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return names;
}

/** Metric families of a Prometheus text exposition (`# TYPE name type` lines). */
export function exposedMetricFamilies(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Whether a series name belongs to an exposed family (histogram and summary series carry suffixes). */
export function isExposed(name: string, families: ReadonlyMap<string, string>): boolean {
  if (families.has(name)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m === null) return false;
  const type = families.get(m[1]!);
  return type === 'histogram' || (type === 'summary' && m[2] !== 'bucket');
}
