/** A rate or count for benchmark output: `1.23 M`, `45.6 k`, `789`. */
export function fmt(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}
