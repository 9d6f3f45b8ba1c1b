import { unpack } from 'msgpackr';
import { TickflowError } from '../errors.js';

/** How message values are encoded: JSON, MessagePack, or `auto` (a value starting with `{` or `[` is JSON). */
export type KafkaValueFormat = 'json' | 'msgpack' | 'auto';

/** A value that could not be decoded, with the reason. */
export class UndecodableValue {
  constructor(readonly reason: string) {}
}

function isJson(value: Buffer): boolean {
  let i = 0;
  while (i < value.length && (value[i] === 0x20 || value[i] === 0x0a || value[i] === 0x0d || value[i] === 0x09)) i++;
  return value[i] === 0x7b || value[i] === 0x5b;
}

/**
 * Decodes a message value; returns an `UndecodableValue` (never throws) for
 * a missing value, invalid JSON or truncated MessagePack.
 */
export function decodeKafkaValue(value: Buffer | null, format: KafkaValueFormat): unknown {
  if (value === null || value.length === 0) return new UndecodableValue('empty message value (expected a JSON or MessagePack record)');
  const json = format === 'json' || (format === 'auto' && isJson(value));
  try {
    return json ? (JSON.parse(value.toString('utf8')) as unknown) : unpack(value);
  } catch (e) {
    return new UndecodableValue(`invalid ${json ? 'JSON' : 'MessagePack'}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Validates a format option. */
export function parseKafkaValueFormat(format: string): KafkaValueFormat {
  if (format === 'json' || format === 'msgpack' || format === 'auto') return format;
  throw new TickflowError('INVALID_ARGUMENT', `format must be json, msgpack or auto, got "${format}"`);
}
