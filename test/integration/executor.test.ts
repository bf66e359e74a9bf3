/**
 * The executor against DynamoDB Local and the SQS emulator: at most one start per run id, overlap,
 * deadline, retries and the DLQ, a crashed executor, unreadable messages.
 */
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { RUN_SUCCEEDED_LOG } from '../../shared/runs/execute.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import { byStatus, countingHandlers, job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

/** A handler that blocks until the test opens its gate; counts starts per run id. */
function gatedHandlers() {
  const starts: string[] = [];
  let open: () => void = () => {};
  let gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const handlers = builtinHandlers();
  handlers.register('gate', async (context) => {
    starts.push(context.runId);
    await gate;
  });
  return {
    starts,
    handlers,
    open: () => open(),
    reset: () => {
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
    },
  };
}

async function dlqBodies(runtime: LocalRuntime): Promise<Record<string, unknown>[]> {
  const { Messages } = await runtime.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: runtime.pools[0]!.dlqUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
    }),
  );
  return (Messages ?? []).map((message) => JSON.parse(message.Body ?? '{}'));
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * What a crashed executor leaves behind: the run started at T0 with a lease until T0 + 10 s, its message
 * received (invisible) and never deleted. The clock is then past the lease.
 */
async function executorDiedMidRun(id: string, maxAttempts: number) {
  const clock = new ManualClock(T0);
  runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
  await put(runtime, job(id, { schedule: 'rate(1 hour)', retry: { maxAttempts, backoff: '1s' } }), T0 - 1000);
  await runtime.tick();
  const [run] = await runtime.allRuns();
  await runtime.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: runtime.pools[0]!.queueUrl, WaitTimeSeconds: 0 }),
  );
  await runtime.store.startRun(run!, ['dispatched'], {
    exclusive: true,
    leaseUntil: T0 + 10_000,
    now: T0,
    attempt: 1,
    history: { attempts: [{ attempt: 1, startedAt: new Date(T0).toISOString(), status: 'running' }] },
  });
  clock.set(T0 + 11_000);
  return { rt: runtime, run: run! };
}

describe('at most one start per run id', () => {
  it('a message delivered twice starts the run once', async () => {
    const clock = new ManualClock(T0);
    const { starts, handlers, open } = gatedHandlers();
    open();
    runtime = await testRuntime({ clock: clock.fn, handlers, tick: { lookaheadMs: 0 } });
    await put(
      runtime,
      job('dup', { schedule: 'rate(1 minute)', target: { type: 'handler', name: 'gate' } }),
      T0 - 1000,
    );
    await runtime.tick();
    const [run] = await runtime.allRuns();
    await runtime.sqs.send(
      new SendMessageCommand({
        QueueUrl: runtime.pools[0]!.queueUrl,
        MessageBody: JSON.stringify({
          v: 1,
          runId: run!.runId,
          jobId: 'dup',
          scheduledAt: run!.scheduledAt,
          attempt: 1,
        }),
      }),
    );

    const outcomes = await runtime.drain();

    expect(outcomes.sort()).toEqual(['duplicate', 'succeeded']);
    expect(starts).toEqual([run!.runId]);
  });

  it('a run whose executor died mid-run is retried by the sweep once its lease expires', async () => {
    const { rt } = await executorDiedMidRun('dies', 2);
    const report = await rt.tick();
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the retry's DelaySeconds (1 s backoff) is real
    const outcomes = await rt.drain();

    expect(report.sweep.retried).toBe(1);
    expect(outcomes).toEqual(['succeeded']);
    const [after] = await rt.allRuns();
    expect(after?.attempts.map((attempt) => attempt.status)).toEqual(['lost', 'succeeded']);
    const item = await rt.store.getJob('dies');
    expect(item?.running).toBeUndefined();
  });

  it('a run still running at its delivery deadline keeps it until then, and the sweep moves it to its lease', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0, deliveryGraceMs: 60_000 } });
    await put(
      runtime,
      job('long', { schedule: 'rate(1 hour)', retry: { maxAttempts: 2, backoff: '1s' } }),
      T0 - 1000,
    );
    await runtime.tick();
    const [run] = await runtime.allRuns();
    const leaseUntil = T0 + 10 * 60_000;
    await runtime.store.startRun(run!, ['dispatched'], {
      exclusive: true,
      leaseUntil,
      now: T0,
      attempt: 1,
      history: { attempts: [{ attempt: 1, startedAt: new Date(T0).toISOString(), status: 'running' }] },
    });
    // The start wrote no new openUntil: the delivery deadline comes first.
    expect((await runtime.store.getRun(run!.runId))?.openUntil).toBe(run!.openUntil);

    clock.set(Date.parse(run!.openUntil!) + 1);
    const atDeadline = await runtime.tick();
    const looked = await runtime.store.getRun(run!.runId);
    clock.set(leaseUntil + 1);
    const afterLease = await runtime.tick();

    expect(atDeadline.sweep).toMatchObject({ examined: 1, retried: 0, failed: 0, resent: 0 });
    expect(looked).toMatchObject({ status: 'running', openUntil: new Date(leaseUntil).toISOString() });
    expect(afterLease.sweep.retried).toBe(1);
  });

  it('a run whose executor died with no attempts left ends failed(lost) and goes to the DLQ', async () => {
    const { rt, run } = await executorDiedMidRun('dies-once', 1);
    const report = await rt.tick();

    expect(report.sweep.failed).toBe(1);
    expect(byStatus(await rt.allRuns())).toEqual({ 'failed(lost)': 1 });
    const dlq = await dlqBodies(rt);
    expect(dlq.map((body) => [body.runId, body.replay])).toEqual([[run!.runId, true]]);
    expect(String(dlq[0]?.lastError)).toContain('executor stopped during attempt 1');
  });
});

