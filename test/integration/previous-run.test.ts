/**
 * The previous run, handed on (issue 20 feature 6), against DynamoDB Local and the SQS emulator: each run
 * context carries the job's last scheduled run that started and ended, as the job item held it just
 * before the start, with an asynchronous completion's output when it is small.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { triggerJob } from '../../shared/ops/jobs.js';
import { silentLog } from '../../shared/runs/lifecycle.js';
import { PREVIOUS_OUTPUT_BYTES } from '../../shared/store/model.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import type { RunContext } from '../../shared/targets/types.js';
import { type AsyncSetup, asyncSetup, handedOff, MINUTE, takeOne } from '../support/async.js';
import { job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
let setup: AsyncSetup | undefined;
afterEach(async () => {
  await runtime?.stop();
  await setup?.close();
  runtime = undefined;
  setup = undefined;
});

const at = (ms: number) => new Date(ms).toISOString();

/** A handler `record` that keeps every context it is given and fails while `failing` is set. */
function recordingHandlers() {
  const seen: RunContext[] = [];
  const control = { failing: false };
  const handlers = builtinHandlers();
  handlers.register('record', (context) => {
    seen.push(context);
    if (control.failing) throw new Error('export failed');
  });
  return { seen, control, handlers };
}

describe('previous: the last scheduled run, handed on', () => {
  it('hands each run the last scheduled run that ended, with its status and reason; manual runs are not it', async () => {
    // prepare
    const clock = new ManualClock(T0);
    const { seen, control, handlers } = recordingHandlers();
    runtime = await testRuntime({ clock: clock.fn, handlers, tick: { lookaheadMs: 0 } });
    await put(
      runtime,
      job('export', {
        schedule: 'rate(1 minute)',
        target: { type: 'handler', name: 'record' },
        retry: { maxAttempts: 1 },
      }),
      T0,
    );
    const deps = {
      store: runtime.store,
      dispatcher: runtime.dispatcher,
      signals: runtime.signals,
      pools: runtime.routing,
      log: silentLog,
    };

    // act: slot 1 succeeds; slot 2 fails; a manual run; slot 3
    await runtime.tick();
    await runtime.drain();
    clock.advance(MINUTE);
    control.failing = true;
    await runtime.tick();
    await runtime.drain();
    control.failing = false;
    clock.advance(10_000);
    await triggerJob(deps, 'export', clock.now);
    await runtime.drain();
    clock.advance(MINUTE - 10_000);
    await runtime.tick();
    await runtime.drain();

    // assert
    expect(seen.map((c) => c.runId)).toEqual([
      `export@${at(T0)}`,
      `export@${at(T0 + MINUTE)}`,
      `export@manual-${at(T0 + MINUTE + 10_000)}`,
      `export@${at(T0 + 2 * MINUTE)}`,
    ]);
    expect(seen[0]!.previous).toBeUndefined();
    expect(seen[1]!.previous).toEqual({
      runId: `export@${at(T0)}`,
      scheduledAt: at(T0),
      status: 'succeeded',
      reason: 'ok',
      finishedAt: at(T0),
    });
    const failed = {
      runId: `export@${at(T0 + MINUTE)}`,
      scheduledAt: at(T0 + MINUTE),
      status: 'failed',
      reason: 'error',
      finishedAt: at(T0 + MINUTE),
    };
    // A manual run gets the previous scheduled run too, and does not become it.
    expect(seen[2]!.previous).toEqual(failed);
    expect(seen[3]!.previous).toEqual(failed);
  });

  it('keeps the later slot when runs end out of slot order (overlap allow)', async () => {
    // prepare
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('parallel', { schedule: 'rate(1 minute)', overlap: 'allow' }), T0);
    const later = {
      runId: `parallel@${at(T0 + MINUTE)}`,
      scheduledAt: at(T0 + MINUTE),
      status: 'succeeded' as const,
      reason: 'ok' as const,
      finishedAt: at(T0 + 2 * MINUTE),
    };
    const earlier = {
      ...later,
      runId: `parallel@${at(T0)}`,
      scheduledAt: at(T0),
      finishedAt: at(T0 + 3 * MINUTE),
    };
    const record = (run: typeof later, now: number) =>
      runtime!.store.recordOutcome(
        'parallel',
        { ...run, key: `${run.runId}#1`, at: run.finishedAt },
        { failed: false, terminal: true, pauseAfterFailures: 0, now, lastRun: run },
      );

    // act
    await record(later, T0 + 2 * MINUTE);
    await record(earlier, T0 + 3 * MINUTE);

    // assert: both counted, the later slot kept as the previous run
    const item = await runtime.store.getJob('parallel');
    // The job item keeps the slot, not the run id (`jobId@slot`: derived when the run is handed on).
    const { runId: _derived, ...stored } = later;
    expect(item?.lastRun).toEqual(stored);
    expect(item?.counts).toEqual({ succeeded: 2 });
    expect(item?.lastOutcome?.runId).toBe(earlier.runId);
  });
});

describe('previous: an asynchronous completion hands on its output', () => {
  it('carries an output of at most 1 KiB to the next run; a larger one only as its size', async () => {
    // prepare
    setup = await asyncSetup({});
    const first = await handedOff(setup);
    setup.clock.advance(MINUTE);
    await setup.client.complete(first.runId, first.completionToken, {
      exportedUntil: '2026-12-01',
      rows: 42,
    });

    // act: the next slot (10 minutes later) is handed off with the first one's output
    setup.clock.set(T0 + 10 * MINUTE);
    await setup.rt.tick();
    await setup.rt.drain();
    const second = (await takeOne(setup.worker)) as RunContext & { completionToken: string };
    const big = { rows: 'x'.repeat(PREVIOUS_OUTPUT_BYTES) };
    setup.clock.advance(MINUTE);
    await setup.client.complete(second.runId, second.completionToken, big);
    setup.clock.set(T0 + 20 * MINUTE);
    await setup.rt.tick();
    await setup.rt.drain();
    const third = (await takeOne(setup.worker)) as RunContext;

    // assert
    expect(second.previous).toEqual({
      runId: first.runId,
      scheduledAt: at(T0),
      status: 'succeeded',
      reason: 'ok',
      finishedAt: at(T0 + MINUTE),
      output: { exportedUntil: '2026-12-01', rows: 42 },
    });
    expect(third.previous).toEqual({
      runId: second.runId,
      scheduledAt: at(T0 + 10 * MINUTE),
      status: 'succeeded',
      reason: 'ok',
      finishedAt: at(T0 + 11 * MINUTE),
      outputBytes: JSON.stringify(big).length,
    });
    // The run record keeps the whole output.
    expect((await setup.rt.store.getRun(second.runId))?.output).toEqual(big);
  });
});
