import { describe, expect, expectTypeOf, it } from 'vitest';
import type { BuildContext } from '../src/extend/index.js';
import type { Candle, DeadLetter, Keyed, LateEvent, Operator, OutputLike, Quote, Trade } from '../src/index.js';
import { Stage } from '../src/extend/index.js';
import { collect, toTradeColumns, keyBy, map, pipeline } from '../src/index.js';

// Type tests of the pipeline (checked by `npm run typecheck`, which compiles
// test/; each `@ts-expect-error` fails the typecheck if the misuse compiles
// again). The `it` bodies also run, so each typed path is checked at run time too.

const trades: Trade[] = [
  { symbol: 'AAPL', ts: 1_000, price: 150.25, size: 10 },
  { symbol: 'MSFT', ts: 2_000, price: 410.5, size: 5, side: 'buy' },
];

/** A window-like operator for these tests: every event it gets is late (what a window does after it closed). */
function allLate<T>(): Operator<Keyed<string, T>, never, T> {
  class AllLate extends Stage<Keyed<string, T>, never> {
    constructor(private readonly ctx: BuildContext) {
      super();
    }
    push(event: Keyed<string, T>): void {
      this.ctx.late({ event, key: 'k', windowStart: 0, windowEnd: 1, watermark: 1, operator: 'allLate' });
    }
  }
  return { name: 'allLate', build: (ctx) => new AllLate(ctx) };
}

describe('pipeline types', () => {
  it('pushColumns is only callable on a job whose input is trades', async () => {
    const cols = toTradeColumns(trades);
    const prices = collect<number>();
    const job = pipeline<Trade>().pipe(map((t: Trade) => t.price)).to(prices);
    job.pushColumns(cols);
    await job.end();
    expect(prices.values).toEqual([150.25, 410.5]);

    const candleJob = pipeline<Candle>().to(collect<Candle>());
    // @ts-expect-error a candle job takes no trade columns (it used to emit [undefined])
    const misuse = (): void => candleJob.pushColumns(cols);
    expectTypeOf(misuse).toBeFunction();
    const quoteJob = pipeline<Quote>().to(() => {});
    // @ts-expect-error nor does a quote job
    expectTypeOf(() => quoteJob.pushColumns(cols)).toBeFunction();
  });

  it('types the late output by the stream the window operator takes', async () => {
    const late = collect<LateEvent<Trade>>();
    const built = pipeline<Trade>().pipe(keyBy('symbol'), allLate());
    expectTypeOf<Parameters<typeof built.late>[0]>().toEqualTypeOf<OutputLike<LateEvent<Keyed<string, Trade>>>>();
    const job = built
      .late((e) => {
        expectTypeOf(e.event).toEqualTypeOf<Keyed<string, Trade>>();
        void late.write([e]);
      })
      .to(() => {});
    for (const t of trades) job.push(t);
    await job.end();
    // Every late event carries the trade as it arrived: its fields are typed, no cast.
    expect(late.values.map((e) => e.event.price)).toEqual([150.25, 410.5]);

    // @ts-expect-error the late events of a trade window are trades, not quotes
    built.late((e: LateEvent<Quote>) => void e.event.bid);
    // @ts-expect-error nor an Output of quote late events
    built.late(collect<LateEvent<Quote>>());
    // A stream without window operators sends no late events (`never`): any late output fits.
    expectTypeOf<Parameters<ReturnType<typeof pipeline<Trade>>['late']>[0]>().toEqualTypeOf<OutputLike<LateEvent<never>>>();
  });

  it('types a dead letter by its input where it is known', () => {
    const letter: DeadLetter<Trade> = { reason: 'negative size', input: { ...trades[0]!, size: -1 }, origin: 'test' };
    expectTypeOf(letter.input).toEqualTypeOf<Trade>();
    expect(letter.input.size).toBe(-1);
    const raw: DeadLetter = { reason: 'not JSON', input: '{oops', origin: 'replay', line: 3 };
    expectTypeOf(raw.input).toBeUnknown();
    // @ts-expect-error an unknown input is not a trade
    const asTrade: DeadLetter<Trade> = raw;
    expect(asTrade.origin).toBe('replay');
  });

  it('pipe infers through twelve operators in one call', async () => {
    const inc = map((n: number) => n + 1);
    const out = collect<string>();
    const built = pipeline<number>({ timestamp: (n) => n }).pipe(inc, inc, inc, inc, inc, inc, inc, inc, inc, inc, inc, map((n: number) => `n=${n}`));
    expectTypeOf(built.to).parameter(0).toEqualTypeOf<OutputLike<string>>();
    const job = built.to(out);
    job.push(0);
    await job.end();
    expect(out.values).toEqual(['n=11']);
    // @ts-expect-error the ninth operator takes strings, the eighth gives numbers
    pipeline<number>().pipe(inc, inc, inc, inc, inc, inc, inc, inc, map((s: string) => s.length));
  });
});
