import { direction, formatPercent, formatPrice, formatPriceStep } from './format.js';
import type { Quote, TickerRow } from './types.js';

interface Line {
  readonly symbol: string;
  readonly tr: HTMLTableRowElement;
  readonly bid: HTMLTableCellElement;
  readonly ask: HTMLTableCellElement;
  readonly spread: HTMLTableCellElement;
  readonly last: HTMLTableCellElement;
  readonly change: HTMLTableCellElement;
  shown: TickerRow | undefined;
  next: TickerRow | undefined;
  shownQuote: Quote | undefined;
  nextQuote: Quote | undefined;
}

const FLASH: Keyframe[][] = [
  [{ backgroundColor: 'rgba(38,166,154,0.45)' }, { backgroundColor: 'transparent' }],
  [{ backgroundColor: 'rgba(239,83,80,0.45)' }, { backgroundColor: 'transparent' }],
];

/**
 * The watchlist: every symbol of the `ticker` channel with its best bid and
 * ask (`quotes:SYM` channels), the spread, the last price and the ticker's
 * change (last vs. the first trade of the UTC day the server saw); a price
 * change flashes the cell (green up, red down). Rows are made once per
 * symbol; `paint()` only touches changed rows. A filter hides the rows whose
 * symbol does not contain it.
 */
export class Watchlist {
  private readonly lines = new Map<string, Line>();
  private selected = '';
  private filterText = '';

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

  /** Takes the quotes of a `quotes:SYM` channel (no DOM work until `paint`). */
  quote(rows: readonly Quote[]): void {
    for (const q of rows) {
      const line = this.lines.get(q.symbol);
      if (line !== undefined) line.nextQuote = q;
    }
  }

  /** Last price of a symbol (from the ticker). */
  lastOf(symbol: string): number | undefined {
    const l = this.lines.get(symbol);
    return (l?.next ?? l?.shown)?.last;
  }

  /** Every symbol, in arrival order. */
  symbols(): string[] {
    return [...this.lines.keys()];
  }

  select(symbol: string): void {
    this.lines.get(this.selected)?.tr.classList.remove('selected');
    this.selected = symbol;
    const tr = this.lines.get(symbol)?.tr;
    tr?.classList.add('selected');
    // Keep the row in view inside the list only (scrollIntoView would also scroll the page on a phone).
    const box = this.body.closest<HTMLElement>('.scroll');
    if (tr !== undefined && box !== null) {
      const head = this.body.parentElement?.querySelector('thead')?.offsetHeight ?? 0;
      if (tr.offsetTop - head < box.scrollTop) box.scrollTop = tr.offsetTop - head;
      else if (tr.offsetTop + tr.offsetHeight > box.scrollTop + box.clientHeight) box.scrollTop = tr.offsetTop + tr.offsetHeight - box.clientHeight;
    }
  }

  /** Shows only the symbols containing `text` (case-insensitive); '' shows all. Returns the symbols shown, in table order. */
  filter(text: string): string[] {
    this.filterText = text.trim().toUpperCase();
    for (const l of this.lines.values()) l.tr.hidden = !this.matches(l.symbol);
    return this.visible();
  }

  /** The symbols shown (filter applied), in table order. */
  visible(): string[] {
    const out: string[] = [];
    for (const tr of this.body.rows) if (!tr.hidden && tr.dataset.symbol !== undefined) out.push(tr.dataset.symbol);
    return out;
  }

  /** The visible symbol `step` rows from the selected one (clamped at the ends), or undefined when none is visible. */
  neighbour(step: number): string | undefined {
    const shown = this.visible();
    if (shown.length === 0) return undefined;
    const i = shown.indexOf(this.selected);
    if (i === -1) return shown[step > 0 ? 0 : shown.length - 1];
    return shown[Math.min(shown.length - 1, Math.max(0, i + step))];
  }

  private matches(symbol: string): boolean {
    return this.filterText === '' || symbol.toUpperCase().includes(this.filterText);
  }

  private add(symbol: string): Line {
    const tr = document.createElement('tr');
    const name = tr.insertCell();
    name.textContent = symbol;
    const cells = [tr.insertCell(), tr.insertCell(), tr.insertCell(), tr.insertCell(), tr.insertCell()] as const;
    const [bid, ask, spread, last, change] = cells;
    for (const c of cells) c.className = 'num';
    bid.classList.add('bid');
    ask.classList.add('ask');
    spread.classList.add('spread');
    tr.tabIndex = 0;
    tr.dataset.symbol = symbol;
    tr.hidden = !this.matches(symbol);
    tr.addEventListener('click', () => this.onPick(symbol));
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') this.onPick(symbol);
    });
    if (symbol === this.selected) tr.classList.add('selected');
    // Keep the rows sorted by symbol.
    const after = [...this.lines.keys()].sort().find((s) => s > symbol);
    this.body.insertBefore(tr, after === undefined ? null : this.lines.get(after)!.tr);
    const line: Line = { symbol, tr, bid, ask, spread, last, change, shown: undefined, next: undefined, shownQuote: undefined, nextQuote: undefined };
    this.lines.set(symbol, line);
    return line;
  }

  /** Writes the rows that changed since the last paint. */
  paint(): void {
    for (const line of this.lines.values()) {
      const q = line.nextQuote;
      if (q !== undefined && q !== line.shownQuote) {
        line.shownQuote = q;
        line.nextQuote = undefined;
        line.bid.textContent = formatPrice(q.bid);
        line.ask.textContent = formatPrice(q.ask);
        line.spread.textContent = formatPriceStep(q.ask - q.bid, q.bid);
      }
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
