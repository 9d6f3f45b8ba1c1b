import { Packr, Unpackr } from 'msgpackr';
import { SHARED_STRUCTURES, sharedStructures } from '../protocol.js';
import type { ServerMessage, WireFormat } from '../protocol.js';

/** The server's MessagePack encoder: one instance, so msgpackr keeps its record transitions warm. */
export const serverPackr = new Packr({
  structures: sharedStructures(),
  maxSharedStructures: SHARED_STRUCTURES.length,
  useRecords: true,
});

/**
 * Decoder for client frames. msgpackr keeps record definitions a frame makes
 * (ext 0x72) in the decoder's structures, so a shared decoder would let one
 * client redefine the shared records every other client's frames use. Every
 * frame is therefore decoded against a fresh copy of the shared structures:
 * what a frame defines lives only while that frame is read.
 */
const clientUnpackr = new Unpackr({
  structures: sharedStructures(),
  maxSharedStructures: SHARED_STRUCTURES.length,
  useRecords: true,
  mapsAsObjects: true,
});
/** The shared structures as first loaded (msgpackr caches each record's reader on them). */
const PRISTINE = (clientUnpackr as unknown as { structures: string[][] }).structures.slice();

/** Decodes one client frame; no frame can change how any later frame (its own client's or another's) is decoded. */
export function decodeClientFrame(frame: Buffer): unknown {
  const fresh = PRISTINE.slice() as string[][] & { sharedLength?: number };
  fresh.sharedLength = PRISTINE.length;
  (clientUnpackr as unknown as { structures: string[][] }).structures = fresh;
  return clientUnpackr.unpack(frame);
}

/**
 * One server message with its encodings, made lazily and at most once each:
 * a delta fanned out to 5 000 sockets is encoded once per format.
 */
export class Outgoing {
  private bin: Buffer | undefined;
  private json: string | undefined;

  constructor(readonly msg: ServerMessage) {}

  /** The encoded message in `format` (cached). */
  encode(format: WireFormat): Buffer | string {
    if (format === 'msgpack') return (this.bin ??= serverPackr.pack(this.msg));
    return (this.json ??= JSON.stringify(this.msg));
  }
}

/** Joins encoded messages into one frame: MessagePack values back to back, or a JSON array. */
export function joinFrame(format: WireFormat, parts: readonly (Buffer | string)[]): Buffer | string {
  if (format === 'msgpack') {
    if (parts.length === 1) return parts[0] as Buffer;
    return Buffer.concat(parts as Buffer[]);
  }
  let s = '[';
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) s += ',';
    s += parts[i] as string;
  }
  return s + ']';
}
