/**
 * The defects an adversarial review of the pipeline reproduced (issue 10), each as the interleaving that
 * broke a guarantee, against DynamoDB Local and the SQS emulator: first slots of a new job, slots around a
 * pause, a pause or an edit lost to a concurrent operation, a job lost from the due index, overlap across
 * retries, a replay delivered twice, a run record outgrowing DynamoDB's item limit, an attempt taken over
 * while it was still alive.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { pauseJob, putJob, resumeJob } from '../../shared/ops/jobs.js';
import { replayRun } from '../../shared/ops/runs.js';
import { LEASE_MARGIN_MS } from '../../shared/runs/execute.js';
import { messageFor } from '../../shared/runs/lifecycle.js';
import { ATTEMPTS_KEPT, ERROR_CHARS, jobKey, type RunItem } from '../../shared/store/model.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import { executeBody, executor, executorDeps, gate, until } from '../support/executor.js';
import { byStatus, job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

const S = 1_000;

function runAt(runs: RunItem[], at: number): RunItem | undefined {
  return runs.find((run) => run.scheduledAt === new Date(at).toISOString());
}

async function rawJob(rt: LocalRuntime, jobId: string): Promise<Record<string, unknown>> {
  const { Item } = await rt.store.doc.send(
    new GetCommand({ TableName: rt.state.tableName, Key: jobKey(jobId), ConsistentRead: true }),
  );
  return Item ?? {};
}

describe('1: first slots after a create, an edit or a resume', () => {
  it('a new rate(5 seconds) job sends its slots at once: the first starts within a second, none is missed', async () => {
    // The tick fires every 60 s (lookahead 75 s): without the claim at put time, the tick after the put
    // would find six slots past due and coalesce them into misses.
    const clock = new ManualClock(T0 + 29_500);
    runtime = await testRuntime({ clock: clock.fn, tickMs: 60_000 });
    const rt = runtime;
    const result = await putJob(rt.store, job('first', { schedule: 'rate(5 seconds)' }), clock.now, {
      pools: ['default'],
      claim: rt.claim,
    });
    // Slots T0+30 s … T0+100 s are on their way, each with its delay.
    expect(result.claimed).toMatchObject({ dispatched: 15, recorded: 0 });
    clock.set(T0 + 30_200);
    expect(await rt.drain()).toEqual(['succeeded']); // the first slot, sent with no delay
    clock.set(T0 + 60_000);
    const tick = await rt.tick();

    expect(tick).toMatchObject({ slotsRecorded: 0, slotsDispatched: 7 });
    const runs = await rt.allRuns();
    const first = runs[0]!;
    expect(first).toMatchObject({ scheduledAt: new Date(T0 + 30_000).toISOString(), status: 'succeeded' });
    expect(Date.parse(first.startedAt!) - Date.parse(first.scheduledAt)).toBe(200);
    expect(runs.filter((run) => run.status === 'missed')).toEqual([]);
    expect(runs).toHaveLength(22);
  });

  it('a create whose writes outlast a period never records its own first slots missed (issue 17 defect 9)', async () => {
    // putJob anchors the job at `now`; its writes then take 12 s (a slow or throttled store), so by the
    // claim's clock the slots at +0.5 s, +5.5 s and +10.5 s have passed. The claim plans from the create's
    // instant: they are sent at once (late), not recorded missed(catch-up-skip).
    const clock = new ManualClock(T0 + 29_500);
    runtime = await testRuntime({ clock: clock.fn, tickMs: 60_000 });
    const rt = runtime;
    const createdAt = clock.now;
    clock.advance(12_000);
    const result = await putJob(rt.store, job('slow-create', { schedule: 'rate(5 seconds)' }), createdAt, {
      pools: ['default'],
      claim: rt.claim,
    });

    expect(result.claimed).toMatchObject({ recorded: 0 });
    expect(result.claimed?.dispatched).toBeGreaterThanOrEqual(3);
    const runs = await rt.allRuns();
    expect(runs.filter((run) => run.status === 'missed')).toEqual([]);
    expect(runs[0]).toMatchObject({ scheduledAt: new Date(T0 + 30_000).toISOString(), status: 'dispatched' });
    // The late slots are delivered at once, and the next tick records nothing missed either.
    expect((await rt.drain()).slice(0, 3)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    clock.set(T0 + 60_000);
    expect(await rt.tick()).toMatchObject({ slotsRecorded: 0 });
  });

  it('a resume claims the slots after it at once and records the paused ones skipped(paused)', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 10 * S } });
    const rt = runtime;
    await putJob(rt.store, job('napper', { schedule: 'rate(5 seconds)' }), T0, {
      pools: ['default'],
      claim: rt.claim,
    });
    clock.set(T0 + 2 * S);
    await pauseJob(rt.store, 'napper', clock.now);
    clock.set(T0 + 32 * S);
    await resumeJob(rt.store, 'napper', clock.now, { claim: rt.claim });

    const runs = await rt.allRuns();
    expect(runs.map((run) => `${(Date.parse(run.scheduledAt) - T0) / S}:${run.status}`)).toEqual([
      '0:dispatched',
      '5:dispatched',
      '10:dispatched',
      '15:skipped',
      '20:skipped',
      '25:skipped',
      '30:skipped',
      '35:dispatched',
      '40:dispatched',
    ]);
  });

  it('an edit that re-anchors sends the new schedule’s first slots at once', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 10 * S } });
    const rt = runtime;
    const claim = { pools: ['default'], claim: rt.claim };
    await putJob(rt.store, job('edited', { schedule: 'rate(1 hour)' }), T0, claim);
    clock.set(T0 + 90 * S);
    const result = await putJob(rt.store, job('edited', { schedule: 'rate(4 seconds)' }), clock.now, claim);

    // The new schedule starts from the edit (its first slot after now), and its slots are on their way.
    expect(result.claimed).toMatchObject({ dispatched: 2, recorded: 0 });
    const runs = await rt.allRuns();
    expect(runs.map((run) => (Date.parse(run.scheduledAt) - T0) / S)).toEqual([0, 94, 98]);
  });
});

describe('2: slots around a pause', () => {
  it('a slot after the resume runs; a slot whose time came while paused is cancelled, even when delivered late', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 30 * S } });
    const rt = runtime;
    await put(rt, job('p', { schedule: 'rate(5 seconds)' }), T0);
    await rt.tick(); // claims T0 … T0+30 s before the pause
    const execute = executor(rt, clock, builtinHandlers());
    const runs = await rt.allRuns();
    clock.set(T0 + 7 * S);
    await pauseJob(rt.store, 'p', clock.now);
    clock.set(T0 + 10 * S);
    expect(await execute(runAt(runs, T0 + 10 * S)!)).toBe('cancelled');
    clock.set(T0 + 19 * S);
    await resumeJob(rt.store, 'p', clock.now);
    clock.set(T0 + 20 * S);
    expect(await execute(runAt(runs, T0 + 20 * S)!)).toBe('succeeded');
    clock.set(T0 + 21 * S); // the 15 s slot's message arrives late, after the resume
    expect(await execute(runAt(runs, T0 + 15 * S)!)).toBe('cancelled');
    clock.set(T0 + 25 * S);
    expect(await execute(runAt(runs, T0 + 25 * S)!)).toBe('succeeded');

    const after = await rt.allRuns();
    expect(runAt(after, T0 + 10 * S)).toMatchObject({ status: 'cancelled', reason: 'job-paused' });
    expect(runAt(after, T0 + 15 * S)).toMatchObject({ status: 'cancelled', reason: 'job-paused' });
    expect(runAt(after, T0 + 20 * S)).toMatchObject({ status: 'succeeded' });
    expect(runAt(after, T0 + 25 * S)).toMatchObject({ status: 'succeeded' });
  });
});

describe('pending records survive a second pause', () => {
  it('a job paused again before its skipped(paused) records were all written still gets every record', async () => {
    const clock = new ManualClock(T0);
    // Two records a tick: a long pause leaves most of its records pending after the resume's claim.
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0, maxSlotsPerJob: 2 } });
    const rt = runtime;
    await putJob(rt.store, job('twice', { schedule: 'rate(5 seconds)' }), T0, {
      pools: ['default'],
      claim: rt.claim,
    });
    await pauseJob(rt.store, 'twice', T0 + S);
    clock.set(T0 + 60 * S);
    await resumeJob(rt.store, 'twice', clock.now, { claim: rt.claim });
    clock.set(T0 + 61 * S);
    await pauseJob(rt.store, 'twice', clock.now);
    for (let i = 0; i < 8; i++) {
      clock.advance(S);
      await rt.tick();
    }

    const runs = await rt.allRuns();
    const skipped = runs
      .filter((run) => run.status === 'skipped')
      .map((run) => (Date.parse(run.scheduledAt) - T0) / S);
    expect(skipped).toEqual([5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]);
    const stored = await rt.store.getJob('twice');
    expect(stored).toMatchObject({ enabled: false });
    expect(stored?.deferred ?? []).toEqual([]);
    expect(stored?.dueAt).toBeUndefined(); // out of the due index once nothing is left to write
    expect(runs.filter((run) => run.status === 'dispatched').map((run) => run.scheduledAt)).toEqual([
      new Date(T0).toISOString(),
    ]);
  });
});

describe('2b: no scheduled start after a pause is acknowledged', () => {
  it('a pause that lands between the executor’s read of the job and its start write cancels the run', async () => {
    const clock = new ManualClock(T0);
    const g = gate();
    runtime = await testRuntime({ clock: clock.fn, handlers: g.handlers, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(
      rt,
      job('late-pause', { schedule: 'rate(1 hour)', target: { type: 'handler', name: 'gate' } }),
      T0,
    );
    await rt.tick();
    const [run] = await rt.allRuns();
    const start = rt.store.startRun.bind(rt.store);
    rt.store.startRun = async (...args) => {
      await pauseJob(rt.store, 'late-pause', clock.now);
      return start(...args);
    };
    expect(await executor(rt, clock, g.handlers)(run!)).toBe('cancelled');
    expect(g.started).toEqual([]);
    expect(await rt.store.getRun(run!.runId)).toMatchObject({ status: 'cancelled', reason: 'job-paused' });
  });
});

describe('3 and 8: concurrent operations never undo each other', () => {
  it('a pause that lands while a put is being written survives the put', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(rt, job('raced', { schedule: 'rate(1 minute)' }), T0);
    const update = rt.store.updateJobDefinition.bind(rt.store);
    let interleaved = false;
    rt.store.updateJobDefinition = async (...args) => {
      if (!interleaved) {
        interleaved = true;
        await pauseJob(rt.store, 'raced', T0 + S, 'maintenance');
      }
      return update(...args);
    };
    await put(rt, job('raced', { schedule: 'rate(1 minute)', payload: { v: 2 } }), T0 + 2 * S);

    // The whole definition: the payload is in the definition item the job references.
    const stored = await rt.store.getJobFull('raced');
    expect(stored).toMatchObject({ enabled: false, note: 'maintenance', definition: { payload: { v: 2 } } });
    expect(stored?.dueAt).toBeUndefined();
    expect(stored?.version).toBe(3); // create 1, pause 2, put 3
  });

  it('a put never changes the pause state unless the definition’s own enabled changed', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(rt, job('kept', { schedule: 'rate(1 minute)' }), T0);
    await pauseJob(rt.store, 'kept', T0 + S, 'by hand');
    await put(rt, job('kept', { schedule: 'rate(1 minute)', payload: 1 }), T0 + 2 * S);
    expect(await rt.store.getJob('kept')).toMatchObject({ enabled: false, note: 'by hand' });
    await put(rt, job('kept', { schedule: 'rate(1 minute)', payload: 1, enabled: false }), T0 + 3 * S);
    expect(await rt.store.getJob('kept')).toMatchObject({ enabled: false, note: 'declared disabled' });
    await put(rt, job('kept', { schedule: 'rate(1 minute)', payload: 1, enabled: true }), T0 + 4 * S);
    const resumed = await rt.store.getJob('kept');
    expect(resumed?.enabled).toBe(true);
    expect(resumed?.note).toBeUndefined();
  });

  it('a resume racing an edit keeps the edit’s schedule and next slot', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(rt, job('r', { schedule: 'rate(1 hour)' }), T0);
    await pauseJob(rt.store, 'r', T0 + S);
    const resume = rt.store.resumeJob.bind(rt.store);
    let interleaved = false;
    rt.store.resumeJob = async (...args) => {
      if (!interleaved) {
        interleaved = true;
        await put(rt, job('r', { schedule: 'rate(7 seconds)' }), T0 + 10 * S);
      }
      return resume(...args);
    };
    await resumeJob(rt.store, 'r', T0 + 20 * S);

    const stored = await rt.store.getJob('r');
    expect(stored?.enabled).toBe(true);
    expect(stored?.definition.schedule).toBe('rate(7 seconds)');
    // The edit anchored the new schedule at T0+10 s; the resume (planned again from it) moved on to now.
    expect(stored?.nextRunAt).toBe(new Date(T0 + 24 * S).toISOString());
    expect(stored?.dueAt).toBe(new Date(T0 + 20 * S).toISOString()); // skipped(paused) records pending
  });
});

describe('4: a job never falls out of the due index while enabled', () => {
  it('a pause between claim and advance wins: the advance is refused and a resume schedules the job again', async () => {
    const clock = new ManualClock(T0);
    let pauseOnce = true;
    runtime = await testRuntime({
      clock: clock.fn,
      tick: { lookaheadMs: 0 },
      faults: {
        beforeAdvance: () => {
          if (pauseOnce) {
            pauseOnce = false;
            // A synchronous hook: the pause is awaited below, before the advance can be judged.
            pending = pauseJob(runtime!.store, 'pa', clock.now);
          }
        },
      },
    });
    let pending: Promise<unknown> = Promise.resolve();
    const rt = runtime;
    await put(rt, job('pa', { schedule: 'rate(1 minute)' }), T0);
    const store = rt.store;
    const advance = store.advanceJob.bind(store);
    store.advanceJob = async (...args) => {
      await pending;
      return advance(...args);
    };
    await rt.tick();
    const paused = await store.getJob('pa');
    expect(paused).toMatchObject({ enabled: false });
    expect(paused?.dueAt).toBeUndefined();

    clock.set(T0 + 30 * S);
    await resumeJob(store, 'pa', clock.now);
    const resumed = await store.getJob('pa');
    expect(resumed?.dueAt).toBeDefined();
    clock.set(T0 + 60 * S);
    const report = await rt.tick();
    expect(report.slotsDispatched).toBe(1);
  });

  it('a resume that lands while a tick takes a disabled job out of the index keeps it in', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(rt, job('gone', { schedule: 'rate(1 minute)' }), T0);
    await pauseJob(rt.store, 'gone', T0 + S);
    // A disabled job still in the index (an item written by an older version, or by hand).
    await rt.store.doc.send(
      new UpdateCommand({
        TableName: rt.state.tableName,
        Key: jobKey('gone'),
        UpdateExpression: 'SET dueAt = :due, dueShard = :shard',
        ExpressionAttributeValues: { ':due': new Date(T0).toISOString(), ':shard': rt.store.shardOf('gone') },
      }),
    );
    const remove = rt.store.removeFromDue.bind(rt.store);
    rt.store.removeFromDue = async (...args) => {
      await resumeJob(rt.store, 'gone', T0 + 2 * S);
      return remove(...args);
    };
    clock.set(T0 + 2 * S);
    await rt.tick();

    const stored = await rt.store.getJob('gone');
    expect(stored?.enabled).toBe(true);
    expect(stored?.dueAt).toBeDefined();
  });

  it('the tick finds an enabled job missing from the due index, puts it back and dispatches it', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(rt, job('lost', { schedule: 'rate(1 minute)' }), T0);
    await rt.store.doc.send(
      new UpdateCommand({
        TableName: rt.state.tableName,
        Key: jobKey('lost'),
        UpdateExpression: 'REMOVE dueAt, dueShard',
      }),
    );
    clock.set(T0 + 5 * S);
    const report = await rt.tick();

    expect(report.repairedJobs).toEqual(['lost']);
    expect(report.slotsDispatched).toBe(1);
    expect((await rawJob(rt, 'lost')).dueAt).toBeDefined();
  });
});

describe('5: overlap skip/queue hold across retries', () => {
  function flaky() {
    const handlers = builtinHandlers();
    const active = new Set<string>();
    let most = 0;
    let failures = 1;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    handlers.register('flake', async (context) => {
      active.add(context.runId);
      most = Math.max(most, active.size);
      try {
        if (failures-- > 0) throw new Error('first attempt fails');
        await held;
      } finally {
        active.delete(context.runId);
      }
    });
    return { handlers, most: () => most, release: () => release() };
  }

  for (const overlap of ['skip', 'queue'] as const) {
    it(`${overlap}: a slot due while a run waits for its retry does not start beside the retry`, async () => {
      const clock = new ManualClock(T0);
      const target = flaky();
      runtime = await testRuntime({ clock: clock.fn, handlers: target.handlers, tick: { lookaheadMs: 0 } });
      const rt = runtime;
      const definition = job('o', {
        schedule: 'rate(10 seconds)',
        overlap,
        retry: { maxAttempts: 2, backoff: '3s' },
        target: { type: 'handler', name: 'flake' },
      });
      await put(rt, definition, T0);
      await rt.tick();
      const execute = executor(rt, clock, target.handlers);
      const [a] = await rt.allRuns();
      expect(await execute(a!)).toBe('retrying');

      clock.set(T0 + 10 * S);
      await rt.tick();
      const b = runAt(await rt.allRuns(), T0 + 10 * S)!;
      expect(await execute(b)).toBe(overlap === 'skip' ? 'skipped' : 'queued');

      clock.set(T0 + 13 * S);
      const retry = execute((await rt.store.getRun(a!.runId))!);
      await until(() => target.most() >= 1);
      target.release();
      expect(await retry).toBe('succeeded');
      if (overlap === 'queue') {
        // Released when A ended: its message is on the queue now; run it.
        const held = (await rt.store.getRun(b.runId))!;
        expect(held.status).toBe('queued');
        expect(await execute(held)).toBe('succeeded');
      }

      expect(target.most()).toBe(1);
      const runs = await rt.allRuns();
      expect(runAt(runs, T0)).toMatchObject({ status: 'succeeded', attempt: 2 });
      expect(runAt(runs, T0 + 10 * S)).toMatchObject(
        overlap === 'skip' ? { status: 'skipped', reason: 'overlap' } : { status: 'succeeded' },
      );
      expect((await rt.store.getJob('o'))?.running).toBeUndefined();
    });
  }
});

describe('6: a replay is one more attempt sequence, whatever SQS delivers', () => {
  /** A job whose one attempt always fails, its first run failed; counts the target's calls. */
  async function failedRun(id: string) {
    const clock = new ManualClock(T0);
    const handlers = builtinHandlers();
    const calls = { n: 0 };
    handlers.register('fails', async () => {
      calls.n += 1;
      throw new Error('always');
    });
    runtime = await testRuntime({ clock: clock.fn, handlers, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    const definition = {
      schedule: 'rate(1 hour)',
      retry: { maxAttempts: 1 },
      target: { type: 'handler', name: 'fails' },
    };
    await put(rt, job(id, definition), T0);
    await rt.tick();
    const deps = executorDeps(rt, clock, handlers);
    const [run] = await rt.allRuns();
    expect(await executeBody(deps, JSON.stringify(messageFor(run!, 1)))).toBe('failed');
    return { rt, clock, deps, calls, failed: (await rt.store.getRun(run!.runId))! };
  }

  it('a redriven DLQ message delivered twice replays the run once', async () => {
    const { rt, clock, deps, calls, failed } = await failedRun('f');
    // The body the executor put on the DLQ (a replay message with the run's redrive token), redriven and
    // delivered twice.
    expect(failed.redriveToken).toBeDefined();
    const redriven = JSON.stringify({
      ...messageFor(failed, failed.attempt + 1, 1),
      redrive: failed.redriveToken,
    });

    clock.set(T0 + 60 * S);
    expect(await executeBody(deps, redriven)).toBe('failed');
    expect(await executeBody(deps, redriven)).toBe('duplicate');

    expect(calls.n).toBe(2);
    expect(await rt.store.getRun(failed.runId)).toMatchObject({ status: 'failed', replays: 1, attempt: 2 });
    const open = await rt.store.queryOpenDue(rt.store.shardOf('f'), T0 + 3_600 * S, 10);
    expect(open.items).toEqual([]);
  });

  it('a `runs replay` message delivered again after the replay ended changes nothing', async () => {
    const { rt, deps, calls, failed } = await failedRun('g');
    const opsDeps = {
      store: rt.store,
      dispatcher: rt.dispatcher,
      signals: rt.signals,
      pools: rt.routing,
      log: deps.log,
    };
    const reopened = await replayRun(opsDeps, failed.runId, T0 + 60 * S);
    const message = JSON.stringify(messageFor(reopened, reopened.attempt + 1, reopened.replays));
    expect(await executeBody(deps, message)).toBe('failed');
    expect(await executeBody(deps, message)).toBe('duplicate');
    expect(calls.n).toBe(2);
  });
});

