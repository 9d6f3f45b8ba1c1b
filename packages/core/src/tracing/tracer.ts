/**
 * The tracing seam of tickflow: an interface the library's batch paths call
 * (one span per fetched Kafka batch, per window push, per sink write) and a
 * process-wide slot that holds an implementation. Nothing is installed by
 * default, and then the paths cost one property read per batch and allocate
 * nothing; the reference server installs an OpenTelemetry-backed tracer when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set (examples/dashboard/src/server/tracing.ts).
 */

/** An opaque trace context (an OpenTelemetry `Context` in the reference server's tracer). */
export type TraceContext = { readonly __traceContext: unique symbol };

/** What a span stands for, as OpenTelemetry's span kinds. */
export type TraceSpanKind = 'internal' | 'server' | 'producer' | 'consumer';

/** Span attributes: flat string, number or boolean values. */
export type TraceAttributes = Readonly<Record<string, string | number | boolean>>;

/** Options of `Tracer.startSpan`. */
export interface TraceSpanOptions {
  /** Default `internal`. */
  readonly kind?: TraceSpanKind;
  /** The parent context; default the active one (`Tracer.active()`). */
  readonly parent?: TraceContext | undefined;
  /** Other contexts the span belongs to (the other messages of a batch). */
  readonly links?: readonly TraceContext[] | undefined;
  readonly attributes?: TraceAttributes;
}

/** A started span. */
export interface TraceSpan {
  setAttribute(key: string, value: string | number | boolean): void;
  /** Runs `fn` with this span active: spans started inside it, and sink batches enqueued inside it, are its children. */
  run<R>(fn: () => R): R;
  /** Ends the span; with an error, marks it failed and records the error. */
  end(error?: unknown): void;
}

/** Carrier of a trace context in message headers (Kafka): W3C `traceparent` and `tracestate`. */
export type TraceHeaders = Readonly<Record<string, Buffer | string | readonly (Buffer | string)[] | undefined>>;

/**
 * What tickflow needs from a tracer. Implement it over OpenTelemetry (see
 * examples/dashboard/src/server/tracing.ts) and install it with `setTracer`.
 *
 * @example
 * ```ts
 * import { setTracer } from '@tickflow/core/tracing';
 * setTracer(myOpenTelemetryTracer); // kafkaConsumer and BatchingSink trace from now on
 * ```
 */
export interface Tracer {
  /** The active context, to parent work done later (a sink's batched write). */
  active(): TraceContext;
  /** Starts a span: a child of `options.parent`, else of the active span. */
  startSpan(name: string, options?: TraceSpanOptions): TraceSpan;
  /** Reads a propagated context from message headers; undefined when they carry none. */
  extract(headers: TraceHeaders | undefined): TraceContext | undefined;
  /** Writes the context of `span` into message headers (W3C trace context). */
  inject(span: TraceSpan, headers: Record<string, string>): void;
  /** Runs `fn` with `context` active. */
  runIn<R>(context: TraceContext, fn: () => R): R;
}

interface TracerSlot {
  tracer: Tracer | undefined;
  /** Per job (or other owner): the context of the last traced batch it took, for work it does later (see `tickTraced`). */
  readonly contexts: WeakMap<object, TraceContext>;
}

// On globalThis, so the ESM and CommonJS builds of the packages (or two copies of this module) share one slot.
const KEY = Symbol.for('tickflow.tracer');
const slot: TracerSlot = ((globalThis as Record<symbol, TracerSlot | undefined>)[KEY] ??= { tracer: undefined, contexts: new WeakMap() });

/**
 * Installs the tracer the library's batch paths use (undefined turns
 * tracing off). Per thread: a worker thread installs its own.
 *
 * @example
 * ```ts
 * setTracer(undefined); // tracing off: no span, no allocation
 * ```
 */
export function setTracer(tracer: Tracer | undefined): void {
  slot.tracer = tracer;
}

/**
 * The installed tracer, or undefined when tracing is off. Batch paths read it
 * once per batch and do nothing more when it is undefined.
 *
 * @example
 * ```ts
 * const span = currentTracer()?.startSpan('my batch');
 * ```
 */
export function currentTracer(): Tracer | undefined {
  return slot.tracer;
}

/**
 * Remembers `context` as the last traced batch `owner` (a job) took: what it
 * emits later, on a wall-clock tick, is traced under it (`tickTraced`).
 *
 * @example
 * ```ts
 * rememberContext(job, currentTracer()!.active());
 * ```
 */
export function rememberContext(owner: object, context: TraceContext): void {
  slot.contexts.set(owner, context);
}

/**
 * Runs the wall-clock ticks of jobs (`job.tick(now)`). Throttled window
 * updates leave a job on its tick, not with the batch that changed them, so
 * with a tracer installed each job ticks under the context of the last
 * traced batch it took, and the sink writes of what it emits stay in that
 * batch's trace. Without a tracer it is the plain loop.
 *
 * @example
 * ```ts
 * setInterval(() => tickTraced(jobs), 100);
 * ```
 */
export function tickTraced(jobs: readonly { tick(now?: number): void }[], now: number = Date.now()): void {
  const tracer = slot.tracer;
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    const ctx = tracer === undefined ? undefined : slot.contexts.get(job);
    if (ctx === undefined) job.tick(now);
    else tracer!.runIn(ctx, () => job.tick(now));
  }
}
