import type { Candle, Trade } from '@tickflow/core';
import { collect, keyBy, pipeline } from '@tickflow/core';
import { describe, expect, it } from 'vitest';
import { ohlcv, tumbling } from '../src/index.js';

const MIN = 60_000;
const t = (symbol: string, ts: number): Trade => ({ symbol, ts, price: 1, size: 1 });

function job() {
  const out = collect<Candle>();
  const j = pipeline<Trade>({ idleTimeout: '5s' }).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).to(out);
  const second = j.addInput();
  return { j, out, second };
}

describe('watermarks over several inputs (partitions)', () => {
  it('holds windows open while one partition lags: the watermark is the minimum over inputs', () => {
    const { j, out, second } = job();
    j.push(t('A', 10_000), 0);
    j.push(t('B', 10_000), second);
    j.push(t('A', 5 * MIN), 0);
    // Partition 1 is still at 10 s: minute 0 cannot close yet.
    expect(out.values).toHaveLength(0);
    j.push(t('B', 2 * MIN), second);
    expect(out.values.map((c) => [c.symbol, c.start])).toEqual([
      ['A', 0],
      ['B', 0],
    ]);
  });

  it('stops waiting for a partition that has gone idle, and never moves the watermark back when it returns', () => {
    const { j, out, second } = job();
    j.tick(0);
    j.push(t('A', 10_000), 0);
    j.push(t('B', 10_000), second);
    j.tick(1_000);
    j.push(t('A', 3 * MIN), 0);
    j.tick(4_000);
    expect(out.values).toHaveLength(0);
    j.push(t('A', 3 * MIN + 1), 0);
    // Partition 1 silent for more than 5 s of wall clock: it no longer holds the watermark.
    j.tick(7_000);
    expect(out.values.map((c) => [c.symbol, c.start])).toEqual([
      ['A', 0],
      ['B', 0],
    ]);
    expect(j.watermark).toBe(3 * MIN + 1);
    // It comes back behind: its old minute has closed, so the trade is late, and the watermark stays.
    const before = j.stats.late;
    j.push(t('B', 20_000), second);
    expect(j.stats.late).toBe(before + 1);
    expect(j.watermark).toBe(3 * MIN + 1);
  });

  it('lets a removed partition (revoked, ended) stop holding the watermark', () => {
    const { j, out, second } = job();
    j.push(t('A', 10_000), 0);
    j.push(t('B', 10_000), second);
    j.push(t('A', 2 * MIN), 0);
    expect(out.values).toHaveLength(0);
    j.removeInput(second);
    expect(out.values.map((c) => c.symbol)).toEqual(['A', 'B']);
  });
});
