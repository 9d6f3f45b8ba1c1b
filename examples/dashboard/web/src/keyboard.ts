import type { Overlay } from './chart.js';
import { TIMEFRAMES } from './types.js';
import type { Timeframe } from './types.js';
import type { Watchlist } from './watchlist.js';

/** What the help overlay, the search box and the keyboard shortcuts act on (main.ts). */
export interface KeyboardOptions {
  /** The help overlay (hidden when closed), with its open and close buttons. */
  readonly help: HTMLElement;
  readonly helpOpen: HTMLElement;
  readonly helpClose: HTMLButtonElement;
  /** The watchlist's search box. */
  readonly search: HTMLInputElement;
  readonly watchlist: Watchlist;
  /** Shows a symbol (undefined: the shown one) at a timeframe (undefined: the shown one). */
  readonly show: (symbol: string | undefined, timeframe: Timeframe | undefined) => void;
  readonly toggleOverlay: (overlay: Overlay) => void;
  readonly toggleTimeZone: () => void;
  readonly toggleTheme: () => void;
}

/**
 * Wires the help overlay (open, close, click outside), the search box (filter
 * as typed; Enter shows the first match, an exact one first; Escape clears)
 * and the page's keyboard shortcuts (the help overlay lists them): none while
 * typing in a field, except ↑/↓ in the search box.
 */
export function installKeyboard(o: KeyboardOptions): void {
  const { help, search, watchlist } = o;
  const toggleHelp = (open: boolean): void => {
    help.hidden = !open;
    if (open) o.helpClose.focus();
  };
  /** Shows the filtered watchlist's first symbol (an exact match first). */
  const pickSearched = (): void => {
    const shown = watchlist.filter(search.value);
    const exact = shown.find((s) => s.toUpperCase() === search.value.trim().toUpperCase());
    const pick = exact ?? shown[0];
    if (pick !== undefined) o.show(pick, undefined);
  };
  o.helpOpen.addEventListener('click', () => toggleHelp(true));
  o.helpClose.addEventListener('click', () => toggleHelp(false));
  help.addEventListener('click', (e) => {
    if (e.target === help) toggleHelp(false);
  });
  search.addEventListener('input', () => watchlist.filter(search.value));
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      pickSearched();
    } else if (e.key === 'Escape') {
      search.value = '';
      watchlist.filter('');
      search.blur();
    }
  });
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    if (!help.hidden) {
      if (e.key === 'Escape' || e.key === '?') {
        e.preventDefault();
        toggleHelp(false);
      }
      return;
    }
    const target = e.target as HTMLElement | null;
    const typing = target !== null && (target.tagName === 'INPUT' || target.tagName === 'SELECT' || target.tagName === 'TEXTAREA');
    const arrow = e.key === 'ArrowDown' || e.key === 'ArrowUp';
    if (typing && !(target === search && arrow)) return;
    const tfIndex = '123456789'.indexOf(e.key);
    let handled = true;
    if (e.key === '/') search.focus();
    else if (e.key === '?') toggleHelp(true);
    else if (e.key === 'ArrowDown' || e.key === 'j' || e.key === 'ArrowUp' || e.key === 'k') {
      const next = watchlist.neighbour(e.key === 'ArrowDown' || e.key === 'j' ? 1 : -1);
      if (next !== undefined) o.show(next, undefined);
    } else if (tfIndex !== -1 && tfIndex < TIMEFRAMES.length) o.show(undefined, TIMEFRAMES[tfIndex]!);
    else if (e.key === 'v') o.toggleOverlay('vwap');
    else if (e.key === 'b') o.toggleOverlay('volume');
    else if (e.key === 'z') o.toggleTimeZone();
    else if (e.key === 't') o.toggleTheme();
    else handled = false;
    if (handled) e.preventDefault();
  });
}
