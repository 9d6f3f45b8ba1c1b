import type { CorrelationMatrix } from '@tickflow/windowing';

/**
 * A correlation matrix as `/ws/correlation` and `GET /api/correlation` send it: the operator's
 * matrix with its flat `values` as rows, null where undefined (JSON has no NaN).
 */
export interface CorrelationFrame extends Omit<CorrelationMatrix, 'values'> {
  readonly type?: 'correlation';
  /** values[i][j]: Pearson's r of symbols i and j, null where undefined. */
  readonly values: readonly (readonly (number | null)[])[];
}

/** Most symbols the heatmap shows (the server sends at most 50). */
const MAX_SYMBOLS = 30;

/**
 * The colour of a correlation on a diverging scale: −1 blue, 0 the panel's
 * grey, +1 red (undefined: transparent).
 *
 * @example
 * ```ts
 * cell.style.background = correlationColour(0.8);
 * ```
 */
export function correlationColour(r: number | null): string {
  if (r === null || !Number.isFinite(r)) return 'transparent';
  const x = Math.max(-1, Math.min(1, r));
  // Lightness falls from 50 % at 0 to 38 % at ±1; saturation grows with |r|.
  const hue = x >= 0 ? 0 : 215;
  return `hsl(${hue} ${Math.round(Math.abs(x) * 75)}% ${Math.round(50 - Math.abs(x) * 12)}%)`;
}

/**
 * The heatmap of the watchlist's cross-asset correlation: a grid of cells
 * (plain DOM), one per pair, coloured −1…1, the value on hover (title and
 * the readout line), fed by the `/ws/correlation` channel with the
 * watchlist's symbols. It reconnects (with backoff) when the socket closes
 * and when the watchlist gains symbols.
 */
export class CorrelationHeatmap {
  private socket: WebSocket | undefined;
  private wanted: string[] = [];
  private frame: CorrelationFrame | undefined;
  private retry = 500;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private dirty = false;
  /** Frames received (tests read it through the page hook). */
  frames = 0;

  constructor(
    private readonly grid: HTMLElement,
    private readonly readout: HTMLElement,
    private readonly token: () => Promise<string>,
  ) {
    grid.addEventListener('mouseover', (e) => {
      const cell = (e.target as HTMLElement).closest<HTMLElement>('[data-value]');
      if (cell !== null) this.readout.textContent = cell.title;
    });
    grid.addEventListener('mouseleave', () => this.caption());
  }

  /** The symbols to correlate (the watchlist's): a new set reconnects the channel. */
  watch(symbols: readonly string[]): void {
    const next = [...symbols].sort().slice(0, MAX_SYMBOLS);
    if (next.length === this.wanted.length && next.every((s, i) => s === this.wanted[i])) return;
    this.wanted = next;
    if (next.length >= 2) this.connect();
  }

  /** The latest matrix shown. */
  latest(): CorrelationFrame | undefined {
    return this.frame;
  }

  /** Redraws when a new matrix came (on the animation frame after it). */
  paint(): void {
    if (!this.dirty || this.frame === undefined) return;
    this.dirty = false;
    const m = this.frame;
    const n = m.symbols.length;
    const cells: HTMLElement[] = [];
    this.grid.style.gridTemplateColumns = `auto repeat(${n}, minmax(0, 24px))`;
    cells.push(document.createElement('span'));
    for (const s of m.symbols) cells.push(label(s, 'col'));
    for (let i = 0; i < n; i++) {
      cells.push(label(m.symbols[i]!, 'row'));
      for (let j = 0; j < n; j++) {
        const r = m.values[i]?.[j] ?? null;
        const cell = document.createElement('span');
        cell.className = 'heat-cell';
        cell.dataset.value = r === null ? '' : String(r);
        cell.dataset.row = m.symbols[i]!;
        cell.dataset.col = m.symbols[j]!;
        cell.style.background = correlationColour(r);
        cell.title = `${m.symbols[i]} × ${m.symbols[j]}: ${r === null ? 'undefined (too few returns, or no price change)' : `r = ${r.toFixed(3)}`} over ${Math.min(m.counts[i] ?? 0, m.counts[j] ?? 0)} ${m.interval} returns`;
        cells.push(cell);
      }
    }
    this.grid.replaceChildren(...cells);
    this.grid.dataset.end = String(m.end);
    this.caption();
  }

  close(): void {
    clearTimeout(this.timer);
    const s = this.socket;
    this.socket = undefined;
    s?.close();
  }

  private caption(): void {
    const m = this.frame;
    this.readout.textContent = m === undefined ? 'correlation: waiting for a matrix' : `log returns of ${m.interval} closes, last ${m.lookback}, as of ${new Date(m.end).toISOString().slice(11, 19)} UTC: hover a cell for r`;
  }

  private connect(): void {
    this.close();
    const symbols = this.wanted;
    void this.token().then(
      (token) => {
        if (symbols !== this.wanted) return; // a newer set is connecting
        const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/correlation?symbols=${encodeURIComponent(symbols.join(','))}&token=${encodeURIComponent(token)}`;
        const ws = new WebSocket(url);
        this.socket = ws;
        ws.onmessage = (e) => {
          try {
            const f = JSON.parse(String(e.data)) as CorrelationFrame;
            if (f.type !== 'correlation') return;
            this.frame = f;
            this.frames++;
            this.retry = 500;
            if (!this.dirty) {
              this.dirty = true;
              requestAnimationFrame(() => this.paint());
            }
          } catch {
            // not a matrix: ignored
          }
        };
        ws.onclose = () => {
          if (this.socket !== ws) return;
          this.socket = undefined;
          this.later();
        };
      },
      () => this.later(),
    );
  }

  private later(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.retry);
    this.retry = Math.min(this.retry * 2, 15_000);
  }
}

function label(text: string, kind: 'row' | 'col'): HTMLElement {
  const e = document.createElement('span');
  e.className = `heat-label heat-${kind}`;
  e.textContent = text;
  return e;
}
