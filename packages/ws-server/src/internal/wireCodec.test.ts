import * as wsModule from 'ws';
import { describe, expect, it } from 'vitest';
import { Frame, Outgoing, SharedFrames, serverPackr } from './wireCodec.js';
import type { ServerMessage } from '../protocol.js';

const delta = (channel: string, n: number): ServerMessage => ({
  type: 'delta',
  channel,
  seq: 1,
  prev: 0,
  rows: Array.from({ length: n }, (_, i) => ({ symbol: 'AAPL', ts: i, price: 1.5, size: 1 })),
});

interface FrameReceiver {
  on(event: 'message', fn: (data: Buffer, binary: boolean) => void): void;
  write(chunk: Buffer): void;
}
// ws exports its frame parser, but @types/ws does not declare it.
const { Receiver } = wsModule as unknown as { Receiver: new (options: { isServer: boolean }) => FrameReceiver };

/** Parses WebSocket frames with ws's own receiver (client side: unmasked server frames). */
function parse(bytes: Buffer): { data: Buffer; binary: boolean }[] {
  const out: { data: Buffer; binary: boolean }[] = [];
  const r = new Receiver({ isServer: false });
  r.on('message', (data: Buffer, binary: boolean) => out.push({ data, binary }));
  r.write(bytes);
  return out;
}

describe('Frame', () => {
  it.each([1, 10, 3_000])('is a complete WebSocket frame ws can read, with the messages back to back (%i rows)', (n) => {
    const outs = [new Outgoing(delta('trades:A', n)), new Outgoing(delta('trades:B', 1))];
    const [bin] = parse(new Frame('msgpack', outs).bytes);
    expect(bin!.binary).toBe(true);
    expect(serverPackr.unpackMultiple(bin!.data)).toEqual([outs[0]!.msg, outs[1]!.msg]);
    const [text] = parse(new Frame('json', outs).bytes);
    expect(text!.binary).toBe(false);
    expect(JSON.parse(text!.data.toString())).toEqual([outs[0]!.msg, outs[1]!.msg]);
  });

  it('exposes the payload without the header', () => {
    const f = new Frame('json', [new Outgoing(delta('trades:A', 2))]);
    expect(JSON.parse(f.payload.toString())).toHaveLength(1);
  });
});

describe('SharedFrames', () => {
  it('builds one frame per format for the same messages in the same order, and another for a different order', () => {
    const frames = new SharedFrames();
    const a = new Outgoing(delta('trades:A', 1));
    const b = new Outgoing(delta('trades:B', 1));
    const ab = frames.get('msgpack', [a, b]);
    expect(frames.get('msgpack', [a, b])).toBe(ab);
    expect(frames.get('json', [a, b])).not.toBe(ab);
    expect(frames.get('msgpack', [b, a])).not.toBe(ab);
    expect(frames.get('msgpack', [a])).not.toBe(ab);
    frames.clear();
    expect(frames.get('msgpack', [a, b])).not.toBe(ab);
  });
});
