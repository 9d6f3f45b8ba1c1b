import { Buffer } from 'node:buffer';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidEvent } from '../events/trade.js';
import { sideCode } from '../tradeColumns.js';
import { scanTrades } from './scanTrades.js';
import type { TimeUnitOption, TradeFileFormat } from './tradeLineParser.js';
import { TradeLineParser } from './tradeLineParser.js';
import { TradeScanner } from './tradeScanner.js';

type Row = [symbol: string, ts: number, price: number, size: number, side: number, line: number];
type Dead = [line: number, reason: string];

/** The oracle: the line parser (JSON.parse + normalizeTrade, or the CSV path) on each line. */
function oracle(text: string, format: TradeFileFormat, timeUnit: TimeUnitOption = 'auto', symbols?: ReadonlySet<string>): { rows: Row[]; dead: Dead[] } {
  const p = new TradeLineParser({ format, timeUnit, symbols });
  const rows: Row[] = [];
  const dead: Dead[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, i) => {
    const r = p.parseLine(line, i + 1);
    if (r === null) return;
    if (r instanceof InvalidEvent) dead.push([i + 1, r.reason]);
    else rows.push([r.symbol, r.ts, r.price, r.size, sideCode(r.side), i + 1]);
  });
  return { rows, dead };
}

function scanned(text: string, format: TradeFileFormat, timeUnit: TimeUnitOption = 'auto', symbols?: ReadonlySet<string>): { rows: Row[]; dead: Dead[] } {
  const s = new TradeScanner({ format, timeUnit, symbols });
  const buf = Buffer.from(text, 'utf8');
  s.scan(buf, 0, buf.length, true);
  const { columns: c, lines, deadLetters } = s.take();
  const rows: Row[] = [];
  for (let i = 0; i < c.length; i++) rows.push([c.symbols[c.symbol[i]!]!, c.ts[i]!, c.price[i]!, c.size[i]!, c.side![i]!, lines[i]!]);
  return { rows, dead: deadLetters.map((d) => [d.line!, d.reason]) };
}

/** The result, or the error both must throw (a first line that is no CSV header, in auto mode). */
function outcome<T>(f: () => T): T | { error: string } {
  try {
    return f();
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const KEYS = ['symbol', 'sym', 's', 'ts', 'timestamp', 'time', 't', 'price', 'p', 'size', 'volume', 'qty', 'quantity', 'side', 'id', 'tradeId', 'trade_id', 'bid', 'ask', 'venue', 'x'];
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer({ min: -1e6, max: 1e15 }).map(String),
  fc.tuple(fc.integer({ min: 0, max: 99999 }), fc.integer({ min: 0, max: 9999 })).map(([a, b]) => `${a}.${b}`),
  fc.constantFrom('0', '-0', '-0.0', '1e3', '1E-2', '01', '1.', '.5', '-', '1e999', '123456789012345678', '1705660245', '1705660245123', '1705660245123456', '1705660245123456789', '1705660245.5'),
);
const stringText = fc.oneof(
  fc.constantFrom('AAPL', 'MSFT', 'BRK.B', 'EUR/USD', '', ' AAPL', 'Ω', 'buy', 'sell', 'B', 'S', 'BUY', 'x', '2024-01-19T10:30:45Z', '2024-01-19 10:30:45.123Z', '150.25', 'NaN', 'a\\"b', 'tab\\there', 'é'),
  fc.string({ maxLength: 6 }),
  fc.string({ minLength: 30, maxLength: 140, unit: 'grapheme-ascii' }),
).map((s) => (s.includes('\\') ? `"${s}"` : JSON.stringify(s)));
const valueText = fc.oneof({ weight: 4, arbitrary: numberText }, { weight: 4, arbitrary: stringText }, { weight: 1, arbitrary: fc.constantFrom('null', 'true', 'false', '[]', '{}', '[1,2]', '{"a":1}') });
const ws = fc.constantFrom('', '', '', ' ', '\t', '  ', '\r');
const member = fc.tuple(fc.constantFrom(...KEYS), valueText, ws, ws).map(([k, v, a, b]) => `${a}"${k}"${b}:${a}${v}`);
/** NDJSON lines: mostly objects with the trade fields, some broken ones and junk. */
const ndjsonLine = fc.oneof(
  { weight: 6, arbitrary: fc.record({ symbol: fc.constantFrom('AAPL', 'MSFT', 'X', 'BRK.B'), ts: numberText, price: numberText, size: numberText, side: fc.constantFrom('', ',"side":"buy"', ',"side":"sell"', ',"side":"B"', ',"side":1') }).map((r) => `{"symbol":"${r.symbol}","ts":${r.ts},"price":${r.price},"size":${r.size}${r.side}}`) },
  { weight: 4, arbitrary: fc.array(member, { maxLength: 8 }).map((ms) => `{${ms.join(',')}}`) },
  { weight: 1, arbitrary: fc.tuple(ws, fc.array(member, { minLength: 1, maxLength: 5 }), ws).map(([a, ms, b]) => `${a}{ ${ms.join(' , ')} }${b}`) },
  { weight: 1, arbitrary: fc.constantFrom('', '   ', 'garbage', '{', '{"symbol":', '{"symbol":"A","ts":1,"price":1,"size":1}}', '[1]', 'null', '{"symbol":"A","ts":1,"price":1,"size":1,}', '\u00a0') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).filter((s) => !s.includes('\n')) },
);

