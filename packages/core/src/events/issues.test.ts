import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { formatIssues } from './issues.js';

const Schema = z.object({ price: z.number(), nested: z.object({ size: z.number().min(0) }) }).strict();

describe('formatIssues', () => {
  it('names each bad field by its path, joined on one line', () => {
    const r = Schema.safeParse({ price: 'x', nested: { size: -1 } });
    expect(r.success).toBe(false);
    const text = formatIssues(r.error!);
    expect(text).toMatch(/^price: .+; nested\.size: .+$/);
    expect(text.split('; ')).toHaveLength(2);
  });

  it('labels an issue about the whole value with root when given, else shows the message alone', () => {
    const r = z.number().safeParse('five');
    expect(formatIssues(r.error!)).toBe(r.error!.issues[0]!.message);
    expect(formatIssues(r.error!, { root: '(options)' })).toBe(`(options): ${r.error!.issues[0]!.message}`);
  });
});
