import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Trade } from '@tickflow/core';
import { TickflowError, formatIssues } from '@tickflow/core';

/** The file in the data dir that keeps the demo market's last prices. */
export const DEMO_PRICES_FILE = 'demo-prices.json';

/** What `demo-prices.json` holds: the last price of each symbol and when they were saved. */
export const DemoPricesFileSchema = z
  .object({
    version: z.literal(1),
    savedAt: z.number().int().nonnegative().describe('UTC epoch ms of the save'),
    prices: z.record(z.string().min(1).max(32), z.number().positive().finite()),
  })
  .strict();

/** The contents of `demo-prices.json` (see DemoPricesFileSchema). */
export type DemoPricesFile = z.infer<typeof DemoPricesFileSchema>;

/**
 * Reads the demo market's saved prices from `<dataDir>/demo-prices.json`, to
 * pass as the synthetic feed's `startPrices` so a restarted demo continues
 * where it stopped. Undefined when there is no file (first start).
 *
 * @throws TickflowError `INVALID_ARGUMENT` when the file is not a valid price file (the message names it; delete it to start from the seeded prices).
 * @example
 * ```ts
 * const startPrices = await loadDemoPrices(dataDir); // { SYM0001: 95.7, … } or undefined
 * ```
 */
export async function loadDemoPrices(dataDir: string): Promise<Record<string, number> | undefined> {
  const file = join(dataDir, DEMO_PRICES_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TickflowError('INVALID_ARGUMENT', `cannot read the demo prices ${file}: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TickflowError('INVALID_ARGUMENT', `the demo prices ${file} are not JSON (${(e as Error).message}): delete the file to start from the seeded prices`, { cause: e });
  }
  const parsed = DemoPricesFileSchema.safeParse(json);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error, { root: '(root)' });
    throw new TickflowError('INVALID_ARGUMENT', `the demo prices ${file} are not valid (${issues}): delete the file to start from the seeded prices`);
  }
  return parsed.data.prices;
}

/** Options of `startDemoPriceSaver`. */
export interface DemoPriceSaverOptions {
  /** The server's data dir (created when missing). */
  readonly dataDir: string;
  /** How often changed prices are written (ms). Default 5000. */
  readonly intervalMs?: number;
  /** Prices to keep for the symbols that have not traded yet (the loaded start prices). */
  readonly initial?: Readonly<Record<string, number>>;
  /** Called with a failed periodic write (the saver keeps going). Default: ignored. */
  readonly onError?: (error: TickflowError) => void;
}

/**
 * Keeps the demo market's last prices in `<dataDir>/demo-prices.json`:
 * `record()` takes the feed's trades (cheap: one map write per trade), a
 * timer writes the file when prices changed (whole file to a temporary name,
 * then renamed, so a crash never leaves half a file), and `close()` writes
 * the final prices.
 */
export class DemoPriceSaver {
  private readonly file: string;
  private readonly prices = new Map<string, { price: number; ts: number }>();
  private changed = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly o: DemoPriceSaverOptions) {
    this.file = join(o.dataDir, DEMO_PRICES_FILE);
    for (const [symbol, price] of Object.entries(o.initial ?? {})) this.prices.set(symbol, { price, ts: Number.NEGATIVE_INFINITY });
  }

  /** Starts the periodic writes (the timer does not keep the process alive). */
  start(): this {
    if (this.timer === undefined && !this.closed) {
      this.timer = setInterval(() => {
        this.flush().catch((e: unknown) => this.o.onError?.(e as TickflowError));
      }, this.o.intervalMs ?? 5000);
      this.timer.unref();
    }
    return this;
  }

  /** Takes a batch of trades: the latest (by event time) price of each symbol is kept. */
  record(trades: readonly Trade[]): void {
    for (let i = 0; i < trades.length; i++) {
      const t = trades[i]!;
      const held = this.prices.get(t.symbol);
      if (held === undefined) this.prices.set(t.symbol, { price: t.price, ts: t.ts });
      else if (t.ts >= held.ts) {
        held.price = t.price;
        held.ts = t.ts;
      } else continue;
      this.changed = true;
    }
  }

  /** The prices held now, by symbol. */
  current(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [symbol, p] of this.prices) out[symbol] = p.price;
    return out;
  }

  /** Writes the file now if prices changed since the last write (writes never overlap). */
  flush(): Promise<void> {
    // After a failed write the chain goes on (the failure went to the caller of that flush).
    this.writing = this.writing.catch(() => undefined).then(async () => {
      if (!this.changed) return;
      this.changed = false;
      const body: DemoPricesFile = { version: 1, savedAt: Date.now(), prices: this.current() };
      try {
        await mkdir(this.o.dataDir, { recursive: true });
        await writeFile(`${this.file}.tmp`, JSON.stringify(body) + '\n');
        await rename(`${this.file}.tmp`, this.file);
      } catch (e) {
        this.changed = true; // try again at the next flush
        throw new TickflowError('OUTPUT_FAILED', `cannot write the demo prices ${this.file}: ${(e as Error).message}`, { cause: e });
      }
    });
    return this.writing;
  }

  /** Stops the timer and writes the last prices. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}

/**
 * Starts a DemoPriceSaver for the embedded demo.
 *
 * @example
 * ```ts
 * const saver = startDemoPriceSaver({ dataDir, initial: startPrices });
 * saver.record(trades); // each batch of the synthetic feed
 * await saver.close();  // at shutdown: the final prices
 * ```
 */
export function startDemoPriceSaver(options: DemoPriceSaverOptions): DemoPriceSaver {
  return new DemoPriceSaver(options).start();
}
