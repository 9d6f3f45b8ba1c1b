import type { Writable } from 'node:stream';
import type { Source, SourceContext, Trade } from '@tickflow/core';
import { TickflowError, quoteOfTrade } from '@tickflow/core';
import { syntheticTrades } from '@tickflow/core/synthetic';
import { fromFile } from '@tickflow/core/replay';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Message } from 'kafkajs';
import { pack } from 'msgpackr';

/** The options `tickflow produce --help` prints. */
export const PRODUCE_HELP = `Usage: tickflow produce [options]

Publishes trades (and the quotes carried on them) to Kafka: the synthetic feed,
or a replayed NDJSON or CSV file. Key = symbol, partition = murmur2(symbol).

Options:
  --brokers LIST           Kafka bootstrap servers, comma separated (default $KAFKA_BROKERS)
  --topic NAME             trades topic (default trades)
  --quotes-topic NAME      quotes topic for the quotes carried on trades (default quotes; "" for none)
  --format FORMAT          json | msgpack (default json)
  --input FILE             replay an NDJSON or CSV file of trades instead of the synthetic feed
  --count N                synthetic trades (default 10000)
  --symbols N              synthetic symbols (default 10)
  --seed N                 feed seed (default 1)
  --rate N                 trades per second (default: as fast as the broker takes them)
  -h, --help               this help

A summary (trades, quotes, bytes, rate, messages per partition) ends stderr.
`;

/** Options of `tickflow produce` after parsing. */
export interface ProduceOptions {
  readonly brokers: readonly string[];
  /** Trades topic. */
  readonly topic: string;
  /** Quotes topic (quotes carried on trades with bid/ask), or undefined for none. */
  readonly quotesTopic: string | undefined;
  readonly format: 'json' | 'msgpack';
  /** A file of trades (NDJSON/CSV) to replay instead of the synthetic feed. */
  readonly input: string | undefined;
  /** Synthetic feed: number of trades, symbols, seed. */
  readonly count: number;
  readonly symbols: number;
  readonly seed: number;
  /** Messages per second (trades), or undefined for as fast as the broker takes them. */
  readonly rate: number | undefined;
  /** Messages per send. Default 1 000. */
  readonly batchSize?: number;
  /** OpenTelemetry OTLP/HTTP endpoint: one producer span per send, its W3C trace context in every message's headers. Default $OTEL_EXPORTER_OTLP_ENDPOINT; unset: no tracing. */
  readonly otlpEndpoint?: string | undefined;
}

