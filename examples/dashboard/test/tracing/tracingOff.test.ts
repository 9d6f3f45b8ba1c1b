import { describe, expect, it } from 'vitest';
import { bundleChild, loadRecorder, runChild } from './childScripts.js';
import { startOtlpReceiver } from './otlpReceiver.js';

interface Probe {
  readonly status: number;
  readonly modules: readonly string[];
  readonly tracerInstalled: boolean;
}

/** The OpenTelemetry (and @fastify/otel) modules among those a process loaded, as package paths. */
function otelModules(modules: readonly string[]): string[] {
  const out = new Set<string>();
  for (const m of modules) {
    const hit = /node_modules\/(@opentelemetry\/[^/]+|@fastify\/otel)\//.exec(decodeURIComponent(m));
    if (hit !== null) out.add(hit[1]!);
  }
  return [...out].sort();
}

async function probe(env: Record<string, string | undefined>): Promise<Probe> {
  const script = await bundleChild('serverProbeChild');
  const { out } = await runChild(script, env, ['--import', loadRecorder()]);
  return JSON.parse(out.trim().split('\n').pop()!) as Probe;
}

describe('tracing off (OTEL_EXPORTER_OTLP_ENDPOINT unset)', () => {
  it('loads no OpenTelemetry SDK, exporter or instrumentation and installs no tracer; with the variable set the same probe sees them', async () => {
    const off = await probe({ OTEL_EXPORTER_OTLP_ENDPOINT: undefined });
    expect(off.status).toBe(200);
    expect(off.modules.length).toBeGreaterThan(50); // the recorder saw the server's modules
    expect(off.tracerInstalled).toBe(false);
    // prom-client (the /metrics registry) requires @opentelemetry/api for exemplars whatever we do; the API alone is a no-op.
    expect(otelModules(off.modules).filter((m) => m !== '@opentelemetry/api')).toEqual([]);

    const receiver = await startOtlpReceiver();
    try {
      const on = await probe({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
      expect(on.status).toBe(200);
      expect(on.tracerInstalled).toBe(true);
      expect(otelModules(on.modules)).toEqual(expect.arrayContaining(['@fastify/otel', '@opentelemetry/exporter-trace-otlp-http', '@opentelemetry/sdk-trace-node']));
      // server.close() flushed the spans: the GET /api/symbols request arrived.
      expect(receiver.spans.map((s) => s.name)).toContain('GET /api/symbols');
    } finally {
      await receiver.close();
    }
  }, 120_000);
});