const csvField = fc.oneof(numberText, fc.constantFrom('AAPL', 'MSFT', ' AAPL', '', 'buy', 'S', 'sell', 'b', 'x', '"quoted"', '"a,b"', '2024-01-19T10:30:45Z', '1 ', 'Ω', '\r'));
const csvHeader = fc.constantFrom('symbol,ts,price,size', 'symbol,ts,price,size,side', 'Ticker,Timestamp,Price,Qty,Side,trade_id', 'ts,symbol,size,price,bid,ask,venue');

describe('TradeScanner', () => {
  it('gives exactly the trades and dead letters of the line parser on arbitrary NDJSON lines', () => {
    fc.assert(
      fc.property(fc.array(ndjsonLine, { maxLength: 40 }), fc.constantFrom<TimeUnitOption>('auto', 'ms', 's', 'ns'), (lines, unit) => {
        const text = `${lines.join('\n')}\n`;
        expect(scanned(text, 'ndjson', unit)).toEqual(oracle(text, 'ndjson', unit));
        expect(outcome(() => scanned(text, 'auto', unit))).toEqual(outcome(() => oracle(text, 'auto', unit)));
      }),
      { numRuns: 400 },
    );
  });

  it('gives exactly the trades and dead letters of the line parser on arbitrary CSV rows', () => {
    fc.assert(
      fc.property(csvHeader, fc.array(fc.array(csvField, { minLength: 3, maxLength: 7 }), { maxLength: 40 }), fc.boolean(), (header, rows, crlf) => {
        const eol = crlf ? '\r\n' : '\n';
        const text = `${header}${eol}${rows.map((r) => r.join(',')).join(eol)}${eol}`;
        expect(scanned(text, 'csv')).toEqual(oracle(text, 'csv'));
      }),
      { numRuns: 400 },
    );
  });

  it('learns no line shape from blank lines (regression: the shape walk ran past a blank line)', () => {
    const t = (sym: string, ts: number): string => `{"symbol":"${sym}","ts":${ts},"price":1.5,"size":2}`;
    const spaced = (sym: string, ts: number): string => `{ "symbol": "${sym}", "ts": ${ts}, "price": 1.5, "size": 2, "id": "x" }`;
    for (const text of [
      '\n\n',
      '   \n',
      `\n${t('A', 1)}\n${t('B', 2)}\n`,
      `${t('A', 1)}\n${'\n'.repeat(20)}${spaced('B', 2)}\n${spaced('C', 3)}\n\n`,
      `${'\n'.repeat(20)}${spaced('B', 2)}\n${t('A', 1)}\n${t('C', 3)}`,
    ]) {
      expect(scanned(text, 'ndjson')).toEqual(oracle(text, 'ndjson'));
      expect(scanned(text, 'auto')).toEqual(oracle(text, 'auto'));
    }
  });

  it('honours a symbol list like the line parser', () => {
    const text = ['{"symbol":"AAPL","ts":1,"price":1,"size":1}', '{"symbol":"MSFT","ts":2,"price":1,"size":1}', 'symbol'].join('\n');
    const allowed = new Set(['AAPL']);
    expect(scanned(text, 'ndjson', 'ms', allowed)).toEqual(oracle(text, 'ndjson', 'ms', allowed));
    expect(scanned(text, 'ndjson', 'ms', allowed).dead[0]![1]).toMatch(/unknown symbol "MSFT"/);
  });

  it('gives the same batches however the input is cut into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ndjsonLine, { maxLength: 30 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }), fc.boolean(), async (lines, cuts, trailingNewline) => {
        const text = lines.join('\n') + (trailingNewline ? '\n' : '');
        const bytes = Buffer.from(text, 'utf8');
        const chunks: Buffer[] = [];
        for (let i = 0, k = 0; i < bytes.length; k++) {
          const n = cuts[k % cuts.length]!;
          chunks.push(bytes.subarray(i, i + n));
          i += n;
        }
        const rows: Row[] = [];
        const dead: Dead[] = [];
        for await (const b of scanTrades(Readable.from(chunks), { format: 'ndjson', minBatch: 1 })) {
          const c = b.columns;
          for (let i = 0; i < c.length; i++) rows.push([c.symbols[c.symbol[i]!]!, c.ts[i]!, c.price[i]!, c.size[i]!, c.side![i]!, b.lines[i]!]);
          for (const d of b.deadLetters) dead.push([d.line!, d.reason]);
        }
        expect({ rows, dead }).toEqual(oracle(text.endsWith('\n') || text === '' ? text : `${text}\n`, 'ndjson'));
      }),
      { numRuns: 150 },
    );
  });
});