/** What was sent. */
export interface ProduceSummary {
  readonly trades: number;
  readonly quotes: number;
  readonly bytes: number;
  readonly ms: number;
  /** Messages per partition of the trades topic after the run (what the topic holds). */
  readonly partitions: Record<number, number>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * `tickflow produce`: the market-data collector. Publishes the synthetic feed
 * (or a replayed file) to the trades topic and the quotes carried on the
 * trades to the quotes topic, key = symbol, partitioned by murmur2(symbol)
 * (Kafka's default partitioner, so every symbol stays in one partition),
 * JSON or MessagePack, at a given rate, and writes a summary.
 */
export async function produceCommand(o: ProduceOptions, io: { readonly stderr: Writable }, signal?: AbortSignal): Promise<ProduceSummary> {
  if (o.brokers.length === 0) throw new TickflowError('INVALID_ARGUMENT', 'no brokers: pass --brokers host:port (or set KAFKA_BROKERS)');
  const source: Source<Trade> = o.input === undefined ? syntheticTrades({ seed: o.seed, symbols: o.symbols, count: o.count, batchSize: 1024 }) : fromFile(o.input);
  const kafka = new Kafka({ clientId: 'tickflow-produce', brokers: [...o.brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  // Tracing only with an endpoint (src/server/tracing.ts loads OpenTelemetry then, and only then), validated before connecting.
  const otlp = o.otlpEndpoint ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const traceModule = otlp === undefined || otlp === '' ? undefined : await import('./server/tracing.js');
  const endpoint = traceModule?.otlpEndpointOf({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp });
  await producer.connect();
  const tracing = endpoint === undefined ? undefined : await traceModule!.startTracing({ endpoint, serviceName: 'tickflow-produce' });
  const encode = o.format === 'json' ? (v: unknown): Buffer => Buffer.from(JSON.stringify(v)) : (v: unknown): Buffer => pack(v);
  const batchSize = o.batchSize ?? 1000;
  const partitions: Record<number, number> = {};
  let trades = 0;
  let quotes = 0;
  let bytes = 0;
  const started = Date.now();
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const ctx: SourceContext = {
    signal: ac.signal,
    deadLetter: (d) => io.stderr.write(`skipped ${d.line === undefined ? d.origin : `line ${d.line}`}: ${d.reason}\n`),
    addInput: () => 0,
    removeInput: () => undefined,
  };
  const send = async (tradeMsgs: Message[], quoteMsgs: Message[]): Promise<void> => {
    const topicMessages = [{ topic: o.topic, messages: tradeMsgs }];
    if (o.quotesTopic !== undefined && quoteMsgs.length > 0) topicMessages.push({ topic: o.quotesTopic, messages: quoteMsgs });
    if (tracing === undefined) {
      await producer.sendBatch({ topicMessages, acks: -1 });
      return;
    }
    // One producer span per send; every message carries its context (traceparent), so consumers continue the trace.
    const span = tracing.tracer.startSpan(`${o.topic} publish`, { kind: 'producer', attributes: { 'messaging.system': 'kafka', 'messaging.operation.type': 'send', 'messaging.destination.name': o.topic, 'messaging.batch.message_count': tradeMsgs.length + quoteMsgs.length } });
    const headers: Record<string, string> = {};
    tracing.tracer.inject(span, headers);
    for (const m of tradeMsgs) m.headers = headers;
    for (const m of quoteMsgs) m.headers = headers;
    try {
      await producer.sendBatch({ topicMessages, acks: -1 });
      span.end();
    } catch (e) {
      span.end(e);
      throw e;
    }
  };
  try {
    let tradeMsgs: Message[] = [];
    let quoteMsgs: Message[] = [];
    for await (const batch of source.read(ctx)) {
      const events = Array.isArray(batch) ? (batch as readonly Trade[]) : 'events' in batch ? (batch.events as readonly Trade[]) : [];
      for (const t of events) {
        const value = encode(t);
        bytes += value.length;
        tradeMsgs.push({ key: t.symbol, value });
        trades++;
        if (o.quotesTopic !== undefined) {
          const q = quoteOfTrade(t);
          if (q !== undefined) {
            const qv = encode(q);
            bytes += qv.length;
            quoteMsgs.push({ key: q.symbol, value: qv });
            quotes++;
          }
        }
        if (tradeMsgs.length >= batchSize) {
          await send(tradeMsgs, quoteMsgs);
          tradeMsgs = [];
          quoteMsgs = [];
        }
        if (o.rate !== undefined) {
          const due = started + (trades / o.rate) * 1000;
          const wait = due - Date.now();
          if (wait > 10) {
            if (tradeMsgs.length > 0) await send(tradeMsgs, quoteMsgs);
            tradeMsgs = [];
            quoteMsgs = [];
            await sleep(wait);
          }
        }
        if (ac.signal.aborted) break;
      }
      if (ac.signal.aborted) break;
    }
    if (tradeMsgs.length > 0) await send(tradeMsgs, quoteMsgs);
    const meta = await kafka.admin();
    await meta.connect();
    try {
      const offsets = await meta.fetchTopicOffsets(o.topic);
      for (const p of offsets) partitions[p.partition] = Number(p.high) - Number(p.low);
    } finally {
      await meta.disconnect();
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await producer.disconnect();
    await tracing?.shutdown();
  }
  return { trades, quotes, bytes, ms: Date.now() - started, partitions };
}
