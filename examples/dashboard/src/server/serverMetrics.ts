import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WsServer } from '@tickflow/ws-server';

/** The server's Prometheus metrics, on a registry of its own (several servers may run in one process). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly trades = new Counter({ name: 'tickflow_trades_ingested_total', help: 'Trades taken in from the feed', registers: [this.registry] });
  readonly ingestRate = new Gauge({ name: 'tickflow_ingest_rate', help: 'Trades per second over the last 10 s', registers: [this.registry] });
  readonly windows = new Counter({ name: 'tickflow_windows_emitted_total', help: 'Window results emitted by the operators', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly late = new Counter({ name: 'tickflow_late_events_total', help: 'Events later than the grace period', registers: [this.registry] });
  readonly deadLetters = new Counter({ name: 'tickflow_dead_letters_total', help: 'Inputs sent to the dead-letter output', registers: [this.registry] });
  readonly http = new Histogram({
    name: 'tickflow_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({ name: 'tickflow_http_rate_limited_total', help: 'Requests answered 429', registers: [this.registry] });
  private readonly recent: number[] = [];

  constructor(ws: WsServer) {
    collectDefaultMetrics({ register: this.registry });
    const stats = () => ws.stats();
    new Gauge({ name: 'tickflow_ws_connections', help: 'Open WebSocket connections', registers: [this.registry], collect() { this.set(stats().connections); } });
    new Gauge({ name: 'tickflow_ws_subscriptions', help: 'WebSocket channel subscriptions', registers: [this.registry], collect() { this.set(stats().subscriptions); } });
    // Monotonic counts read from the WebSocket server when scraped.
    new Gauge({ name: 'tickflow_ws_frames_sent_total', help: 'WebSocket frames sent', registers: [this.registry], collect() { this.set(stats().framesOut); } });
    new Gauge({ name: 'tickflow_ws_deltas_total', help: 'WebSocket delta messages produced', registers: [this.registry], collect() { this.set(stats().deltas); } });
    new Gauge({ name: 'tickflow_ws_bytes_sent_total', help: 'WebSocket bytes sent', registers: [this.registry], collect() { this.set(stats().bytesOut); } });
  }

  /** Counts ingested trades (and keeps the per-second rate over 10 s). */
  ingested(n: number, now = Date.now()): void {
    this.trades.inc(n);
    const sec = Math.floor(now / 1000);
    const r = this.recent;
    if (r.length === 0 || r[r.length - 2] !== sec) r.push(sec, 0);
    r[r.length - 1]! += n;
    while (r.length > 0 && r[0]! <= sec - 10) r.splice(0, 2);
    let sum = 0;
    for (let i = 1; i < r.length; i += 2) sum += r[i]!;
    this.ingestRate.set(sum / 10);
  }
}