describe('7: a run record has a size bound', () => {
  it('replayed again and again with a 60 KB payload and long errors, the record stays bounded and every outcome is written', async () => {
    const clock = new ManualClock(T0);
    const handlers = builtinHandlers();
    let calls = 0;
    handlers.register('noisy', async () => {
      calls += 1;
      throw new Error(`attempt ${calls}: ${'x'.repeat(20_000)}`);
    });
    runtime = await testRuntime({ clock: clock.fn, handlers, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(
      rt,
      job('big', {
        schedule: 'rate(1 hour)',
        payload: { blob: 'p'.repeat(60_000) },
        retry: { maxAttempts: 3, backoff: '1s' },
        target: { type: 'handler', name: 'noisy' },
      }),
      T0,
    );
    await rt.tick();
    const deps = executorDeps(rt, clock, handlers);
    const opsDeps = {
      store: rt.store,
      dispatcher: rt.dispatcher,
      signals: rt.signals,
      pools: rt.routing,
      log: deps.log,
    };
    const [first] = await rt.allRuns();
    const runId = first!.runId;
    let sizes: number[] = [];
    for (let replay = 0; replay <= 10; replay++) {
      if (replay > 0) await replayRun(opsDeps, runId, clock.now);
      for (let attempt = 0; attempt < 3; attempt++) {
        clock.advance(5 * S);
        const run = (await rt.store.getRun(runId))!;
        await executeBody(deps, JSON.stringify(messageFor(run, run.attempt + 1, run.replays)));
      }
      const run = (await rt.store.getRun(runId))!;
      expect(run.status).toBe('failed');
      sizes = [...sizes, Buffer.byteLength(JSON.stringify(run))];
    }

    const run = (await rt.store.getRun(runId))!;
    expect(calls).toBe(33);
    expect(run.attempt).toBe(33);
    expect(run.attempts).toHaveLength(ATTEMPTS_KEPT);
    expect(run.attempts[0]?.attempt).toBe(1);
    expect(run.attempts.at(-1)?.attempt).toBe(33);
    expect(run.attemptsDropped).toBe(33 - ATTEMPTS_KEPT);
    expect(run.attempts.every((attempt) => (attempt.error?.length ?? 0) <= ERROR_CHARS)).toBe(true);
    // Bounded: the size stops growing once the history is full; far below DynamoDB's 400 KB.
    expect(Math.max(...sizes)).toBeLessThan(100_000);
    expect(Math.abs(sizes.at(-1)! - sizes.at(-4)!)).toBeLessThan(64);
  });
});

describe('9: an attempt is taken over only once its lease has really passed', () => {
  it('the lease outlasts the target deadline by the margin, and a late success is recorded, not dropped', async () => {
    const clock = new ManualClock(T0);
    const g = gate();
    runtime = await testRuntime({ clock: clock.fn, handlers: g.handlers, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(
      rt,
      job('slow', {
        schedule: 'rate(1 hour)',
        retry: { maxAttempts: 2, backoff: '1s' },
        target: { type: 'handler', name: 'gate', timeout: '60s' },
      }),
      T0,
    );
    await rt.tick();
    const [run] = await rt.allRuns();
    const attempt = executor(rt, clock, g.handlers)(run!);
    await until(() => g.started.length === 1);
    const running = (await rt.store.getRun(run!.runId))!;
    expect(Date.parse(running.leaseUntil!)).toBe(T0 + 60 * S + LEASE_MARGIN_MS);

    // Past the target's deadline but inside the margin: the sweep leaves the attempt alone.
    clock.set(T0 + 80 * S);
    await rt.tick();
    expect((await rt.store.getRun(run!.runId))?.status).toBe('running');
    // Past the lease: taken over (attempt 1 lost, retry scheduled); then the slow executor finishes.
    clock.set(T0 + 91 * S);
    await rt.tick();
    expect((await rt.store.getRun(run!.runId))?.status).toBe('retrying');
    g.open();
    expect(await attempt).toBe('succeeded');

    const ended = (await rt.store.getRun(run!.runId))!;
    expect(ended).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(ended.lateOutcomes).toEqual([
      { attempt: 1, status: 'succeeded', at: new Date(T0 + 91 * S).toISOString() },
    ]);
    expect(ended.attempts[0]).toMatchObject({ attempt: 1, status: 'lost' });
    expect(byStatus(await rt.allRuns())).toEqual({ 'succeeded(ok)': 1 });
  });
});
