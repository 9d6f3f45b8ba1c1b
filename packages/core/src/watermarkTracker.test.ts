import { describe, expect, it } from 'vitest';
import { WatermarkTracker } from './watermarkTracker.js';

describe('WatermarkTracker', () => {
  it('follows the max event time minus the allowed out-of-orderness, never backwards', () => {
    const w = new WatermarkTracker({ outOfOrderness: 2_000 });
    expect(w.watermark).toBe(Number.NEGATIVE_INFINITY);
    expect(w.observe(0, 10_000)).toBe(8_000);
    expect(w.observe(0, 9_000)).toBe(8_000);
    expect(w.observe(0, 15_000)).toBe(13_000);
  });

  it('takes the minimum over inputs: a lagging partition holds the watermark', () => {
    const w = new WatermarkTracker({ outOfOrderness: 0 });
    w.addInput(0);
    w.observe(0, 100_000);
    expect(w.watermark).toBe(Number.NEGATIVE_INFINITY);
    w.observe(1, 40_000);
    expect(w.watermark).toBe(40_000);
    w.observe(0, 200_000);
    expect(w.watermark).toBe(40_000);
    w.observe(1, 150_000);
    expect(w.watermark).toBe(150_000);
  });

  it('stops an idle input from holding the watermark after the idle timeout, and takes it back when it speaks', () => {
    const w = new WatermarkTracker({ outOfOrderness: 0, idleTimeout: 1_000 });
    w.addInput(0);
    w.observe(0, 10_000);
    w.observe(1, 5_000);
    expect(w.watermark).toBe(5_000);
    w.tick(500); // both seen since last tick
    w.observe(0, 20_000);
    w.tick(1_000);
    expect(w.watermark).toBe(5_000);
    w.observe(0, 30_000);
    w.tick(1_600); // input 1 silent since t=500: idle
    expect(w.isActive(1)).toBe(false);
    expect(w.watermark).toBe(30_000);
    // It speaks again (behind): active again, and the watermark does not go back.
    w.observe(1, 25_000);
    expect(w.isActive(1)).toBe(true);
    expect(w.watermark).toBe(30_000);
    w.observe(0, 40_000);
    expect(w.watermark).toBe(30_000);
    w.observe(1, 35_000);
    expect(w.watermark).toBe(35_000);
  });

  it('lets a removed input stop holding the watermark', () => {
    const w = new WatermarkTracker();
    w.addInput(0);
    w.observe(0, 50_000);
    w.observe(1, 10_000);
    w.removeInput(1);
    expect(w.watermark).toBe(50_000);
    w.observe(0, 60_000);
    expect(w.watermark).toBe(60_000);
  });

  it('in live mode advances with the wall clock when nothing arrives', () => {
    const w = new WatermarkTracker({ wallClockLag: 2_000 });
    w.observe(0, 1_000);
    expect(w.tick(100_000)).toBe(98_000);
  });

  it('rejects unknown inputs and bad settings', () => {
    const w = new WatermarkTracker();
    expect(() => w.removeInput(3)).toThrow(/input 3 is not registered/);
    expect(() => new WatermarkTracker({ outOfOrderness: -1 })).toThrow(/outOfOrderness/);
  });
});
