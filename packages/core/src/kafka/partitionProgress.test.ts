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
    expect(decodeCommitMetadata(encodeCommitMetadata(123))).toEqual({ watermark: 123, checkpointed: false });
    expect(decodeCommitMetadata(encodeCommitMetadata(123, true))).toEqual({ watermark: 123, checkpointed: true });
    expect(decodeCommitMetadata(encodeCommitMetadata(Number.NEGATIVE_INFINITY))).toEqual({ watermark: Number.NEGATIVE_INFINITY, checkpointed: false });
    expect(decodeCommitMetadata('something else')).toEqual({ watermark: Number.NEGATIVE_INFINITY, checkpointed: false });
    expect(decodeCommitMetadata(null)).toEqual({ watermark: Number.NEGATIVE_INFINITY, checkpointed: false });
  });
});
