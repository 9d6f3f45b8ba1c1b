// OpenTelemetry tracing of the reference server and `tickflow produce`, on
// only when OTEL_EXPORTER_OTLP_ENDPOINT is set. This module imports no
// OpenTelemetry package at its top (types only): `startTracing` loads them, so a server
// without the variable loads none (test/tracing/tracingOff.test.ts) and the
// library's batch paths see no tracer (@tickflow/core/tracing).
import { createRequire } from 'node:module';
import type * as FastifyOtel from '@fastify/otel';
import type * as OtelApi from '@opentelemetry/api';
import type { Context, Span } from '@opentelemetry/api';
import type * as OtelExporter from '@opentelemetry/exporter-trace-otlp-http';
import type * as OtelResources from '@opentelemetry/resources';
import type * as OtelSdk from '@opentelemetry/sdk-trace-node';
import type { FastifyPluginCallback } from 'fastify';
import { z } from 'zod';
import { TickflowError } from '@tickflow/core';
import type { TraceContext, TraceHeaders, TraceSpan, TraceSpanOptions, Tracer } from '@tickflow/core/tracing';
import type { Logger } from 'pino';

/** The environment variable that turns tracing on: the OTLP/HTTP base URL (spans go to `<url>/v1/traces`, JSON). */
export const OTLP_ENDPOINT_ENV = 'OTEL_EXPORTER_OTLP_ENDPOINT';

/** An OTLP/HTTP endpoint: an http(s) URL. */
export const OtlpEndpointSchema = z
  .string()
  .refine((u) => /^https?:\/\/[^\s/]+/.test(u) && URL.canParse(u), 'must be the http(s):// base URL of an OTLP/HTTP receiver, e.g. http://localhost:4318');

/**
 * The endpoint in an environment, validated; undefined when the variable is
 * unset or empty (tracing off).
 *
 * @example
 * ```ts
 * const endpoint = otlpEndpointOf(process.env); // undefined: no tracing
 * ```
 */
export function otlpEndpointOf(env: NodeJS.ProcessEnv): string | undefined {
  const v = env[OTLP_ENDPOINT_ENV];
  if (v === undefined || v === '') return undefined;
  const r = OtlpEndpointSchema.safeParse(v);
  if (!r.success) throw new TickflowError('INVALID_ARGUMENT', `${OTLP_ENDPOINT_ENV}: ${r.error.issues[0]!.message} (got ${JSON.stringify(v)})`);
  return r.data;
}

/** Options of `startTracing`. */
export interface TracingOptions {
  /** OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT). */
  readonly endpoint: string;
  /** `service.name` of the spans (OTEL_SERVICE_NAME wins when set). */
  readonly serviceName: string;
}

/** Tracing of one thread: the tracer the library uses, the server's hooks, and shutdown. */
export interface Tracing {
  readonly tracer: Tracer;
  /** A fastify plugin (@fastify/otel) that makes one SERVER span per HTTP request; register it before the routes. */
  readonly fastifyPlugin: FastifyPluginCallback;
  /** A child of `log` whose lines carry `trace_id` and `span_id` while a span is active. */
  traceLogger(log: Logger): Logger;
  /** The WebSocket server's `onSubscribe`: one `ws subscribe` span per subscribe (connection, subject, channel), ended with the decision. */
  wsSubscribe(info: { readonly connection: string; readonly subject: string; readonly channel: string }): (granted: boolean) => void;
  /** Exports the spans still buffered, then stops tracing in this thread. */
  shutdown(): Promise<void>;
}

let running: { tracing: Tracing; users: number } | undefined;

/**
 * Starts OpenTelemetry in this thread: a NodeTracerProvider (AsyncLocalStorage
 * context, W3C trace context propagation) exporting over OTLP/HTTP JSON in
 * batches, installed as the library's tracer (`setTracer`). A second call in
 * the same thread shares the first provider (each caller shuts down its own
 * use; the last one stops it).
 *
 * @example
 * ```ts
 * const endpoint = otlpEndpointOf(process.env);
 * const tracing = endpoint === undefined ? undefined : await startTracing({ endpoint, serviceName: 'tickflow-serve' });
 * await tracing?.shutdown();
 * ```
 */
