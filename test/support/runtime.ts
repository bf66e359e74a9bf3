/**
 * Test helpers: a LocalRuntime on the run's shared emulators with a clock the test moves by hand.
 */
import { inject } from 'vitest';
import { LocalRuntime, type LocalRuntimeOptions } from '../../local/runtime.js';
import type { JobDefinition } from '../../shared/jobs/types.js';
import { putJob } from '../../shared/ops/jobs.js';
import type { RunItem } from '../../shared/store/model.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';

/** A clock that only moves when told to. */
export class ManualClock {
  constructor(public now: number) {}
  readonly fn = (): number => this.now;
  advance(ms: number): number {
    this.now += ms;
    return this.now;
  }
  set(ms: number): void {
    this.now = ms;
  }
}

export async function testRuntime(options: Partial<LocalRuntimeOptions> = {}): Promise<LocalRuntime> {
  return LocalRuntime.start({ endpoints: inject('endpoints'), ...options });
}

/** A job input with the fields a test usually does not care about filled in. */
export function job(
  id: string,
  fields: Partial<Record<keyof JobDefinition, unknown>> & { schedule: string | string[] },
): Record<string, unknown> {
  return { id, target: { type: 'handler', name: 'noop' }, ...fields };
}

export async function put(runtime: LocalRuntime, input: Record<string, unknown>, now: number) {
  return putJob(runtime.store, input, now, { pools: runtime.pools.map((pool) => pool.name) });
}

export function byStatus(runs: RunItem[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const run of runs) {
    const key = run.reason ? `${run.status}(${run.reason})` : run.status;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

export const T0 = Date.parse('2026-12-01T00:00:00.000Z');

/** Handlers with `count`, which counts the starts of each run id (to check that none starts twice). */
export function countingHandlers() {
  const starts = new Map<string, number>();
  const handlers = builtinHandlers();
  handlers.register('count', (context) => {
    starts.set(context.runId, (starts.get(context.runId) ?? 0) + 1);
  });
  return { starts, handlers };
}