describe('overlap', () => {
  async function twoOverlapping(overlap: 'skip' | 'queue' | 'allow') {
    const clock = new ManualClock(T0);
    const gated = gatedHandlers();
    runtime = await testRuntime({ clock: clock.fn, handlers: gated.handlers, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(
      rt,
      job('slow', { schedule: 'rate(10 seconds)', overlap, target: { type: 'handler', name: 'gate' } }),
      T0,
    );
    await rt.tick();
    const first = rt.drain();
    await waitFor(async () => gated.starts.length === 1, 'the first run to start');
    clock.set(T0 + 10_000);
    await rt.tick();
    const second = rt.drain();
    if (overlap === 'allow') await waitFor(async () => gated.starts.length === 2, 'the second run to start');
    const secondBeforeRelease = overlap === 'allow' ? undefined : await second;
    gated.open();
    const firstOutcomes = await first;
    const secondOutcomes = secondBeforeRelease ?? (await second);
    const released = await rt.drain();
    return { gated, firstOutcomes, secondOutcomes, released, runs: await rt.allRuns() };
  }

  it('skip: a slot due while the previous run is running is recorded skipped(overlap)', async () => {
    const { secondOutcomes, runs, gated } = await twoOverlapping('skip');
    expect(secondOutcomes).toEqual(['skipped']);
    expect(byStatus(runs)).toEqual({ 'succeeded(ok)': 1, 'skipped(overlap)': 1 });
    expect(gated.starts).toHaveLength(1);
  });

  it('queue: the slot is held and starts when the running one ends', async () => {
    const { firstOutcomes, secondOutcomes, released, runs, gated } = await twoOverlapping('queue');
    expect(secondOutcomes).toEqual(['queued']);
    // The released run is picked up by whichever drain polls next.
    expect([...firstOutcomes, ...released]).toEqual(['succeeded', 'succeeded']);
    expect(byStatus(runs)).toEqual({ 'succeeded(ok)': 2 });
    expect(gated.starts).toEqual(['slow@2026-12-01T00:00:00.000Z', 'slow@2026-12-01T00:00:10.000Z']);
  });

  it('allow: the slot starts while the previous run is still running', async () => {
    const { secondOutcomes, runs, gated } = await twoOverlapping('allow');
    expect(secondOutcomes).toEqual(['succeeded']);
    expect(byStatus(runs)).toEqual({ 'succeeded(ok)': 2 });
    expect(gated.starts).toHaveLength(2);
  });
});

describe('deadline', () => {
  it('records missed(deadline) for a run not started within startingDeadline of its slot', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('late', { schedule: 'rate(1 hour)', startingDeadline: '30s' }), T0 - 1000);
    await runtime.tick();

    clock.advance(31_000);
    const outcomes = await runtime.drain();

    expect(outcomes).toEqual(['missed']);
    expect(byStatus(await runtime.allRuns())).toEqual({ 'missed(deadline)': 1 });
    expect(runtime.signals.events.map((event) => event.type)).toContain('Run Missed');
  });
});