export async function startTracing(o: TracingOptions): Promise<Tracing> {
  if (running !== undefined) {
    running.users++;
    return running.tracing;
  }
  // Node's own CommonJS loader for the OpenTelemetry packages: their "module" builds (which bundlers and test
  // runners prefer) import files without extensions, which Node's ESM loader refuses; the API is a global singleton either way.
  const load = createRequire(import.meta.url);
  const api = load('@opentelemetry/api') as typeof OtelApi;
  const { NodeTracerProvider, BatchSpanProcessor } = load('@opentelemetry/sdk-trace-node') as typeof OtelSdk;
  const { OTLPTraceExporter } = load('@opentelemetry/exporter-trace-otlp-http') as typeof OtelExporter;
  const { resourceFromAttributes } = load('@opentelemetry/resources') as typeof OtelResources;
  const { FastifyOtelInstrumentation } = load('@fastify/otel') as typeof FastifyOtel;
  const { setTracer } = await import('@tickflow/core/tracing');
  const { context, propagation, trace, ROOT_CONTEXT, SpanKind, SpanStatusCode } = api;

  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME ?? o.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${o.endpoint.replace(/\/+$/, '')}/v1/traces` }))],
  });
  // Global context manager (AsyncLocalStorage), W3C trace context propagator and tracer provider.
  provider.register();
  const otel = trace.getTracer('tickflow');
  const kinds = { internal: SpanKind.INTERNAL, server: SpanKind.SERVER, producer: SpanKind.PRODUCER, consumer: SpanKind.CONSUMER } as const;
  const headerGetter = {
    keys: (c: TraceHeaders): string[] => Object.keys(c),
    get: (c: TraceHeaders, key: string): string | string[] | undefined => {
      const v = c[key];
      return v === undefined ? undefined : Array.isArray(v) ? v.map(String) : String(v);
    },
  };

  class OtelSpan implements TraceSpan {
    constructor(
      readonly span: Span,
      readonly ctx: Context,
    ) {}
    setAttribute(key: string, value: string | number | boolean): void {
      this.span.setAttribute(key, value);
    }
    run<R>(fn: () => R): R {
      return context.with(this.ctx, fn);
    }
    end(error?: unknown): void {
      if (error !== undefined) {
        const message = error instanceof Error ? error.message : String(error);
        this.span.recordException(error instanceof Error ? error : message);
        this.span.setStatus({ code: SpanStatusCode.ERROR, message });
      }
      this.span.end();
    }
  }

  const tracer: Tracer = {
    active: () => context.active() as unknown as TraceContext,
    startSpan(name: string, so: TraceSpanOptions = {}): TraceSpan {
      const parent = so.parent === undefined ? context.active() : (so.parent as unknown as Context);
      const links = [];
      for (const l of so.links ?? []) {
        const sc = trace.getSpanContext(l as unknown as Context);
        if (sc !== undefined) links.push({ context: sc });
      }
      const span = otel.startSpan(name, { kind: kinds[so.kind ?? 'internal'], attributes: so.attributes, links }, parent);
      return new OtelSpan(span, trace.setSpan(parent, span));
    },
    extract(headers: TraceHeaders | undefined): TraceContext | undefined {
      if (headers === undefined) return undefined;
      const ctx = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
      return trace.getSpanContext(ctx) === undefined ? undefined : (ctx as unknown as TraceContext);
    },
    inject(span: TraceSpan, headers: Record<string, string>): void {
      propagation.inject((span as OtelSpan).ctx, headers);
    },
    runIn<R>(ctx: TraceContext, fn: () => R): R {
      return context.with(ctx as unknown as Context, fn);
    },
  };
  setTracer(tracer);

  // One SERVER span per request (continuing a `traceparent` the client sent), named after the route.
  const fastifyOtel = new FastifyOtelInstrumentation({
    instrumentHooks: false,
    requestHook: (span, request) => span.updateName(`${request.method} ${request.routeOptions.url ?? 'unmatched'}`),
  });
  fastifyOtel.setTracerProvider(provider);

  const tracing: Tracing = {
    tracer,
    fastifyPlugin: fastifyOtel.plugin() as FastifyPluginCallback,
    traceLogger(log: Logger): Logger {
      return log.child(
        {},
        {
          formatters: {
            log(fields: object): object {
              const sc = trace.getSpanContext(context.active());
              return sc === undefined ? fields : { ...fields, trace_id: sc.traceId, span_id: sc.spanId };
            },
          },
        },
      );
    },
    wsSubscribe(info): (granted: boolean) => void {
      const span = otel.startSpan('ws subscribe', { kind: SpanKind.SERVER, attributes: { 'tickflow.ws.connection': info.connection, 'tickflow.ws.subject': info.subject, 'tickflow.ws.channel': info.channel } }, ROOT_CONTEXT);
      return (granted) => {
        span.setAttribute('tickflow.ws.granted', granted);
        span.end();
      };
    },
    async shutdown(): Promise<void> {
      if (running === undefined || --running.users > 0) return;
      running = undefined;
      setTracer(undefined);
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
  running = { tracing, users: 1 };
  return tracing;
}
