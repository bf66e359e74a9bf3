/** Lookahead for a tick interval: the interval plus a quarter of it (at least a second), ≤ 900 s. */
export function lookaheadFor(tickMs: number): number {
  return Math.min(900_000, tickMs + Math.max(1_000, Math.round(tickMs / 4)));
}