describe('retries', () => {
  it('retries a failed attempt with backoff and succeeds, keeping the history of attempts', async () => {
    runtime = await testRuntime({ tick: { lookaheadMs: 0 } });
    const now = Date.now();
    await put(
      runtime,
      job('flappy', {
        schedule: 'rate(1 hour)',
        retry: { maxAttempts: 3, backoff: '1s' },
        target: { type: 'handler', name: 'fail' },
        payload: { message: 'boom', succeedOnAttempt: 2 },
      }),
      now - 1000,
    );
    await runtime.tick();

    const first = await runtime.drain();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const second = await runtime.drain();

    expect(first).toEqual(['retrying']);
    expect(second).toEqual(['succeeded']);
    const [run] = await runtime.allRuns();
    expect(run?.attempts.map((attempt) => [attempt.attempt, attempt.status])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ]);
    expect(run?.attempts[0]?.error).toContain('boom');
  });

  it('after maxAttempts the run is failed and its message is on the DLQ with the run id and last error', async () => {
    runtime = await testRuntime({ tick: { lookaheadMs: 0 } });
    await put(
      runtime,
      job('doomed', {
        schedule: 'rate(1 hour)',
        retry: { maxAttempts: 2, backoff: '1s' },
        target: { type: 'handler', name: 'fail' },
        payload: { message: 'always broken' },
      }),
      Date.now() - 1000,
    );
    await runtime.tick();

    await runtime.drain();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const last = await runtime.drain();

    expect(last).toEqual(['failed']);
    const [run] = await runtime.allRuns();
    expect(run?.status).toBe('failed');
    expect(run?.reason).toBe('error');
    const dlq = await dlqBodies(runtime);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]).toMatchObject({ runId: run?.runId, jobId: 'doomed', attempts: 2, replay: true });
    expect(String(dlq[0]?.lastError)).toContain('always broken');
    expect(runtime.signals.events.map((event) => event.type)).toContain('Run Failed');
  });

  it('pauses a job after pauseAfterFailures failed runs in a row, with a note', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(
      runtime,
      job('fragile', {
        schedule: 'rate(1 minute)',
        retry: { maxAttempts: 1, backoff: '1s' },
        pauseAfterFailures: 2,
        target: { type: 'handler', name: 'fail' },
      }),
      T0 - 1000,
    );
    await runtime.tick();
    await runtime.drain();
    clock.advance(60_000);
    await runtime.tick();
    await runtime.drain();

    const item = await runtime.store.getJob('fragile');
    expect(item?.enabled).toBe(false);
    expect(item?.note).toContain('paused after 2 failed runs in a row');
    expect(item?.dueAt).toBeUndefined();
  });
});

describe('logs', () => {
  it('logs each successful run with its jobId and runId (the per-job gap alarms count these lines)', async () => {
    const clock = new ManualClock(T0);
    const lines: { message: string; extra?: Record<string, unknown> }[] = [];
    const record = (message: string, extra?: Record<string, unknown>) => {
      lines.push({ message, ...(extra ? { extra } : {}) });
    };
    runtime = await testRuntime({
      clock: clock.fn,
      tick: { lookaheadMs: 0 },
      log: { debug: record, info: record, warn: record, error: record },
    });
    await put(runtime, job('logged', { schedule: 'rate(1 hour)' }), T0 - 1000);
    await runtime.tick();
    await runtime.drain();

    const succeeded = lines.filter((line) => line.message === RUN_SUCCEEDED_LOG);
    expect(succeeded.map((line) => [line.extra?.jobId, line.extra?.runId])).toEqual([
      ['logged', 'logged@2026-11-30T23:59:59.000Z'],
    ]);
  });
});

describe('unreadable messages', () => {
  it('moves a message that is not a run message to the DLQ with the reason, and goes on', async () => {
    runtime = await testRuntime();
    await runtime.sqs.send(
      new SendMessageCommand({ QueueUrl: runtime.pools[0]!.queueUrl, MessageBody: 'not json at all' }),
    );
    await runtime.sqs.send(
      new SendMessageCommand({
        QueueUrl: runtime.pools[0]!.queueUrl,
        MessageBody: JSON.stringify({ v: 1, runId: 'x' }),
      }),
    );

    const outcomes = await runtime.drain();

    expect(outcomes).toEqual(['poisoned', 'poisoned']);
    const dlq = await dlqBodies(runtime);
    expect(dlq.map((body) => body.poison)).toEqual([true, true]);
    expect(String(dlq[0]?.error)).toContain('not JSON');
    expect(String(dlq[1]?.error)).toContain('jobId');
    expect(runtime.signals.sum('PoisonMessages')).toBe(2);
  });
});

