import { pino } from 'pino';
import type { Logger } from 'pino';
import type { ServerConfig } from './serverConfig.js';
import type { Tracing } from './tracing.js';

/** The server's logger, and its tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
export interface ServerLogging {
  readonly log: Logger;
  readonly tracing: Tracing | undefined;
}

/**
 * Starts the logger: the given one or a pino logger at `config.logLevel`.
 * OpenTelemetry only with OTEL_EXPORTER_OTLP_ENDPOINT (tracing.ts): otherwise
 * none of it is loaded. Log lines then carry trace_id/span_id.
 */
export async function startLogging(config: ServerConfig, logger: Logger | undefined): Promise<ServerLogging> {
  const tracing = config.otlpEndpoint === undefined ? undefined : await (await import('./tracing.js')).startTracing({ endpoint: config.otlpEndpoint, serviceName: 'tickflow-serve' });
  const log = tracing === undefined ? (logger ?? pino({ level: config.logLevel })) : tracing.traceLogger(logger ?? pino({ level: config.logLevel }));
  return { log, tracing };
}
