import type { Duration } from '../duration.js';
import { ms } from '../duration.js';
import { TickflowError } from '../errors.js';
import { normalizeTrade } from '../events/trade.js';
import type { InvalidEvent } from '../events/trade.js';
import { REJOIN_ATTEMPTS } from './groupMember.js';
import type { KafkaConsumerOptions } from './kafkaConsumerOptions.js';
import { parseKafkaValueFormat } from './kafkaValueCodec.js';
import type { KafkaValueFormat } from './kafkaValueCodec.js';

/** KafkaConsumerOptions checked, with defaults and durations in ms. */
export interface ConsumerSettings<T> {
  readonly format: KafkaValueFormat;
  readonly parse: (value: unknown) => T | InvalidEvent;
  readonly tsOf: (e: T) => number;
  /** Largest window size: what commits wait for (a window's close = its end at this size + grace). */
  readonly maxSize: number;
  /** Smallest window size: what own-partition lateness is judged with (for the late log). */
  readonly minSize: number;
  readonly grace: number;
  readonly idleMs: number | undefined;
  readonly commitMs: number;
  readonly sessionMs: number;
  readonly rejoinAttempts: number;
  readonly warn: (m: string) => void;
}

function tsField(e: unknown): number {
  return (e as { ts: number }).ts;
}

/** Checks a consumer's options (TickflowError INVALID_ARGUMENT with what was wrong) and fills in the defaults. */
export function consumerSettings<T>(options: KafkaConsumerOptions<T>): ConsumerSettings<T> {
  if (options.brokers.length === 0) throw new TickflowError('INVALID_ARGUMENT', 'brokers must list at least one host:port, e.g. ["127.0.0.1:9092"]');
  if (options.topic === '' || options.groupId === '') throw new TickflowError('INVALID_ARGUMENT', 'topic and groupId must be non-empty');
  const format = parseKafkaValueFormat(options.format ?? 'auto');
  const parse = options.parse ?? (normalizeTrade as unknown as (v: unknown) => T | InvalidEvent);
  const tsOf = options.timestamp ?? (tsField as (e: T) => number);
  const sizes = (Array.isArray(options.windows.size) ? options.windows.size : [options.windows.size]) as readonly Duration[];
  if (sizes.length === 0) throw new TickflowError('INVALID_ARGUMENT', 'windows.size must name at least one timeframe, e.g. "1m"');
  const maxSize = Math.max(...sizes.map((s) => ms(s, 'windows.size')));
  const minSize = Math.min(...sizes.map((s) => ms(s, 'windows.size')));
  const idleMs = options.idleTimeout === undefined ? undefined : ms(options.idleTimeout, 'idleTimeout');
  const grace = ms(options.windows.grace ?? 0, 'windows.grace');
  const commitMs = ms(options.commitInterval ?? 1000, 'commitInterval');
  const sessionMs = ms(options.sessionTimeout ?? 10_000, 'sessionTimeout');
  const rejoinAttempts = options.rejoinAttempts ?? REJOIN_ATTEMPTS;
  if (!Number.isSafeInteger(rejoinAttempts) || rejoinAttempts < 0) throw new TickflowError('INVALID_ARGUMENT', `rejoinAttempts must be a whole number ≥ 0, got ${String(options.rejoinAttempts)}`);
  const warn = options.onWarning ?? ((m) => console.warn(`[tickflow] ${m}`));
  return { format, parse, tsOf, maxSize, minSize, grace, idleMs, commitMs, sessionMs, rejoinAttempts, warn };
}
