// The Grafana dashboard of the deploy kit: importable shape (schema version, a Prometheus
// datasource variable every query uses, unique ids, a layout without overlaps) and the
// panels the operations brief asks for. Metric names are checked in metricNames.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPLOY, promqlMetricNames } from './deployFiles.js';

interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: GridPos;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; datasource?: { type: string; uid: string } }[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; datasource?: { uid: string } }[] };
}

const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'tickflow-dashboard.json'), 'utf8')) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queryPanels = panels.filter((p) => p.type !== 'row');

describe('Grafana dashboard', () => {
  it('has a uid, a title and schemaVersion ≥ 36', () => {
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.title).toMatch(/tickflow/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
  });

  it('every query and query variable uses the Prometheus datasource variable', () => {
    const ds = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(ds?.query).toBe('prometheus');
    const ref = `\${${ds!.name}}`;
    for (const p of queryPanels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: ref });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(t.datasource ?? p.datasource).toEqual({ type: 'prometheus', uid: ref });
        expect(t.expr, p.title).toMatch(/\w/);
      }
      expect(new Set(p.targets!.map((t) => t.refId)).size, `${p.title}: refIds unique`).toBe(p.targets!.length);
    }
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) expect(v.datasource?.uid).toBe(ref);
  });

  it('panel ids are unique and panels neither overflow the 24-column grid nor overlap', () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const cells = new Map<string, string>();
    for (const p of panels) {
      const g = p.gridPos;
      expect(g.x + g.w, p.title).toBeLessThanOrEqual(24);
      for (let y = g.y; y < g.y + g.h; y++)
        for (let x = g.x; x < g.x + g.w; x++) {
          const key = `${x},${y}`;
          expect(cells.get(key), `${p.title} overlaps`).toBeUndefined();
          cells.set(key, p.title);
        }
    }
  });

  it.each([
    ['ingest rate', 'tickflow_trades_ingested_total'],
    ['ingest lag', 'tickflow_ingest_lag_seconds'],
    ['Kafka consumer lag', 'tickflow_kafka_consumer_lag_messages'],
    ['windows emitted', 'tickflow_windows_emitted_total'],
    ['late events', 'tickflow_late_events_total'],
    ['dead letters', 'tickflow_dead_letters_total'],
    ['sink write latency', 'tickflow_sink_write_duration_seconds_bucket'],
    ['sink rows written', 'tickflow_sink_rows_written_total'],
    ['buffered rows', 'tickflow_sink_buffered_rows'],
    ['breaker states', 'tickflow_breaker_state'],
    ['HTTP rate and status codes', 'tickflow_http_request_duration_seconds_count'],
    ['HTTP latency', 'tickflow_http_request_duration_seconds_bucket'],
    ['429s', 'tickflow_http_rate_limited_total'],
    ['WebSocket connections', 'tickflow_ws_connections'],
    ['WebSocket frames', 'tickflow_ws_frames_sent_total'],
    ['WebSocket bytes', 'tickflow_ws_bytes_sent_total'],
    ['slow consumers', 'tickflow_ws_slow_consumer_closes_total'],
    ['process CPU', 'process_cpu_seconds_total'],
    ['process RSS', 'process_resident_memory_bytes'],
    ['event-loop lag', 'nodejs_eventloop_lag_p99_seconds'],
  ])('shows %s (%s)', (_what, metric) => {
    const showing = queryPanels.filter((p) => p.targets!.some((t) => promqlMetricNames(t.expr).has(metric)));
    expect(showing.length).toBeGreaterThan(0);
  });

  it('shows sink write latency as p50 and p99 per store', () => {
    const exprs = queryPanels.flatMap((p) => p.targets!.map((t) => t.expr)).filter((e) => e.includes('tickflow_sink_write_duration_seconds_bucket'));
    for (const q of ['0.5', '0.99']) expect(exprs.some((e) => e.startsWith(`histogram_quantile(${q},`) && /by \(store, le\)/.test(e)), `p${Number(q) * 100}`).toBe(true);
  });
});
