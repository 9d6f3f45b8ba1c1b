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

describe('formatIssues with the input', () => {
  const Body = z.object({ price: z.number(), size: z.number().positive(), side: z.enum(['buy', 'sell']) });

  it('says what each field received, or that it is missing', () => {
    const input = { price: 'x', size: -2 };
    const r = Body.safeParse(input);
    const text = formatIssues(r.error!, { input });
    expect(text).toMatch(/^price: .+ \(got "x"\); size: .+ \(got -2\); side: .+ \(missing\)$/);
  });

  it('cuts a large received value and bounds the number of issues', () => {
    const input = { price: 'p'.repeat(10_000), size: 'big', side: 7 };
    const text = formatIssues(Body.safeParse(input).error!, { input, limit: 2 });
    expect(text.length).toBeLessThan(400);
    expect(text).toContain('…(10002 chars)');
    expect(text).toMatch(/size: .+ \(got "big"\); and 1 more$/);
    expect(text).not.toContain('side');
  });

  it("names fields and shows values the caller's way, on the separator it asks for", () => {
    const input = { price: 1, size: 0, side: 'hold' };
    const text = formatIssues(Body.safeParse(input).error!, {
      input,
      label: (path) => `--${String(path[0])}`,
      show: (value) => `<${String(value)}>`,
      separator: '\n',
    });
    expect(text.split('\n')).toEqual([expect.stringMatching(/^--size: .+ \(got <0>\)$/), expect.stringMatching(/^--side: .+ \(got <hold>\)$/)]);
  });

  it('shows no value for an issue about the whole input', () => {
    const r = z.string().safeParse(5);
    expect(formatIssues(r.error!, { input: 5, root: '(body)' })).toBe(`(body): ${r.error!.issues[0]!.message}`);
  });
});
