// Decoding and encoding of the client's frames: MessagePack with the protocol's shared record
// structures, or JSON when the client asked for it.
import { Packr, Unpackr } from 'msgpackr';
import { SHARED_STRUCTURES, sharedStructures } from '../protocol.js';
import type { ClientMessage, WireFormat } from '../protocol.js';

/** Encodes client messages and decodes server frames in one wire format. */
export class ClientCodec {
  private readonly packr = new Packr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true });
  private readonly unpackr = new Unpackr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true, mapsAsObjects: true });

  constructor(readonly format: WireFormat) {}

  /** One client message as a frame. */
  encode(msg: ClientMessage): string | Uint8Array {
    return this.format === 'json' ? JSON.stringify(msg) : this.packr.pack(msg);
  }

  /** The messages of one server frame (a JSON text frame, or MessagePack values back to back); throws on a frame it cannot read. */
  decode(data: unknown): unknown[] {
    if (typeof data === 'string') {
      const v: unknown = JSON.parse(data);
      return Array.isArray(v) ? v : [v];
    }
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
    if (bytes === undefined) throw new Error('unexpected frame type');
    return this.unpackr.unpackMultiple(bytes) as unknown[];
  }
}
