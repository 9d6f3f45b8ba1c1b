import { describe, expect, it } from 'vitest';
import { deflateWindow } from './connection.js';

describe('deflateWindow', () => {
  it('reads the server window of a negotiated permessage-deflate answer, 0 without one or below 9 bits', () => {
    expect(deflateWindow('')).toBe(0);
    expect(deflateWindow('permessage-deflate; server_no_context_takeover')).toBe(15);
    expect(deflateWindow('permessage-deflate; server_max_window_bits=10; server_no_context_takeover')).toBe(10);
    expect(deflateWindow('x-other, permessage-deflate; server_max_window_bits="12"')).toBe(12);
    expect(deflateWindow('permessage-deflate; server_max_window_bits=8')).toBe(0);
  });
});
