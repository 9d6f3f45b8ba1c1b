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

/** `HH:MM:SS` in local time. */
export function formatTime(ts: number): string {
  const d = new Date(ts);
  const two = (n: number) => (n < 10 ? `0${n}` : String(n));
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** `up`, `down` or `flat` for a signed number (CSS classes). */
export function direction(x: number): 'up' | 'down' | 'flat' {
  return x > 0 ? 'up' : x < 0 ? 'down' : 'flat';
}
