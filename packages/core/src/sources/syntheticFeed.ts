import { TickflowError } from '../errors.js';
import type { Quote } from '../events/quote.js';
import type { Trade } from '../events/trade.js';
import type { Source, SourceContext } from '../source.js';
import type { MarketSimulatorOptions } from './marketSimulator.js';
import { MarketSimulator } from './marketSimulator.js';

/** Options of the synthetic feeds. */
export interface SyntheticFeedOptions extends MarketSimulatorOptions {
  /** Stop after this many events. Default: endless (until the job is aborted). */
  readonly count?: number;
  /** Events per batch on the simulated clock. Default 4096. */
  readonly batchSize?: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

async function* feed<T>(next: () => T, o: SyntheticFeedOptions, ctx: SourceContext): AsyncGenerator<T[]> {
  const count = o.count ?? Number.POSITIVE_INFINITY;
  if (!(count >= 0)) throw new TickflowError('INVALID_ARGUMENT', `count must be ≥ 0, got ${count}`);
  let made = 0;
  if (o.clock !== 'wall') {
    const batchSize = o.batchSize ?? 4096;
    while (made < count && !ctx.signal.aborted) {
      const n = Math.min(batchSize, count - made);
      const batch = new Array<T>(n);
      for (let i = 0; i < n; i++) batch[i] = next();
      made += n;
      yield batch;
      // Let timers and I/O run between batches of an endless feed.
      if (count === Number.POSITIVE_INFINITY) await new Promise((r) => setImmediate(r));
    }
    return;
  }
  // Wall clock: pace in ~10 ms steps at the mean rate.
  const rate = o.rate ?? 1000;
  const started = Date.now();
  while (made < count && !ctx.signal.aborted) {
    const due = Math.min(count, Math.floor(((Date.now() - started) / 1000) * rate));
    if (due > made) {
      const batch: T[] = [];
      while (made < due) {
        batch.push(next());
        made++;
      }
      yield batch;
    }
    await sleep(10, ctx.signal);
  }
}

/**
 * A source of synthetic trades from a seeded MarketSimulator. On the
 * simulated clock it is as fast as the pipeline takes it and fully
 * reproducible; on the wall clock it paces itself at `rate` for live demos.
 *
 * @example
 * ```ts
 * await pipeline(syntheticTrades({ seed: 1, symbols: 100, count: 1_000_000 }), { outOfOrderness: '1s' })
 *   .pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv()))
 *   .to(console.log)
 *   .run();
 * ```
 */
export function syntheticTrades(options: SyntheticFeedOptions = {}): Source<Trade> {
  const { count: _c, batchSize: _b, ...sim } = options;
  return {
    name: 'synthetic-trades',
    read(ctx) {
      const market = new MarketSimulator(sim);
      return feed(() => market.nextTrade(), options, ctx);
    },
  };
}

/** A source of synthetic top-of-book quotes (see `syntheticTrades`). */
export function syntheticQuotes(options: SyntheticFeedOptions = {}): Source<Quote> {
  const { count: _c, batchSize: _b, ...sim } = options;
  return {
    name: 'synthetic-quotes',
    read(ctx) {
      const market = new MarketSimulator(sim);
      return feed(() => market.nextQuote(), options, ctx);
    },
  };
}
