import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PartitionProgress, decodeCommitMetadata, encodeCommitMetadata } from './partitionProgress.js';

describe('PartitionProgress', () => {
  it('commits the offset it started from until a batch is read', () => {
    expect(new PartitionProgress(42).committable(Number.POSITIVE_INFINITY)).toBe(42);
  });

  it('holds the commit at the oldest batch whose windows the watermark has not closed', () => {
    const p = new PartitionProgress(0);
    p.add(0, 10, 100);
    p.add(10, 20, 300);
    p.add(20, 30, 200);
    expect(p.committable(50)).toBe(0);
    expect(p.committable(100)).toBe(10);
    // The third batch closes earlier, but the second still holds the offset back.
    expect(p.committable(250)).toBe(10);
    expect(p.committable(300)).toBe(30);
    expect(p.openBatches).toBe(0);
  });

  it('moves straight on over batches with nothing open (dead letters, skipped replays)', () => {
    const p = new PartitionProgress(5);
    p.add(5, 9, Number.NEGATIVE_INFINITY);
    expect(p.committable(Number.NEGATIVE_INFINITY)).toBe(9);
  });

  it('never stores a watermark below the restored one', () => {
    const p = new PartitionProgress(0, 1000);
    expect(p.commitWatermark(500)).toBe(1000);
    expect(p.commitWatermark(2000)).toBe(2000);
  });

  it('round-trips the commit metadata and ignores foreign metadata', () => {
    const none = { watermark: Number.NEGATIVE_INFINITY, checkpointed: false, safe: undefined };
    expect(decodeCommitMetadata(encodeCommitMetadata(123))).toEqual({ watermark: 123, checkpointed: false, safe: undefined });
    expect(decodeCommitMetadata(encodeCommitMetadata(123, 40))).toEqual({ watermark: 123, checkpointed: true, safe: 40 });
    expect(decodeCommitMetadata(encodeCommitMetadata(Number.NEGATIVE_INFINITY))).toEqual(none);
    expect(decodeCommitMetadata('something else')).toEqual(none);
    expect(decodeCommitMetadata(null)).toEqual(none);
  });

  it('keeps only record-breaking batches yet answers exactly like a scan of every batch, also after a checkpoint round trip', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ size: fc.integer({ min: 1, max: 5 }), close: fc.oneof(fc.constant(Number.NEGATIVE_INFINITY), fc.integer({ min: 0, max: 50 })), wmStep: fc.integer({ min: 0, max: 8 }), checkpoint: fc.boolean() }), { maxLength: 200 }),
        (steps) => {
          let p = new PartitionProgress(7);
          const all: { first: number; close: number }[] = [];
          let next = 7;
          let wm = -1;
          for (const s of steps) {
            p.add(next, next + s.size, s.close);
            all.push({ first: next, close: s.close });
            next += s.size;
            wm += s.wmStep;
            // The reference: the first batch (in offset order) with a window still open at wm.
            const open = all.find((b) => b.close > wm);
            expect(p.committable(wm)).toBe(open === undefined ? next : open.first);
            if (s.checkpoint) p = PartitionProgress.from(structuredClone(p.state()));
          }
          // Record-breaking batches only: at most one per distinct close time.
          expect(p.openBatches).toBeLessThanOrEqual(new Set(all.map((b) => b.close)).size);
        },
      ),
      { numRuns: 300 },
    );
  });
});
