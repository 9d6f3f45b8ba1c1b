/** An amount of money in whole cents (the nearest double to it, so it prints without float noise). */
export function money(x: number): number {
  return Math.round(x * 100) / 100 + 0;
}

/** A price or average cost to 6 decimals (finer than any tick size), without float noise. */
export function price6(x: number): number {
  return Math.round(x * 1e6) / 1e6 + 0;
}

/** A holding of one symbol (long only: paper trading does not short). */
export interface Position {
  readonly symbol: string;
  readonly quantity: number;
  /** Volume-weighted cost of the shares held; 0 when flat. */
  readonly averageCost: number;
  /** P&L locked in by sells. */
  readonly realisedPnl: number;
}

/** A position after a fill (buy raises the average cost, sell realises P&L at the average cost). */
export function applyFill(p: Position, side: 'buy' | 'sell', quantity: number, price: number): Position {
  if (side === 'buy') {
    const q = p.quantity + quantity;
    return { ...p, quantity: q, averageCost: (p.quantity * p.averageCost + quantity * price) / q };
  }
  const q = p.quantity - quantity;
  return { ...p, quantity: q, averageCost: q === 0 ? 0 : p.averageCost, realisedPnl: p.realisedPnl + (price - p.averageCost) * quantity };
}

/** Unrealised P&L of a position at a mark price. */
export function unrealisedPnl(p: Position, mark: number): number {
  return (mark - p.averageCost) * p.quantity;
}

/** Return, max drawdown and volatility of an equity curve. */
export interface Performance {
  /** last / first − 1. */
  readonly totalReturn: number;
  /** Largest fall from a running peak, as a fraction of that peak (0 … 1). */
  readonly maxDrawdown: number;
  /** Sample standard deviation of the step-to-step simple returns (0 with fewer than two returns). */
  readonly volatility: number;
}

/** Performance of an equity curve (values in time order). */
export function performance(equity: readonly number[]): Performance {
  if (equity.length === 0) return { totalReturn: 0, maxDrawdown: 0, volatility: 0 };
  const first = equity[0]!;
  let peak = first;
  let maxDrawdown = 0;
  const returns: number[] = [];
  for (let i = 0; i < equity.length; i++) {
    const v = equity[i]!;
    if (v > peak) peak = v;
    if (peak > 0 && (peak - v) / peak > maxDrawdown) maxDrawdown = (peak - v) / peak;
    if (i > 0 && equity[i - 1]! !== 0) returns.push(v / equity[i - 1]! - 1);
  }
  let volatility = 0;
  if (returns.length >= 2) {
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    volatility = Math.sqrt(returns.reduce((a, r) => a + (r - mean) ** 2, 0) / (returns.length - 1));
  }
  return { totalReturn: first === 0 ? 0 : equity[equity.length - 1]! / first - 1, maxDrawdown, volatility };
}
