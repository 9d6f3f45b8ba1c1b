// The metric names of the deploy kit are a contract with the server: every name an alert,
// a Grafana panel, the HPA or prometheus-adapter uses must be one that a running
// `tickflow serve` exports on /metrics (serverMetrics.ts plus prom-client's defaults).
// Also: the paths the probes and the scrape config use answer on a running server.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@tickflow/test-services';
import type { ReferenceServer } from '../../examples/dashboard/src/server/referenceServer.js';
import { startReferenceServer } from '../../examples/dashboard/src/server/referenceServer.js';
import { DEPLOY, exposedMetricFamilies, isExposed, promqlMetricNames, readYaml } from './deployFiles.js';

/** Series Prometheus makes itself, not the server. */
const PROMETHEUS_OWN = new Set(['up']);

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

function alertExpressions(): Map<string, string> {
  const rules = readYaml<{ groups: { rules: { alert: string; expr: string }[] }[] }>(join(DEPLOY, 'prometheus', 'alerts.yml'));
  return new Map(rules.groups.flatMap((g) => g.rules.map((r) => [`alert ${r.alert}`, r.expr] as const)));
}

function dashboardExpressions(): Map<string, string> {
  const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'tickflow-dashboard.json'), 'utf8')) as { panels: Panel[]; templating: { list: { name: string; type: string; definition?: string }[] } };
  const out = new Map<string, string>();
  const walk = (panels: readonly Panel[]) => {
    for (const p of panels) {
      (p.targets ?? []).forEach((t, i) => out.set(`panel "${p.title}" #${i}`, t.expr));
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list) if (v.type === 'query' && v.definition !== undefined) out.set(`variable ${v.name}`, v.definition.replace(/^label_values\((.*),\s*\w+\)$/, '$1'));
  return out;
}

function scalingMetricNames(): Map<string, string> {
  const hpa = readYaml<{ spec: { metrics: { type: string; pods?: { metric: { name: string } } }[] } }>(join(DEPLOY, 'k8s', 'base', 'hpa.yaml'));
  const adapter = readYaml<{ rules: { custom: { seriesQuery: string }[] } }>(join(DEPLOY, 'prometheus', 'adapter-rules.yml'));
  const out = new Map<string, string>();
  for (const m of hpa.spec.metrics) if (m.pods !== undefined) out.set('HPA pods metric', m.pods.metric.name);
  adapter.rules.custom.forEach((r, i) => out.set(`prometheus-adapter rule #${i}`, r.seriesQuery));
  return out;
}

describe('promqlMetricNames', () => {
  it('finds the selected metrics, not functions, keywords, labels, ranges or Grafana variables', () => {
    const expr = 'histogram_quantile(0.99, sum by (route, le) (rate(http_bucket{ns="$namespace", route!~"/events|/ws"}[$__rate_interval]))) / on (pod) group_left sum without (x) (a_total offset 5m) > bool 0 or vector(0) and up{job="t"} == 2';
    expect([...promqlMetricNames(expr)].sort()).toEqual(['a_total', 'http_bucket', 'up']);
  });
});

describe('metric names used by the deploy kit exist on a running server', () => {
  let dir: string;
  let server: ReferenceServer;
  let families: Map<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-deploy-metrics-'));
    server = await startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', dataDir: dir, jwtSecret: 'x'.repeat(32) });
    // One answered request, so the HTTP histogram has a series too.
    await fetch(`${server.url}/api/symbols`);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    families = exposedMetricFamilies(await res.text());
  });

  afterAll(async () => {
    await server?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('the server exports its own families and the prom-client process metrics', () => {
    expect(families.get('tickflow_trades_ingested_total')).toBe('counter');
    expect(families.get('tickflow_http_request_duration_seconds')).toBe('histogram');
    expect(families.get('process_cpu_seconds_total')).toBe('counter');
    expect(isExposed('tickflow_http_request_duration_seconds_bucket', families)).toBe(true);
    expect(isExposed('tickflow_trades_ingested_total_count', families)).toBe(false);
  });

  it.each([
    ['alerts.yml', alertExpressions],
    ['the Grafana dashboard', dashboardExpressions],
    ['the HPA and prometheus-adapter', scalingMetricNames],
  ] as const)('every metric in %s is exported', (_what, expressions) => {
    const used = new Map<string, string[]>();
    for (const [where, expr] of expressions()) for (const name of promqlMetricNames(expr)) used.set(name, [...(used.get(name) ?? []), where]);
    expect(used.size).toBeGreaterThan(0);
    const missing = [...used].filter(([name]) => !PROMETHEUS_OWN.has(name) && !isExposed(name, families)).map(([name, where]) => `${name} (${where.join(', ')})`);
    expect(missing, 'metric names not exported by tickflow serve').toEqual([]);
  });

  it('the dashboard shows every metric family the server exports under tickflow_', () => {
    const shown = new Set([...dashboardExpressions().values()].flatMap((e) => [...promqlMetricNames(e)].map((n) => n.replace(/_(bucket|sum|count)$/, ''))));
    const tickflow = [...families.keys()].filter((n) => n.startsWith('tickflow_'));
    expect(tickflow.length).toBeGreaterThan(20);
    expect(tickflow.filter((n) => !shown.has(n))).toEqual([]);
  });

  it('the probe and scrape paths answer: /healthz, /readyz (once the feed delivered trades), /metrics', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await waitFor('/readyz 200', async () => (await fetch(`${server.url}/readyz`)).status === 200, 15_000);
    const annotations = readYaml<{ spec: { template: { metadata: { annotations: Record<string, string> } } } }>(join(DEPLOY, 'k8s', 'base', 'deployment.yaml')).spec.template.metadata.annotations;
    expect((await fetch(`${server.url}${annotations['prometheus.io/path']}`)).status).toBe(200);
  });
});
