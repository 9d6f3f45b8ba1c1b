import { formatDateTime, formatPrice, formatQuantity } from './format.js';
import type { Candle } from './types.js';

/**
 * Draws the crosshair readout into `target`: time, OHLC, volume and VWAP of
 * `bar` (each value a `<b data-field>`), or nothing without a bar.
 * `data-start` and `data-hovered` tell which bar it shows and whether the
 * cursor is on it (the newest bar otherwise).
 */
export function renderReadout(target: HTMLElement, bar: Candle | undefined, hovered: boolean): void {
  if (bar === undefined) {
    target.replaceChildren();
    return;
  }
  const parts: (string | Node)[] = [];
  const field = (name: string, label: string, text: string): void => {
    const b = document.createElement('b');
    b.dataset.field = name;
    b.textContent = text;
    if (name === 'vwap') b.className = 'vwap';
    parts.push(label === '' ? '' : `${label} `, b);
  };
  field('time', '', formatDateTime(bar.start));
  field('open', 'O', formatPrice(bar.open));
  field('high', 'H', formatPrice(bar.high));
  field('low', 'L', formatPrice(bar.low));
  field('close', 'C', formatPrice(bar.close));
  field('volume', 'V', formatQuantity(bar.volume));
  field('vwap', 'VWAP', formatPrice(bar.vwap));
  target.replaceChildren(...parts);
  target.dataset.start = String(bar.start);
  target.dataset.hovered = String(hovered);
}
