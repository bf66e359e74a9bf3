/**
 * A pool with `batchSize` > 1 on DynamoDB Local and the SQS emulator: the records of one batch run side
 * by side in one invocation of the executor handler, each settled on its own (partial batch response).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import { byStatus, job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

describe('an executor pool that batches', () => {
  it('runs a batch side by side, never more than batchSize at once per invocation, and settles each record', async () => {
    const clock = new ManualClock(T0);
    const handlers = builtinHandlers();
    let active = 0;
    let peak = 0;
    const overlap = async () => {
      active += 1;
      peak = Math.max(peak, active);
      // Long enough for every record of the batch to have started: they run in parallel, not in turn.
      await new Promise((resolve) => setTimeout(resolve, 150));
      active -= 1;
    };
    handlers.register('overlapping', overlap);
    handlers.register('broken', async () => {
      await overlap();
      throw new Error('broken on purpose');
    });
    runtime = await testRuntime({
      clock: clock.fn,
      handlers,
      tick: { lookaheadMs: 0 },
      jobs: {
        jobs: [],
        pools: { default: { concurrency: 2, timeout: 60_000, memorySize: 512, batchSize: 5 } },
      },
    });
    for (let i = 0; i < 11; i++)
      await put(
        runtime,
        job(`b-${i}`, { schedule: 'rate(1 hour)', target: { type: 'handler', name: 'overlapping' } }),
        T0,
      );
    await put(
      runtime,
      job('b-broken', { schedule: 'rate(1 hour)', target: { type: 'handler', name: 'broken' } }),
      T0,
    );

    expect((await runtime.tick()).slotsDispatched).toBe(12);
    const outcomes = await runtime.drain();

    // 12 messages in batches of 5, 5 and 2 (drain is one poller): 5 at once, never 6.
    expect(outcomes).toHaveLength(12);
    expect(peak).toBe(5);
    const runs = await runtime.allRuns();
    expect(runs).toHaveLength(12);
    const broken = runs.find((run) => run.jobId === 'b-broken')!;
    // The failing record of a batch gets its own fate (a retry is owed); the others succeeded.
    expect(broken.status).toBe('retrying');
    expect(broken.lastError).toContain('broken on purpose');
    expect(byStatus(runs.filter((run) => run.jobId !== 'b-broken'))).toEqual({ 'succeeded(ok)': 11 });
  }, 120_000);
});
