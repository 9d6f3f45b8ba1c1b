// The contenders. Each returns { push(gen, n), end() → Promise<void> } and
// calls onCandle(candle) for every final 1m candle.
import { keyBy, pipeline } from '@tickflow/core';
import { ohlcv, tumbling } from '@tickflow/windowing';
import { Subject, filter, groupBy, map, mergeMap, reduce, take } from 'rxjs';

const MIN = 60_000;

function tickflowJob(onCandle) {
  return pipeline({})
    .pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv()))
    .to({
      write(batch) {
        for (let i = 0; i < batch.length; i++) onCandle(batch[i]);
      },
    });
}

/** tickflow, one `push` per trade object. */
export function tickflowEvent(onCandle) {
  const job = tickflowJob(onCandle);
  return {
    push(gen, n) {
      const objs = gen.objects;
      for (let i = 0; i < n; i++) job.push(objs[i]);
    },
    end: () => job.end(),
  };
}

/** tickflow, `pushBatch` of trade objects per chunk. */
export function tickflowBatch(onCandle) {
  const job = tickflowJob(onCandle);
  return {
    push(gen, n) {
      job.pushBatch(n === gen.objects.length ? gen.objects : gen.objects.slice(0, n));
    },
    end: () => job.end(),
  };
}

/** tickflow, `pushColumns` of typed-array columns per chunk. */
export function tickflowColumnar(onCandle) {
  const job = tickflowJob(onCandle);
  return {
    push(gen) {
      job.pushColumns(gen.columns.build());
    },
    end: () => job.end(),
  };
}

/**
 * A naive baseline: Map<symbol, Map<minute, candle object>>, a watermark,
 * and a scan of every open minute when the watermark passes a minute.
 */
export function naiveMap(onCandle) {
  const open = new Map();
  let maxTs = -Infinity;
  let nextClose = Infinity;
  const flush = (wm) => {
    let next = Infinity;
    for (const [, minutes] of open) {
      for (const [start, c] of minutes) {
        if (start + MIN <= wm) {
          minutes.delete(start);
          onCandle({ ...c, vwap: c.notional / c.volume, final: true, rev: 1 });
        } else if (start + MIN < next) next = start + MIN;
      }
    }
    nextClose = next;
  };
  return {
    push(gen, n) {
      const objs = gen.objects;
      for (let i = 0; i < n; i++) {
        const t = objs[i];
        const start = Math.floor(t.ts / MIN) * MIN;
        let minutes = open.get(t.symbol);
        if (!minutes) open.set(t.symbol, (minutes = new Map()));
        let c = minutes.get(start);
        if (!c) {
          c = { symbol: t.symbol, timeframe: '1m', start, end: start + MIN, open: t.price, high: t.price, low: t.price, close: t.price, volume: 0, trades: 0, notional: 0, buyVolume: 0, sellVolume: 0, openTs: t.ts, closeTs: t.ts };
          minutes.set(start, c);
          if (start + MIN < nextClose) nextClose = start + MIN;
        }
        if (t.ts < c.openTs) { c.openTs = t.ts; c.open = t.price; }
        if (t.ts >= c.closeTs) { c.closeTs = t.ts; c.close = t.price; }
        if (t.price > c.high) c.high = t.price;
        if (t.price < c.low) c.low = t.price;
        c.volume += t.size;
        c.notional += t.price * t.size;
        c.trades++;
        if (t.side === 'buy') c.buyVolume += t.size; else c.sellVolume += t.size;
        if (t.ts > maxTs) maxTs = t.ts;
        if (maxTs >= nextClose) flush(maxTs);
      }
    },
    end: async () => flush(Infinity),
  };
}

/**
 * Idiomatic RxJS 7: trades through a Subject, `groupBy` symbol and minute,
 * each group closed by a duration selector when the watermark passes its
 * end, and `reduce` to a candle. The watermark is emitted once per chunk
 * (once per trade makes every open group re-check it on every trade).
 */
export function rxjs(onCandle) {
  const trades = new Subject();
  const watermark = new Subject();
  let done;
  const finished = new Promise((r) => (done = r));
  trades
    .pipe(
      groupBy((t) => `${t.symbol}|${Math.floor(t.ts / MIN)}`, {
        duration: (g) => {
          const end = (Number(g.key.slice(g.key.indexOf('|') + 1)) + 1) * MIN;
          return watermark.pipe(filter((wm) => wm >= end), take(1));
        },
      }),
      mergeMap((g) =>
        g.pipe(
          reduce(
            (c, t) => {
              if (c === null) {
                const start = Math.floor(t.ts / MIN) * MIN;
                return { symbol: t.symbol, timeframe: '1m', start, end: start + MIN, open: t.price, high: t.price, low: t.price, close: t.price, volume: t.size, trades: 1, notional: t.price * t.size, buyVolume: t.side === 'buy' ? t.size : 0, sellVolume: t.side === 'sell' ? t.size : 0 };
              }
              if (t.price > c.high) c.high = t.price;
              if (t.price < c.low) c.low = t.price;
              c.close = t.price;
              c.volume += t.size;
              c.trades++;
              c.notional += t.price * t.size;
              if (t.side === 'buy') c.buyVolume += t.size; else c.sellVolume += t.size;
              return c;
            },
            null,
          ),
          map((c) => ({ ...c, vwap: c.notional / c.volume, final: true, rev: 1 })),
        ),
      ),
    )
    .subscribe({ next: onCandle, complete: () => done() });
  let maxTs = -Infinity;
  return {
    push(gen, n) {
      const objs = gen.objects;
      for (let i = 0; i < n; i++) {
        // The generator reuses objects; RxJS groups hold references only until reduce reads them, synchronously.
        const t = objs[i];
        trades.next(t);
        if (t.ts > maxTs) maxTs = t.ts;
      }
      watermark.next(maxTs);
    },
    end: async () => {
      trades.complete();
      await finished;
    },
  };
}

export const IMPLEMENTATIONS = {
  'tickflow-event': tickflowEvent,
  'tickflow-batch': tickflowBatch,
  'tickflow-columnar': tickflowColumnar,
  'naive-map': naiveMap,
  rxjs,
};