describe('time units', () => {
  it('detects seconds, milliseconds, microseconds and nanoseconds from the first trade', () => {
    const at = Date.UTC(2024, 0, 19, 10, 30, 45, 123);
    for (const [text, unit] of [
      ['1705660245.123', 's'],
      ['1705660245123', 'ms'],
      ['1705660245123000', 'us'],
      ['1705660245123000000', 'ns'],
    ] as const) {
      const s = new TradeScanner({ format: 'ndjson' });
      const buf = Buffer.from(`{"symbol":"A","ts":${text},"price":1,"size":1}\n`);
      s.scan(buf, 0, buf.length, false);
      expect(s.timeUnit).toBe(unit);
      expect(s.take().columns.ts[0]).toBeCloseTo(at, 3);
    }
  });

  it('takes the unit given and leaves ISO-8601 times alone', () => {
    const s = new TradeScanner({ format: 'csv', timeUnit: 's' });
    const buf = Buffer.from('symbol,ts,price,size\nA,60,1,1\nA,2024-01-19T10:30:45Z,1,1\n');
    s.scan(buf, 0, buf.length, false);
    expect([...s.take().columns.ts]).toEqual([60_000, Date.UTC(2024, 0, 19, 10, 30, 45)]);
  });
});

describe('CSV header problems', () => {
  it('hints at the delimiter when the header has one column', () => {
    expect(() => new TradeLineParser({ format: 'csv' }).parseLine('symbol;ts;price;size', 1)).toThrow(/semicolon-delimited/);
    expect(() => new TradeLineParser({ format: 'csv' }).parseLine('symbol\tts\tprice\tsize', 1)).toThrow(/tab-delimited/);
  });

  it('does not echo binary data as a header', () => {
    let message = '';
    try {
      new TradeLineParser().parseLine('\u0000\u0001\u0002garbage\ufffd', 1);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/does not look like text/);
    expect(message).not.toMatch(/garbage/);
  });
});
