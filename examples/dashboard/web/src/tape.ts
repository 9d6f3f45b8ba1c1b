import { formatPrice, formatQuantity, formatTime } from './format.js';
import type { Trade } from './types.js';

const ROWS = 30;

/** The recent-trades tape of the shown symbol, newest first, times in the page's zone: a fixed set of rows rewritten per paint. */
export class TradeTape {
  private readonly cells: { tr: HTMLTableRowElement; time: HTMLTableCellElement; price: HTMLTableCellElement; size: HTMLTableCellElement }[] = [];
  private trades: readonly Trade[] = [];
  private dirty = false;

  constructor(body: HTMLTableSectionElement) {
    for (let i = 0; i < ROWS; i++) {
      const tr = body.insertRow();
      const time = tr.insertCell();
      const price = tr.insertCell();
      const size = tr.insertCell();
      price.className = 'num';
      size.className = 'num';
      this.cells.push({ tr, time, price, size });
    }
  }

  /** The trades channel's rows (oldest first). */
  set(rows: readonly Trade[]): void {
    this.trades = rows;
    this.dirty = true;
  }

  clear(): void {
    this.set([]);
  }

  /** Rewrites every row at the next paint (after the time zone changed). */
  refresh(): void {
    this.dirty = true;
  }

  paint(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const n = this.trades.length;
    for (let i = 0; i < ROWS; i++) {
      const t = this.trades[n - 1 - i];
      const c = this.cells[i]!;
      if (t === undefined) {
        c.tr.hidden = true;
        continue;
      }
      c.tr.hidden = false;
      c.time.textContent = formatTime(t.ts);
      c.time.dataset.ts = String(t.ts);
      c.price.textContent = formatPrice(t.price);
      c.size.textContent = formatQuantity(t.size);
      c.tr.className = t.side === 'buy' ? 'up' : t.side === 'sell' ? 'down' : '';
    }
  }
}
