import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WsServer } from '@tickflow/ws-server';
import { USER_EVENT_TYPES } from '@tickflow/core';

/** Breaker state as a gauge value: 0 closed, 1 half-open, 2 open. */
export const BREAKER_VALUE = { closed: 0, halfOpen: 1, open: 2 } as const;

/** Sink and breaker figures of one store, by table. */
type StoreFigures = { readBreaker: keyof typeof BREAKER_VALUE; sinks: Record<string, { rowsWritten: number; rowsFailed: number; rowsRejected: number; retries: number; buffered: number; breaker: keyof typeof BREAKER_VALUE; breakerOpens: number }> };

/** What the store gauges read when /metrics is scraped (StoreBackends). */
export interface StoreMetricsSource {
  /** Per store (clickhouse, postgres, redis) its figures, and the rows dropped because a sink's buffer was full (synthetic feed only). */
  stats(): { stores: Record<string, StoreFigures>; droppedRows: number };
}

/**
 * The server's Prometheus metrics, on a registry of its own (several servers
 * may run in one process). Names are a contract: deploy/prometheus alert
 * rules and the Grafana dashboard use them (a test checks every name they
 * use is exported here).
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly trades = new Counter({ name: 'tickflow_trades_ingested_total', help: 'Trades taken in from the feed or Kafka', registers: [this.registry] });
  readonly ingestRate = new Gauge({ name: 'tickflow_ingest_rate', help: 'Trades per second over the last 10 s', registers: [this.registry] });
  readonly ingestLag = new Gauge({ name: 'tickflow_ingest_lag_seconds', help: 'Wall clock minus the event time of the newest trade ingested', registers: [this.registry] });
  readonly consumerLag = new Gauge({ name: 'tickflow_kafka_consumer_lag_messages', help: 'Kafka ingest: messages behind the high watermark, per topic and partition', labelNames: ['topic', 'partition'] as const, registers: [this.registry] });
  readonly windows = new Counter({ name: 'tickflow_windows_emitted_total', help: 'Window results emitted by the operators', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly late = new Counter({ name: 'tickflow_late_events_total', help: 'Events later than the grace period', registers: [this.registry] });
  readonly deadLetters = new Counter({ name: 'tickflow_dead_letters_total', help: 'Inputs sent to the dead-letter output', registers: [this.registry] });
  readonly sinkLatency = new Histogram({
    name: 'tickflow_sink_write_duration_seconds',
    help: 'Time from a batch leaving a sink to it being durable (retries included)',
    labelNames: ['store', 'table'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly http = new Histogram({
    name: 'tickflow_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({ name: 'tickflow_http_rate_limited_total', help: 'Requests answered 429', registers: [this.registry] });
  readonly unavailable = new Counter({ name: 'tickflow_http_store_unavailable_total', help: 'Reads answered 503 because no store could answer', registers: [this.registry] });
  readonly userEvents = new Counter({ name: 'tickflow_user_events_total', help: 'User events counted by the per-minute window job, by type (the schema\'s types only)', labelNames: ['type'] as const, registers: [this.registry] });
  readonly userEventsRejected = new Counter({ name: 'tickflow_user_events_rejected_total', help: 'User events sent to the dead-letter output (invalid, or outside the accepted time range)', registers: [this.registry] });
  private readonly recent: number[] = [];
  private storeSource: StoreMetricsSource | undefined;

  constructor(ws: WsServer) {
    collectDefaultMetrics({ register: this.registry });
    for (const type of USER_EVENT_TYPES) this.userEvents.inc({ type }, 0);
    const stats = () => ws.stats();
    const reg = [this.registry];
    new Gauge({ name: 'tickflow_ws_connections', help: 'Open WebSocket connections', registers: reg, collect() { this.set(stats().connections); } });
    new Gauge({ name: 'tickflow_ws_subscriptions', help: 'WebSocket channel subscriptions', registers: reg, collect() { this.set(stats().subscriptions); } });
    // Monotonic counts read from the WebSocket server when scraped.
    new Gauge({ name: 'tickflow_ws_frames_sent_total', help: 'WebSocket frames sent', registers: reg, collect() { this.set(stats().framesOut); } });
    new Gauge({ name: 'tickflow_ws_deltas_total', help: 'WebSocket delta messages produced', registers: reg, collect() { this.set(stats().deltas); } });
    new Gauge({ name: 'tickflow_ws_bytes_sent_total', help: 'WebSocket bytes sent', registers: reg, collect() { this.set(stats().bytesOut); } });
    new Gauge({ name: 'tickflow_ws_slow_consumer_closes_total', help: 'WebSocket connections closed because they could not keep up', registers: reg, collect() { this.set(stats().slowConsumerCloses); } });
    new Gauge({ name: 'tickflow_ws_conflated_rows', help: 'Rows held (conflated) for slow WebSocket connections', registers: reg, collect() { this.set(stats().conflatedRows); } });
    new Gauge({ name: 'tickflow_ws_max_flush_seconds', help: 'Longest WebSocket flush so far', registers: reg, collect() { this.set(stats().maxFlushMs / 1000); } });

    const source = () => this.storeSource;
    const perSink = (name: string, help: string, value: (s: StoreFigures['sinks'][string]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['store', 'table'] as const,
        registers: reg,
        collect() {
          this.reset();
          const src = source();
          if (src === undefined) return;
          for (const [store, s] of Object.entries(src.stats().stores)) for (const [table, k] of Object.entries(s.sinks)) this.set({ store, table }, value(k));
        },
      });
    perSink('tickflow_sink_rows_written_total', 'Rows durably written by each sink', (s) => s.rowsWritten);
    perSink('tickflow_sink_rows_failed_total', 'Rows given up after the retry limit (to the dead-letter output)', (s) => s.rowsFailed);
    perSink('tickflow_sink_rows_rejected_total', 'Rows rejected by validation before the store', (s) => s.rowsRejected);
    perSink('tickflow_sink_retries_total', 'Failed store writes that were retried', (s) => s.retries);
    perSink('tickflow_sink_buffered_rows', 'Rows accepted and not yet durable', (s) => s.buffered);
    perSink('tickflow_sink_breaker_opens_total', 'Times a sink (write) breaker opened', (s) => s.breakerOpens);
    new Gauge({
      name: 'tickflow_breaker_state',
      help: 'Circuit breaker state (0 closed, 1 half-open, 2 open) per store and path (read, or the sink table)',
      labelNames: ['store', 'path'] as const,
      registers: reg,
      collect() {
        this.reset();
        const src = source();
        if (src === undefined) return;
        for (const [store, s] of Object.entries(src.stats().stores)) {
          this.set({ store, path: 'read' }, BREAKER_VALUE[s.readBreaker]);
          for (const [table, k] of Object.entries(s.sinks)) this.set({ store, path: table }, BREAKER_VALUE[k.breaker]);
        }
      },
    });
    new Gauge({ name: 'tickflow_sink_dropped_rows_total', help: 'Rows dropped because a sink buffer was full while its store was down (synthetic feed only; Kafka ingest waits instead)', registers: reg, collect() { this.set(source()?.stats().droppedRows ?? 0); } });
  }

  /** Full mode: where the sink and breaker gauges read their values. */
  watchStores(source: StoreMetricsSource): void {
    this.storeSource = source;
  }

  /** Counts ingested trades (and keeps the per-second rate over 10 s and the ingest lag). */
  ingested(n: number, newestTs?: number, now = Date.now()): void {
    this.trades.inc(n);
    if (newestTs !== undefined) this.ingestLag.set(Math.max(0, (now - newestTs) / 1000));
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
