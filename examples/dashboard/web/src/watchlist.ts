import { direction, formatPercent, formatPrice } from './format.js';
import type { TickerRow } from './types.js';

interface Line {
  readonly tr: HTMLTableRowElement;
  readonly last: HTMLTableCellElement;
  readonly change: HTMLTableCellElement;
  shown: TickerRow | undefined;
  next: TickerRow | undefined;
}

const FLASH: Keyframe[][] = [
  [{ backgroundColor: 'rgba(38,166,154,0.45)' }, { backgroundColor: 'transparent' }],
  [{ backgroundColor: 'rgba(239,83,80,0.45)' }, { backgroundColor: 'transparent' }],
];

/**
 * The watchlist: every symbol of the `ticker` channel with its last price and
 * change since the day's open; a price change flashes the cell (green up, red
 * down). Rows are made once per symbol; `paint()` only touches changed rows.
 */
export class Watchlist {
  private readonly lines = new Map<string, Line>();
  private selected = '';

  constructor(
    private readonly body: HTMLTableSectionElement,
    private readonly onPick: (symbol: string) => void,
  ) {}

  /** Takes changed ticker rows (no DOM work until `paint`). */
  update(rows: readonly TickerRow[]): void {
    for (const r of rows) {
      let line = this.lines.get(r.symbol);
      if (line === undefined) line = this.add(r.symbol);
      line.next = r;
    }
  }

  /** Last price of a symbol (from the ticker). */
  lastOf(symbol: string): number | undefined {
    const l = this.lines.get(symbol);
    return (l?.next ?? l?.shown)?.last;
  }

  symbols(): string[] {
    return [...this.lines.keys()];
  }

  select(symbol: string): void {
    this.lines.get(this.selected)?.tr.classList.remove('selected');
    this.selected = symbol;
    this.lines.get(symbol)?.tr.classList.add('selected');
  }

  private add(symbol: string): Line {
    const tr = document.createElement('tr');
    const name = tr.insertCell();
    name.textContent = symbol;
    const last = tr.insertCell();
    const change = tr.insertCell();
    last.className = 'num';
    change.className = 'num';
    tr.tabIndex = 0;
    tr.dataset.symbol = symbol;
    tr.addEventListener('click', () => this.onPick(symbol));
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') this.onPick(symbol);
    });
    if (symbol === this.selected) tr.classList.add('selected');
    // Keep the rows sorted by symbol.
    const after = [...this.lines.keys()].sort().find((s) => s > symbol);
    this.body.insertBefore(tr, after === undefined ? null : this.lines.get(after)!.tr);
    const line: Line = { tr, last, change, shown: undefined, next: undefined };
    this.lines.set(symbol, line);
    return line;
  }

  /** Writes the rows that changed since the last paint. */
  paint(): void {
    for (const line of this.lines.values()) {
      const r = line.next;
      if (r === undefined || r === line.shown) continue;
      const before = line.shown?.last;
      line.shown = r;
      line.next = undefined;
      line.last.textContent = formatPrice(r.last);
      line.change.textContent = formatPercent(r.changePct);
      line.change.className = `num ${direction(r.changePct)}`;
      if (before !== undefined && before !== r.last) line.last.animate(FLASH[r.last > before ? 0 : 1]!, { duration: 600, easing: 'ease-out' });
    }
  }
}
