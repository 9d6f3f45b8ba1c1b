import { constants, deflateRawSync } from 'node:zlib';
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
  private json: Buffer | undefined;

  constructor(readonly msg: ServerMessage) {}

  /** The encoded message in `format` (cached): MessagePack bytes, or the JSON text as UTF-8 bytes. */
  encode(format: WireFormat): Buffer {
    if (format === 'msgpack') return (this.bin ??= serverPackr.pack(this.msg));
    return (this.json ??= Buffer.from(JSON.stringify(this.msg)));
  }
}

const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;

/** Length of the header of an unmasked WebSocket frame carrying `n` payload bytes (RFC 6455 §5.2). */
function headerLength(n: number): number {
  return n < 126 ? 2 : n < 65_536 ? 4 : 10;
}

/**
 * One frame of messages, with its WebSocket header: MessagePack values back
 * to back in a binary frame, or a JSON array in a text frame. Server frames
 * are unmasked, so the same bytes can be written to every socket that gets
 * these messages; `payload` is a view of the frame without its header (for a
 * socket whose frames the ws library must compress itself).
 */
export class Frame {
  /** Header + payload, ready for `socket.write`. */
  readonly bytes: Buffer;
  /** The payload alone (a view of `bytes`). */
  readonly payload: Buffer;

  constructor(format: WireFormat, outs: readonly Outgoing[]) {
    let n = 0;
    for (let i = 0; i < outs.length; i++) n += outs[i]!.encode(format).length;
    if (format === 'json') n += outs.length + 1; // brackets and commas
    const buf = Buffer.allocUnsafe(headerLength(n) + n);
    const h = writeHeader(buf, format === 'msgpack' ? 0x2 : 0x1, false, n);
    let at = h;
    if (format === 'json') buf[at++] = OPEN_BRACKET;
    for (let i = 0; i < outs.length; i++) {
      if (format === 'json' && i > 0) buf[at++] = COMMA;
      const part = outs[i]!.encode(format);
      part.copy(buf, at);
      at += part.length;
    }
    if (format === 'json') buf[at++] = CLOSE_BRACKET;
    this.bytes = buf;
    this.payload = buf.subarray(h);
  }

  private deflatedBy: Map<number, Buffer> | undefined;

  /** The frame as sent to a connection that negotiated permessage-deflate with `windowBits` (built once per window size); small frames go uncompressed. */
  deflated(windowBits: number, settings: DeflateSettings): Buffer {
    if (this.payload.length < settings.threshold) return this.bytes;
    let z = this.deflatedBy?.get(windowBits);
    if (z === undefined) {
      z = deflateFrame(this, windowBits, settings);
      (this.deflatedBy ??= new Map()).set(windowBits, z);
    }
    return z;
  }
}

/** How frames are compressed for connections that negotiated permessage-deflate (see WsServerOptionsSchema). */
export interface DeflateSettings {
  readonly threshold: number;
  readonly level: number;
  readonly memLevel: number;
}

/** Writes an unmasked frame header (FIN set, RSV1 when compressed) for `n` payload bytes at the start of `buf`; returns its length. */
function writeHeader(buf: Buffer, opcode: number, rsv1: boolean, n: number): number {
  buf[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  if (n < 126) {
    buf[1] = n;
    return 2;
  }
  if (n < 65_536) {
    buf[1] = 126;
    buf.writeUInt16BE(n, 2);
    return 4;
  }
  buf[1] = 127;
  buf.writeUInt32BE(Math.floor(n / 0x1_0000_0000), 2);
  buf.writeUInt32BE(n >>> 0, 6);
  return 10;
}

/**
 * The frame compressed for permessage-deflate with no context takeover
 * (RFC 7692 §7.2.1: raw DEFLATE with a sync flush, its final 00 00 FF FF
 * removed) and a window of `windowBits`: with no context takeover each
 * message is compressed on its own, so the same bytes are valid for every
 * connection that negotiated the same window, and a frame shared by 1 000
 * connections is compressed once, not 1 000 times.
 */
function deflateFrame(frame: Frame, windowBits: number, settings: DeflateSettings): Buffer {
  const z = deflateRawSync(frame.payload, { level: settings.level, memLevel: settings.memLevel, windowBits, finishFlush: constants.Z_SYNC_FLUSH });
  const n = z.length - 4;
  const buf = Buffer.allocUnsafe(headerLength(n) + n);
  const h = writeHeader(buf, frame.bytes[0]! & 0x0f, true, n);
  z.copy(buf, h, 0, n);
  return buf;
}

class FrameNode {
  next: Map<Outgoing, FrameNode> | undefined;
  bin: Frame | undefined;
  json: Frame | undefined;
}

/**
 * The frames of one flush, shared between connections that get the same
 * messages in the same order (the same subscriptions, e.g. a popular
 * watchlist): built once, written to each of their sockets. Keyed by the
 * identity of the Outgoing messages (a trie), so a lookup costs one Map probe
 * per message; `clear()` after the flush.
 */
export class SharedFrames {
  private root = new FrameNode();

  /** The frame of `outs` (at least one message) in `format`. */
  get(format: WireFormat, outs: readonly Outgoing[]): Frame {
    let node = this.root;
    for (let i = 0; i < outs.length; i++) {
      const out = outs[i]!;
      let child = node.next?.get(out);
      if (child === undefined) {
        child = new FrameNode();
        (node.next ??= new Map()).set(out, child);
      }
      node = child;
    }
    if (format === 'msgpack') return (node.bin ??= new Frame(format, outs));
    return (node.json ??= new Frame(format, outs));
  }

  /** Forgets this flush's frames. */
  clear(): void {
    this.root = new FrameNode();
  }
}
