// Constants and byte-level helpers shared by the fast paths of TradeScanner
// (ndjsonFastPath.ts, csvFastPath.ts, symbolDictionary.ts).
import { SIDE_BUY, SIDE_SELL } from '../tradeColumns.js';

// Field codes of the known keys and CSV columns.
export const F_SYMBOL = 1, F_TS = 2, F_PRICE = 3, F_SIZE = 4, F_SIDE = 5, F_ID = 6, F_BID = 7, F_ASK = 8, F_OTHER = 0;

/** Powers of ten that are exact doubles (10^0 … 10^22). */
export const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** Most digits of a number parsed by the fast path: the mantissa stays below 2^53. */
export const MAX_FAST_DIGITS = 15;

/** Sentinel: the fast path cannot read this line; the line parser decides. */
export const SLOW = -1;


/** Skips JSON whitespace within a line (a newline ends the line, so it is not skipped). */
export function skipWs(buf: Uint8Array, i: number, b: number): number {
  while (i < b) {
    const c = buf[i]!;
    if (c !== 32 && c !== 9 && c !== 13) break;
    i++;
  }
  return i;
}

export function hashBytes(buf: Uint8Array, a: number, b: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = a; i < b; i++) h = Math.imul(h ^ buf[i]!, 16777619);
  return h & 0x7fffffff;
}

/** Bytes 0x21–0x7e only: a valid symbol as is (the line parser would accept it unchanged). */
export function printable(buf: Uint8Array, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = buf[i]!;
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** An id the CSV path keeps unchanged by trim(): printable ASCII, spaces only inside. */
export function printableOrSpaceInside(buf: Uint8Array, a: number, b: number): boolean {
  if (buf[a] === 32 || buf[b - 1] === 32) return false;
  for (let i = a; i < b; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** NDJSON side: exactly "buy" or "sell" (other spellings take the line parser's path). */
export function sideWord(buf: Uint8Array, a: number, b: number): number {
  const n = b - a;
  if (n === 3 && buf[a] === 98 && buf[a + 1] === 117 && buf[a + 2] === 121) return SIDE_BUY;
  if (n === 4 && buf[a] === 115 && buf[a + 1] === 101 && buf[a + 2] === 108 && buf[a + 3] === 108) return SIDE_SELL;
  return SLOW;
}

/** CSV side as toSide reads it: buy, b, sell, s in any case. */
export function sideCode2(buf: Uint8Array, a: number, b: number): number {
  const n = b - a;
  const c0 = buf[a]! | 0x20;
  if (n === 1) return c0 === 98 ? SIDE_BUY : c0 === 115 ? SIDE_SELL : SLOW;
  if (n === 3 && c0 === 98 && (buf[a + 1]! | 0x20) === 117 && (buf[a + 2]! | 0x20) === 121) return SIDE_BUY;
  if (n === 4 && c0 === 115 && (buf[a + 1]! | 0x20) === 101 && (buf[a + 2]! | 0x20) === 108 && (buf[a + 3]! | 0x20) === 108) return SIDE_SELL;
  return SLOW;
}

/** Field code of an NDJSON key in `buf[a, b)`: by length and first byte, then the rest compared. */
export function keyField(buf: Uint8Array, a: number, b: number): number {
  const n = b - a;
  const c = buf[a]!;
  switch (n) {
    case 1:
      return c === 115 ? F_SYMBOL : c === 116 ? F_TS : c === 112 ? F_PRICE : F_OTHER; // s t p
    case 2:
      if (c === 116) return buf[a + 1] === 115 ? F_TS : F_OTHER; // ts
      if (c === 105) return buf[a + 1] === 100 ? F_ID : F_OTHER; // id
      return F_OTHER;
    case 3:
      if (c === 115) return same(buf, a, K_SYM) ? F_SYMBOL : F_OTHER;
      if (c === 113) return same(buf, a, K_QTY) ? F_SIZE : F_OTHER;
      if (c === 98) return same(buf, a, K_BID) ? F_BID : F_OTHER;
      if (c === 97) return same(buf, a, K_ASK) ? F_ASK : F_OTHER;
      return F_OTHER;
    case 4:
      if (c === 116) return same(buf, a, K_TIME) ? F_TS : F_OTHER;
      if (c === 115) return same(buf, a, K_SIZE) ? F_SIZE : same(buf, a, K_SIDE) ? F_SIDE : F_OTHER;
      return F_OTHER;
    case 5:
      return c === 112 && same(buf, a, K_PRICE) ? F_PRICE : F_OTHER;
    case 6:
      if (c === 115) return same(buf, a, K_SYMBOL) ? F_SYMBOL : F_OTHER;
      if (c === 118) return same(buf, a, K_VOLUME) ? F_SIZE : F_OTHER;
      return F_OTHER;
    case 7:
      return c === 116 && same(buf, a, K_TRADEID) ? F_ID : F_OTHER;
    case 8:
      if (c === 113) return same(buf, a, K_QUANTITY) ? F_SIZE : F_OTHER;
      if (c === 116) return same(buf, a, K_TRADE_ID) ? F_ID : F_OTHER;
      return F_OTHER;
    case 9:
      return c === 116 && same(buf, a, K_TIMESTAMP) ? F_TS : F_OTHER;
    default:
      return F_OTHER;
  }
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
const K_SYM = ascii('sym'), K_QTY = ascii('qty'), K_BID = ascii('bid'), K_ASK = ascii('ask');
const K_TIME = ascii('time'), K_SIZE = ascii('size'), K_SIDE = ascii('side'), K_PRICE = ascii('price');
const K_SYMBOL = ascii('symbol'), K_VOLUME = ascii('volume'), K_TRADEID = ascii('tradeId');
const K_QUANTITY = ascii('quantity'), K_TRADE_ID = ascii('trade_id'), K_TIMESTAMP = ascii('timestamp');

function same(buf: Uint8Array, a: number, key: Uint8Array): boolean {
  for (let j = 1; j < key.length; j++) if (buf[a + j] !== key[j]) return false;
  return true;
}
