import { describe, expect, it } from 'vitest';
import type { InvalidEvent } from '../events/trade.js';
import { TradeLineParser, splitCsvLine } from './tradeLineParser.js';

describe('splitCsvLine', () => {
  it('splits plain and quoted fields, with "" as an escaped quote', () => {
    expect(splitCsvLine('a,b,,c')).toEqual(['a', 'b', '', 'c']);
    expect(splitCsvLine('"a,b","say ""hi""",c')).toEqual(['a,b', 'say "hi"', 'c']);
    expect(splitCsvLine('"x"')).toEqual(['x']);
    expect(splitCsvLine('a,"b')).toBe('unterminated quoted field');
    expect(splitCsvLine('"a"b,c')).toMatch(/unexpected character after a quoted field/);
  });
});

describe('TradeLineParser', () => {
  it('reads CSV with a header in any order, with aliases, CRLF and side codes', () => {
    const p = new TradeLineParser();
    expect(p.parseLine('Timestamp,Ticker,Qty,Price,Side,trade_id\r', 1)).toBeNull();
    expect(p.header).toEqual(['ts', 'symbol', 'size', 'price', 'side', 'id']);
    expect(p.parseLine('2024-01-19 10:30:45.123Z,AAPL,50000,150.25,B,77\r', 2)).toEqual({
      symbol: 'AAPL', ts: 1705660245123, price: 150.25, size: 50000, side: 'buy', id: '77',
    });
    expect(p.parseLine('', 3)).toBeNull();
  });

  it('reads NDJSON, including the seed shape', () => {
    const p = new TradeLineParser({ format: 'auto' });
    expect(p.parseLine('{"symbol":"AAPL","price":150.25,"volume":50000,"bid":150.24,"ask":150.26,"timestamp":"2024-01-19 10:30:45.123Z"}', 1)).toEqual({
      symbol: 'AAPL', ts: 1705660245123, price: 150.25, size: 50000, bid: 150.24, ask: 150.26,
    });
  });

  it('reports bad lines with the reason and keeps going', () => {
    const csv = new TradeLineParser({ format: 'csv' });
    csv.parseLine('symbol,ts,price,size', 1);
    const reasons = ['AAPL,1,abc,1', 'AAPL,1,1', 'AAPL,1,1,-2', ',1,1,1', 'AAPL,yesterday,1,1'].map((l, i) => (csv.parseLine(l, i + 2) as InvalidEvent).reason);
    expect(reasons[0]).toMatch(/price/);
    expect(reasons[1]).toMatch(/expected 4 fields/);
    expect(reasons[2]).toMatch(/size must be ≥ 0/);
    expect(reasons[3]).toMatch(/symbol must not be empty/);
    expect(reasons[4]).toMatch(/ts/);
    expect(csv.parseLine('MSFT,2,3,4', 7)).toEqual({ symbol: 'MSFT', ts: 2, price: 3, size: 4 });
    const nd = new TradeLineParser({ format: 'ndjson' });
    expect((nd.parseLine('{"symbol":', 1) as InvalidEvent).reason).toMatch(/^invalid JSON/);
    expect(nd.parseLine('{"symbol":"X","ts":1,"price":1,"size":1}', 2)).toBeInstanceOf(Object);
  });

  it('rejects a CSV header without the required columns', () => {
    expect(() => new TradeLineParser({ format: 'csv' }).parseLine('name,when,amount', 1)).toThrow(/no symbol column/);
  });
});