describe('the start in two writes (the run, then the job)', () => {
  /** Fails the job side of a start (`ADD #running`) and, with `undo`, the put that would take it back. */
  function failStartOnJob(rt: LocalRuntime, options: { undo: boolean }) {
    const failed: string[] = [];
    rt.dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { UpdateExpression?: string; ConditionExpression?: string };
        const jobSide =
          context.commandName === 'UpdateItemCommand' && /^ADD #running/.test(input.UpdateExpression ?? '');
        const undo =
          options.undo &&
          context.commandName === 'PutItemCommand' &&
          /leaseUntil = :lease/.test(input.ConditionExpression ?? '');
        if ((jobSide || undo) && failed.length < (options.undo ? 2 : 1)) {
          failed.push(jobSide ? 'job' : 'undo');
          throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $retryable: undefined });
        }
        return next(args);
      },
      { step: 'initialize', name: 'failStartOnJob', override: true },
    );
    return failed;
  }

  /** The run's message once more, as SQS delivers it again after the failed one's visibility timeout. */
  async function deliverAgain(rt: LocalRuntime, run: { runId: string; jobId: string; scheduledAt: string }) {
    await rt.sqs.send(
      new SendMessageCommand({
        QueueUrl: rt.pools[0]!.queueUrl,
        MessageBody: JSON.stringify({
          v: 1,
          runId: run.runId,
          jobId: run.jobId,
          scheduledAt: run.scheduledAt,
          attempt: 1,
        }),
      }),
    );
  }

  it('a job write that fails puts the run back as it was; the message comes again and starts it once', async () => {
    const clock = new ManualClock(T0);
    const { starts, handlers } = countingHandlers();
    runtime = await testRuntime({ clock: clock.fn, handlers, tick: { lookaheadMs: 0 } });
    await put(
      runtime,
      job('half', { schedule: 'rate(1 hour)', target: { type: 'handler', name: 'count' } }),
      T0 - 1000,
    );
    await runtime.tick();
    const [claimed] = await runtime.allRuns();
    const failed = failStartOnJob(runtime, { undo: false });

    const first = await runtime.drain().catch((error: Error) => error.message);
    const between = await runtime.store.getRun(claimed!.runId);
    await deliverAgain(runtime, claimed!);
    const outcomes = await runtime.drain();

    expect(failed).toEqual(['job']);
    expect(String(first)).not.toContain('succeeded');
    // Back as claimed: status, attempt, no attempt recorded, no start time, no lease.
    expect(between).toEqual(claimed);
    expect(outcomes).toEqual(['succeeded']);
    expect(starts.get(claimed!.runId)).toBe(1);
    expect((await runtime.store.getJob('half'))?.running).toBeUndefined();
  });

  it('an executor that dies between the two writes leaves a run that never reached its target: the sweep retries it at its lease, and it runs once', async () => {
    const clock = new ManualClock(T0);
    const { starts, handlers } = countingHandlers();
    runtime = await testRuntime({ clock: clock.fn, handlers, tick: { lookaheadMs: 0 } });
    await put(
      runtime,
      job('torn', {
        schedule: 'rate(1 hour)',
        target: { type: 'handler', name: 'count', timeout: '5s' },
        retry: { maxAttempts: 2, backoff: '1s' },
      }),
      T0 - 1000,
    );
    await runtime.tick();
    const [claimed] = await runtime.allRuns();
    const failed = failStartOnJob(runtime, { undo: true });

    await runtime.drain().catch(() => undefined);
    const torn = await runtime.store.getRun(claimed!.runId);
    // The message comes again while the lease holds: a duplicate, nothing starts.
    await deliverAgain(runtime, claimed!);
    const again = await runtime.drain();
    clock.set(Date.parse(torn!.leaseUntil!) + 1);
    const report = await runtime.tick();
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the retry's 1 s DelaySeconds is real
    const outcomes = await runtime.drain();

    expect(failed).toEqual(['job', 'undo']);
    expect(torn).toMatchObject({ status: 'running', attempt: 1 });
    // It never held the job: nothing of the job waits for it.
    expect((await runtime.store.getJob('torn'))?.running).toBeUndefined();
    expect(again).toEqual(['duplicate']);
    expect(report.sweep.retried).toBe(1);
    expect(outcomes).toEqual(['succeeded']);
    expect(starts.get(claimed!.runId)).toBe(1);
    const [after] = await runtime.allRuns();
    expect(after?.attempts.map((attempt) => attempt.status)).toEqual(['lost', 'succeeded']);
  });
});
