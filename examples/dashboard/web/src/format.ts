import type { TimeZoneChoice } from './preferences.js';

// Number and time formatting shared by the views (one formatter object each, made once).
const price2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const price4 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 4, maximumFractionDigits: 4 });
const qty = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 });
const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

/** A price: 2 decimals from 1 up, 4 below. */
export function formatPrice(p: number): string {
  return Math.abs(p) >= 1 ? price2.format(p) : price4.format(p);
}

/** A price difference (spread) with the decimals of the price it belongs to. */
export function formatPriceStep(step: number, price: number): string {
  return Math.abs(price) >= 1 ? price2.format(step) : price4.format(step);
}

export function formatQuantity(q: number): string {
  return qty.format(q);
}

export function formatMoney(m: number): string {
  return money.format(m);
}

/** Signed money, e.g. `+$12.30`. */
export function formatPnl(m: number): string {
  return `${m > 0 ? '+' : ''}${money.format(m)}`;
}

export function formatVolume(v: number): string {
  return compact.format(v);
}

/** Signed percentage with 2 decimals, e.g. `+1.25%`. */
export function formatPercent(p: number): string {
  const text = Math.abs(p).toFixed(2);
  // No "-0.00%" for a tiny loss.
  return `${text === '0.00' ? '' : p > 0 ? '+' : '-'}${text}%`;
}

let utc = false;

/** Shows every time of the page (tape, chart axis, crosshair readout) in UTC or in the browser's zone. */
export function setTimeZone(tz: TimeZoneChoice): void {
  utc = tz === 'utc';
}

export function timeZone(): TimeZoneChoice {
  return utc ? 'utc' : 'local';
}

/** Calendar and clock fields of an instant in the chosen zone. */
export function clockOf(ms: number): { year: number; month: number; day: number; hours: number; minutes: number; seconds: number } {
  const d = new Date(ms);
  return utc
    ? { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), hours: d.getUTCHours(), minutes: d.getUTCMinutes(), seconds: d.getUTCSeconds() }
    : { year: d.getFullYear(), month: d.getMonth(), day: d.getDate(), hours: d.getHours(), minutes: d.getMinutes(), seconds: d.getSeconds() };
}

/** Two digits. */
export const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** `HH:MM:SS` in the chosen zone (local by default). */
export function formatTime(ts: number): string {
  const c = clockOf(ts);
  return `${pad2(c.hours)}:${pad2(c.minutes)}:${pad2(c.seconds)}`;
}

/** `YYYY-MM-DD HH:MM` in the chosen zone. */
export function formatDateTime(ts: number): string {
  const c = clockOf(ts);
  return `${c.year}-${pad2(c.month + 1)}-${pad2(c.day)} ${pad2(c.hours)}:${pad2(c.minutes)}`;
}

/** `up`, `down` or `flat` for a signed number (CSS classes). */
export function direction(x: number): 'up' | 'down' | 'flat' {
  return x > 0 ? 'up' : x < 0 ? 'down' : 'flat';
}
