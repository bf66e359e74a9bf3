/**
 * Operations (SPEC §4) against DynamoDB Local and the SQS emulator: put keeps the cadence, manual
 * trigger and replay never move the schedule, pause/resume keeps the anchor, backfill is bounded and
 * idempotent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { JobNotFoundError, JobValidationError, PunctualError } from '../../shared/errors.js';
import { loadJobsFile } from '../../shared/jobs/file.js';
import {
  deleteJob,
  describeJob,
  listJobs,
  pauseJob,
  putJob,
  resumeJob,
  triggerJob,
} from '../../shared/ops/jobs.js';
import { backfill, listRuns, replayRun, showRun } from '../../shared/ops/runs.js';
import type { JobItem } from '../../shared/store/model.js';
import { byStatus, job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

function deps(rt: LocalRuntime) {
  return {
    store: rt.store,
    dispatcher: rt.dispatcher,
    signals: rt.signals,
    pools: rt.routing,
    log: { debug() {}, info() {}, warn() {}, error() {} },
  };
}

function scheduleState(item: JobItem | undefined) {
  return { anchor: item?.anchor, cursor: item?.cursor, nextRunAt: item?.nextRunAt, dueAt: item?.dueAt };
}

describe('put', () => {
  it('creates a rate job anchored at creation, due at once', async () => {
    runtime = await testRuntime();
    const result = await put(runtime, job('fresh', { schedule: 'rate(5 minutes)' }), T0 + 400);
    expect(result.created).toBe(true);
    expect(scheduleState(result.job)).toEqual({
      anchor: '2026-12-01T00:00:01.000Z',
      cursor: '2026-12-01T00:00:00.999Z',
      nextRunAt: '2026-12-01T00:00:01.000Z',
      dueAt: '2026-12-01T00:00:01.000Z',
    });
  });

  it('keeps the anchor and the cursor when only the target changes', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('edit', { schedule: 'rate(1 minute)' }), T0);
    await runtime.tick();
    const before = await runtime.store.getJob('edit');

    const result = await put(
      runtime,
      job('edit', { schedule: 'rate(1 minute)', target: { type: 'handler', name: 'log' } }),
      T0 + 30_000,
    );

    expect(result.changes).toEqual(['target']);
    // The tick left the due key a minute behind (a frequent job keeps it: docs/data-model.md); the put
    // writes the exact slot. The schedule itself is untouched.
    expect(before?.dueAt).toBe('2026-12-01T00:00:00.000Z');
    expect({ ...scheduleState(result.job), dueAt: undefined }).toEqual({
      ...scheduleState(before),
      dueAt: undefined,
    });
    expect(result.job?.dueAt).toBe(result.job?.nextRunAt);
  });

  it('an unchanged put is a no-op: "unchanged", no write, whatever order DynamoDB gives attributes back', async () => {
    runtime = await testRuntime();
    const { jobs } = await loadJobsFile('examples/jobs.yaml');
    const pools = runtime.pools.map((pool) => pool.name);
    for (const definition of jobs)
      await putJob(runtime.store, { ...definition, pool: 'default' }, T0, { pools });
    for (const definition of jobs) {
      const before = await runtime.store.getJobRaw(definition.id);
      // Keys in another order than the stored item's: a canonical comparison does not see them as a change.
      const reordered = Object.fromEntries(Object.entries({ ...definition, pool: 'default' }).reverse());
      const result = await putJob(runtime.store, reordered, T0 + 60_000, { pools });
      expect({ id: definition.id, changes: result.changes }).toEqual({ id: definition.id, changes: [] });
      const after = await runtime.store.getJobRaw(definition.id);
      expect(after?.version).toBe(before?.version);
      expect(after?.updatedAt).toBe(before?.updatedAt);
    }
  });

  it('warns that hmacSecretEnv is deprecated, naming the hmacSecret to write instead', async () => {
    runtime = await testRuntime();
    const target = { type: 'http', url: 'https://hooks.example.com/in', hmacSecretEnv: 'billing-hook' };
    const result = await put(runtime, job('old-style', { schedule: 'rate(1 hour)', target }), T0);
    expect(result.warnings).toEqual([
      'target.hmacSecretEnv is deprecated and goes in the next release: write hmacSecret: billing-hook ' +
        '(it names the same declared secret, never an environment variable; docs/security.md)',
    ]);
  });

  it('re-anchors when the schedule changes, from now on', async () => {
    runtime = await testRuntime();
    await put(runtime, job('resched', { schedule: 'rate(1 minute)' }), T0);
    const result = await put(runtime, job('resched', { schedule: 'rate(1 hour)' }), T0 + 90_000);
    expect(result.changes).toContain('schedule');
    expect(result.job.anchor).toBe('2026-12-01T00:01:30.000Z');
    expect(result.job.nextRunAt).toBe('2026-12-01T01:01:30.000Z');
  });

  it('refuses a job naming a pool that does not exist, naming the pool', async () => {
    runtime = await testRuntime();
    await expect(
      put(runtime, job('nopool', { schedule: 'rate(1 minute)', pool: 'gpu' }), T0),
    ).rejects.toThrow(/pool "gpu": no such pool; this deployment has default/);
  });

  it('refuses an invalid job with every violation and writes nothing', async () => {
    runtime = await testRuntime();
    const error = await put(
      runtime,
      { id: 'Bad Id', schedule: 'rate(0 minutes)', target: { type: 'ftp' } },
      T0,
    ).catch((e) => e);
    expect(error).toBeInstanceOf(JobValidationError);
    expect((error as JobValidationError).violations.length).toBeGreaterThanOrEqual(3);
    expect(await listJobs(runtime.store)).toEqual([]);
  });
});

describe('manual trigger', () => {
  it('runs the job once now as jobId@manual-<time> and leaves the schedule unchanged', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('manual', { schedule: 'rate(1 hour)' }), T0);
    await runtime.tick();
    await runtime.drain();
    const before = await runtime.store.getJob('manual');

    clock.set(T0 + 5_000);
    const run = await triggerJob(deps(runtime), 'manual', clock.now);
    const outcomes = await runtime.drain();

    expect(run.runId).toBe('manual@manual-2026-12-01T00:00:05.000Z');
    expect(outcomes).toEqual(['succeeded']);
    const after = await runtime.store.getJob('manual');
    expect(scheduleState(after)).toEqual(scheduleState(before));
    expect(after?.version).toBe(before?.version);
  });

  it('names the id and suggests jobs list for an unknown job', async () => {
    runtime = await testRuntime();
    await expect(triggerJob(deps(runtime), 'ghost', T0)).rejects.toThrow(JobNotFoundError);
    await expect(triggerJob(deps(runtime), 'ghost', T0)).rejects.toThrow(
      /job "ghost" not found; `punctual jobs list`/,
    );
  });
});

describe('replay', () => {
  it('replays a failed run under its own id, keeps its attempts, and leaves the schedule unchanged', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(
      runtime,
      job('replayed', {
        schedule: 'rate(1 hour)',
        retry: { maxAttempts: 1, backoff: '1s' },
        target: { type: 'handler', name: 'fail' },
        payload: { message: 'first time fails', succeedOnAttempt: 2 },
      }),
      T0,
    );
    await runtime.tick();
    expect(await runtime.drain()).toEqual(['failed']);
    const before = await runtime.store.getJob('replayed');
    const [failed] = await runtime.allRuns();

    await replayRun(deps(runtime), failed!.runId, T0 + 60_000);
    const outcomes = await runtime.drain();

    expect(outcomes).toEqual(['succeeded']);
    const run = await showRun(runtime.store, failed!.runId);
    expect(run.status).toBe('succeeded');
    expect(run.replays).toBe(1);
    expect(run.attempts.map((attempt) => attempt.status)).toEqual(['failed', 'succeeded']);
    expect(scheduleState(await runtime.store.getJob('replayed'))).toEqual(scheduleState(before));
  });

  it('refuses to replay a run that succeeded', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('ok', { schedule: 'rate(1 hour)' }), T0);
    await runtime.tick();
    await runtime.drain();
    const [run] = await runtime.allRuns();
    await expect(replayRun(deps(runtime), run!.runId, T0 + 1000)).rejects.toThrow(
      /is succeeded; only missed, skipped, failed, cancelled/,
    );
  });
});

describe('pause and resume', () => {
  it('records the slots that passed while paused as skipped(paused) and keeps the anchor', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('napper', { schedule: 'rate(1 minute)' }), T0);
    await runtime.tick();
    await runtime.drain();

    const paused = await pauseJob(runtime.store, 'napper', T0 + 10_000, 'maintenance window');
    clock.set(T0 + 5 * 60_000 + 10_000);
    const whilePaused = await runtime.tick();
    await resumeJob(runtime.store, 'napper', clock.now);
    await runtime.tick();

    expect(paused.enabled).toBe(false);
    expect(paused.note).toBe('maintenance window');
    expect(paused.dueAt).toBeUndefined();
    expect(whilePaused.jobsSeen).toBe(0);
    const runs = await runtime.allRuns();
    expect(byStatus(runs)).toEqual({ 'succeeded(ok)': 1, 'skipped(paused)': 5 });
    const item = await runtime.store.getJob('napper');
    expect(item?.anchor).toBe('2026-12-01T00:00:00.000Z');
    expect(item?.nextRunAt).toBe('2026-12-01T00:06:00.000Z');
    expect(item?.note).toBeUndefined();
  });

  it('with replay, hands the paused slots to the catch-up policy instead', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('napper2', { schedule: 'rate(1 minute)', catchUp: 'latest' }), T0);
    await runtime.tick();
    await pauseJob(runtime.store, 'napper2', T0 + 10_000);
    clock.set(T0 + 3 * 60_000 + 10_000);
    await resumeJob(runtime.store, 'napper2', clock.now, { replay: true });
    await runtime.tick();

    expect(byStatus(await runtime.allRuns())).toEqual({ dispatched: 2, 'missed(coalesced)': 2 });
  });
});

describe('backfill', () => {
  it('runs every slot of a past window once, and a second backfill creates nothing', async () => {
    runtime = await testRuntime();
    const now = Date.now();
    await put(
      runtime,
      job('history', { schedule: 'rate(1 minute)', startAt: new Date(now - 3_600_000).toISOString() }),
      now,
    );
    const progress: number[] = [];

    const first = await backfill(
      deps(runtime),
      'history',
      { from: now - 3_600_000, to: now - 3_000_000 },
      now,
      {
        onProgress: (done) => progress.push(done),
      },
    );
    const second = await backfill(
      deps(runtime),
      'history',
      { from: now - 3_600_000, to: now - 3_000_000 },
      now,
    );
    const outcomes = await runtime.drain();

    expect(first).toEqual({ slots: 10, created: 10, existing: 0, excluded: 0 });
    expect(second).toEqual({ slots: 10, created: 0, existing: 10, excluded: 0 });
    expect(progress.at(-1)).toBe(10);
    expect(outcomes.filter((outcome) => outcome === 'succeeded')).toHaveLength(10);
  });

  it('refuses a window larger than the limit before writing anything', async () => {
    runtime = await testRuntime();
    const now = Date.now();
    await put(runtime, job('huge', { schedule: 'rate(1 second)' }), now);
    await expect(
      backfill(deps(runtime), 'huge', { from: now - 3_600_000, to: now - 1000 }, now),
    ).rejects.toThrow(/more than 1000 slots of "huge"; narrow it or raise --limit/);
    expect(await runtime.allRuns()).toEqual([]);
  });
});

describe('describe, list and delete', () => {
  it('describes a job: definition, state, last runs, next 10 slots, counts', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('described', { schedule: 'rate(1 minute)' }), T0);
    await runtime.tick();
    await runtime.drain();

    const description = await describeJob(runtime.store, 'described', T0 + 1000);

    expect(description.definition?.schedule).toBe('rate(1 minute)');
    expect(description.lastRuns.map((run) => run.status)).toEqual(['succeeded']);
    expect(description.nextSlots).toHaveLength(10);
    expect(description.nextSlots[0]).toBe('2026-12-01T00:01:00.000Z');
    expect(description.counts).toEqual({ succeeded: 1 });
  });

  it('lists what happened, newest first, apart from the slots sent that have not started (upcoming)', async () => {
    const clock = new ManualClock(T0);
    // A 5-minute lookahead: the tick sends the next slots ahead, as dispatched runs that have not started.
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 5 * 60_000 } });
    await put(runtime, job('ahead', { schedule: 'rate(1 minute)' }), T0);
    await runtime.tick();
    await runtime.drain();

    const happened = await listRuns(runtime.store, { phase: 'happened' });
    const upcoming = await listRuns(runtime.store, { phase: 'upcoming' });
    const all = await listRuns(runtime.store, {});

    expect(happened.map((run) => run.status)).toEqual(['succeeded']);
    expect(upcoming.length).toBeGreaterThanOrEqual(4);
    expect(upcoming.every((run) => run.status === 'dispatched')).toBe(true);
    const slots = upcoming.map((run) => run.scheduledAt);
    expect(slots).toEqual([...slots].sort()); // soonest first
    expect(all.length).toBe(happened.length + upcoming.length);
    expect(all[0]?.scheduledAt).toBe(slots.at(-1)); // both, newest first
  });

  it('cancels a claimed run of a deleted job, and lists runs across jobs', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('doomed-job', { schedule: 'rate(1 minute)' }), T0);
    await put(runtime, job('other-job', { schedule: 'rate(1 minute)' }), T0);
    await runtime.tick();
    await deleteJob(runtime.store, 'doomed-job', T0);

    await runtime.drain();
    const runs = await listRuns(runtime.store, {});

    expect(runs.map((run) => [run.jobId, run.status, run.reason]).sort()).toEqual([
      ['other-job', 'succeeded', 'ok'],
    ]);
    const doomed = await listRuns(runtime.store, { jobId: 'doomed-job' });
    expect(doomed.map((run) => [run.status, run.reason])).toEqual([['cancelled', 'job-deleted']]);
    await expect(deleteJob(runtime.store, 'doomed-job', T0)).rejects.toThrow(PunctualError);
  });
});
