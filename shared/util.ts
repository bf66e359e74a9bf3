/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Deterministic 32-bit hash of a string (FNV-1a): jitter and test handlers derive from it. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Jitter of a run: deterministic in [0, jitter) from its id, so a re-send keeps the same instant. */
export function jitterMs(runId: string, jitter: number): number {
  return jitter > 0 ? hash32(runId) % jitter : 0;
}

/** `2026-12-01 02:00:00Z`: an ISO time shortened for a table (milliseconds only when not zero). */
export function shortTime(isoTime: string | undefined | null): string {
  if (!isoTime) return '-';
  const ms = Date.parse(isoTime);
  if (Number.isNaN(ms)) return isoTime;
  const text = new Date(ms).toISOString().replace('T', ' ');
  return text.endsWith('.000Z') ? text.replace('.000Z', 'Z') : text;
}
