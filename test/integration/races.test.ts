/**
 * Races and partial failures between the tick, the executor and operator operations, each found in
 * review and reproduced here against DynamoDB Local and the SQS emulator: a lost write must never wedge
 * a job, an edit during a claim must win, a held run must not be lost, pending records must survive a
 * resume or an edit, and hand-edited run state must make the job invalid rather than silent.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { pauseJob, resumeJob } from '../../shared/ops/jobs.js';
import { jobKey } from '../../shared/store/model.js';
import { executor, gate, until } from '../support/executor.js';
import { byStatus, job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

async function editItem(
  rt: LocalRuntime,
  jobId: string,
  expression: string,
  values: Record<string, unknown>,
) {
  await rt.store.doc.send(
    new UpdateCommand({
      TableName: rt.state.tableName,
      Key: jobKey(jobId),
      UpdateExpression: expression,
      ExpressionAttributeValues: values,
    }),
  );
}

describe('a lost write never wedges a job', () => {
  it('a run whose end was not recorded on its job is dropped from the running set, and later slots run', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(rt, job('w', { schedule: 'rate(1 minute)' }), T0 - 1000);
    await rt.tick();
    const recordOutcome = rt.store.recordOutcome.bind(rt.store);
    let failures = 1;
    rt.store.recordOutcome = async (...args) => {
      if (failures-- > 0)
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      return recordOutcome(...args);
    };
    expect(await rt.drain()).toEqual(['error']);
    for (let i = 1; i <= 3; i++) {
      clock.set(T0 + i * 60_000);
      await rt.tick();
      await rt.drain();
    }

    expect(byStatus(await rt.allRuns())).toEqual({ 'succeeded(ok)': 4 });
    expect((await rt.store.getJob('w'))?.running).toBeUndefined();
  });

  it('jobs put while a run ends does not write the ended run back into the running set', async () => {
    const clock = new ManualClock(T0);
    const g = gate();
    runtime = await testRuntime({ clock: clock.fn, handlers: g.handlers, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    const definition = job('p', { schedule: 'rate(1 minute)', target: { type: 'handler', name: 'gate' } });
    await put(rt, definition, T0 - 1000);
    await rt.tick();
    const [run] = await rt.allRuns();
    const running = executor(rt, clock, g.handlers)(run!);
    await until(() => g.started.length === 1);
    const update = rt.store.updateJobDefinition.bind(rt.store);
    rt.store.updateJobDefinition = async (...args) => {
      g.open();
      expect(await running).toBe('succeeded');
      return update(...args);
    };

    await put(rt, { ...definition, payload: { edited: true } }, clock.now);

    expect((await rt.store.getJob('p'))?.running).toBeUndefined();
  });
});

describe('lost responses', () => {
  it('an outcome write applied twice by an SDK retry counts the run once', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(
      rt,
      job('flaky', {
        schedule: 'rate(1 minute)',
        target: { type: 'handler', name: 'fail' },
        payload: { retryable: false },
        pauseAfterFailures: 2,
      }),
      T0 - 1000,
    );
    let lose = true;
    rt.dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const input = args.input as { UpdateExpression?: string };
        if (
          lose &&
          context.commandName === 'UpdateItemCommand' &&
          input.UpdateExpression?.includes('DELETE #running')
        ) {
          lose = false;
          // Applied by DynamoDB, the response lost: the SDK sends the same write again.
          throw Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' });
        }
        return result;
      },
      { step: 'deserialize', name: 'loseOutcomeResponse', priority: 'high' },
    );

    await rt.tick();
    expect(await rt.drain()).toEqual(['failed']);

    const item = await rt.store.getJob('flaky');
    expect(lose).toBe(false);
    expect(item?.counts).toEqual({ failed: 1 });
    expect(item?.consecutiveFailures).toBe(1);
    expect(item?.enabled).toBe(true);
  });
});

describe('operator changes during a claim win', () => {
  it('a schedule edited between claim and advance is not overwritten by the old schedule', async () => {
    const clock = new ManualClock(Date.parse('2026-12-01T01:59:30.000Z'));
    runtime = await testRuntime({ clock: clock.fn });
    const rt = runtime;
    await put(rt, job('n', { schedule: 'cron(0 2 * * ? *)' }), T0);
    const advance = rt.store.advanceJob.bind(rt.store);
    rt.store.advanceJob = async (...args) => {
      await put(rt, job('n', { schedule: 'rate(5 minutes)' }), clock.now);
      return advance(...args);
    };
    await rt.tick();
    rt.store.advanceJob = advance;

    const item = await rt.store.getJob('n');
    expect(item?.definition.schedule).toBe('rate(5 minutes)');
    expect(item?.dueAt).toBe('2026-12-01T02:04:30.000Z');
    expect(item?.lease).toBeUndefined();
  });

  it('a job paused between claim and advance leaves the due index and is never reported overdue', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(rt, job('p', { schedule: 'rate(1 minute)' }), T0 - 1000);
    const advance = rt.store.advanceJob.bind(rt.store);
    rt.store.advanceJob = async (...args) => {
      await pauseJob(rt.store, 'p', clock.now);
      return advance(...args);
    };
    await rt.tick();
    rt.store.advanceJob = advance;
    const reports = [];
    for (let i = 1; i <= 3; i++) {
      clock.set(T0 + i * 60_000);
      reports.push(await rt.tick());
    }

    expect((await rt.store.getJob('p'))?.dueAt).toBeUndefined();
    expect(reports.map((report) => [report.contended, report.overdueJobs.length])).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
  });
});

describe('overlap queue', () => {
  it('a held run is sent when the running one ended while it was being held', async () => {
    const clock = new ManualClock(T0);
    const g = gate();
    runtime = await testRuntime({ clock: clock.fn, handlers: g.handlers, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(
      rt,
      job('q', {
        schedule: 'rate(1 minute)',
        overlap: 'queue',
        target: { type: 'handler', name: 'gate', timeout: '5m' },
      }),
      T0 - 1000,
    );
    await rt.tick();
    const [first] = await rt.allRuns();
    await rt.sqs.send(new SendMessageCommand({ QueueUrl: rt.pools[0]!.queueUrl, MessageBody: '{}' })); // noise, poisoned below
    const execute = executor(rt, clock, g.handlers);
    const firstRun = execute(first!);
    await until(() => g.started.length === 1);
    clock.set(T0 + 59_000);
    await rt.tick();
    const second = (await rt.allRuns()).find((run) => run.runId !== first!.runId)!;
    await rt.drain(); // the tick's own messages: first (duplicate), second (held), the noise (poisoned)
    const hold = rt.store.holdRun.bind(rt.store);
    rt.store.holdRun = async (...args) => {
      const held = await hold(...args);
      g.open();
      expect(await firstRun).toBe('succeeded');
      return held;
    };
    const outcome = await execute(second);
    rt.store.holdRun = hold;
    const released = await rt.drain();

    expect(['queued', 'skipped']).toContain(outcome);
    if (outcome === 'queued') expect(released).toContain('succeeded');
    const after = await rt.store.getRun(second.runId);
    expect(after?.status).toBe(outcome === 'queued' ? 'succeeded' : 'skipped');
  });
});

describe('pending records survive', () => {
  it('a resume while a catch-up backlog is still being recorded loses no slot', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0, maxSlotsPerJob: 5 } });
    const rt = runtime;
    await put(rt, job('d', { schedule: 'rate(1 minute)' }), T0);
    await rt.tick();
    await rt.drain();
    clock.set(T0 + 20 * 60_000);
    await rt.tick();
    await rt.drain();
    clock.advance(10_000);
    await pauseJob(rt.store, 'd', clock.now);
    clock.advance(3 * 60_000);
    await resumeJob(rt.store, 'd', clock.now);
    for (let i = 0; i < 8; i++) {
      await rt.tick();
      await rt.drain();
    }

    const slots = (await rt.allRuns()).map((run) => run.scheduledAt);
    const expected = Array.from({ length: 24 }, (_, i) => new Date(T0 + i * 60_000).toISOString());
    expect(slots).toEqual(expected);
    expect((await rt.store.getJob('d'))?.deferred).toBeUndefined();
  });

  it('a schedule edit while records are pending still records the old schedule’s slots', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0, maxSlotsPerJob: 5 } });
    const rt = runtime;
    await put(rt, job('e', { schedule: 'rate(1 minute)' }), T0);
    await rt.tick();
    await rt.drain();
    clock.set(T0 + 20 * 60_000);
    await rt.tick();
    await rt.drain();
    await put(rt, job('e', { schedule: 'rate(7 minutes)' }), clock.now);
    for (let i = 0; i < 6; i++) await rt.tick();

    const runs = await rt.allRuns();
    const oldGrid = runs.filter((run) => Date.parse(run.scheduledAt) <= T0 + 20 * 60_000);
    expect(oldGrid).toHaveLength(21);
    expect(byStatus(oldGrid)).toEqual({ 'succeeded(ok)': 2, 'missed(coalesced)': 19 });
  });
});

describe('editing a job keeps its cadence where it should', () => {
  it('changing only endAt or the time zone of a rate job keeps its anchor', async () => {
    runtime = await testRuntime();
    await put(runtime, job('a', { schedule: 'rate(1 hour)' }), T0);
    const endAt = await put(
      runtime,
      job('a', { schedule: 'rate(1 hour)', endAt: '2027-12-01T00:00:00Z' }),
      T0 + 27 * 60_000,
    );
    const zone = await put(
      runtime,
      job('a', { schedule: 'rate(1 hour)', endAt: '2027-12-01T00:00:00Z', timezone: 'Europe/Berlin' }),
      T0 + 28 * 60_000,
    );

    expect(endAt.job.anchor).toBe('2026-12-01T00:00:00.000Z');
    expect(endAt.job.nextRunAt).toBe('2026-12-01T00:00:00.000Z');
    expect(zone.job.anchor).toBe('2026-12-01T00:00:00.000Z');
  });

  it('repairing an invalid job with the same definition keeps its anchor and catches up by policy', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    const definition = job('v', { schedule: 'rate(10 minutes)' });
    await put(rt, definition, T0);
    await rt.tick();
    await rt.drain();
    await editItem(rt, 'v', 'SET enabled = :bad', { ':bad': 'yes' });
    clock.set(T0 + 600_000);
    expect((await rt.tick()).invalidJobs).toBe(1);

    clock.set(T0 + 3_604_000);
    await put(rt, definition, clock.now);
    await rt.tick();

    const item = await rt.store.getJob('v');
    expect(item?.anchor).toBe('2026-12-01T00:00:00.000Z');
    expect(item?.nextRunAt).toBe('2026-12-01T01:10:00.000Z');
    expect(byStatus(await rt.allRuns())).toEqual({
      'succeeded(ok)': 1,
      dispatched: 1,
      'missed(coalesced)': 5,
    });
  });
});

describe('hand-edited run state', () => {
  it('marks a job invalid when its lease, running set, counts or jobId are broken, and runs the others', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    for (const id of ['lease', 'running', 'counts', 'jobid', 'ok'])
      await put(rt, job(id, { schedule: 'rate(1 minute)' }), T0 - 1000);
    await editItem(rt, 'lease', 'SET lease = :x', { ':x': 'x' });
    await editItem(rt, 'running', 'SET running = :x', { ':x': ['x'] });
    await editItem(rt, 'counts', 'SET #c = :x', { ':x': 'oops' }).catch(async () => {
      await rt.store.doc.send(
        new UpdateCommand({
          TableName: rt.state.tableName,
          Key: jobKey('counts'),
          UpdateExpression: 'SET #c = :x',
          ExpressionAttributeNames: { '#c': 'counts' },
          ExpressionAttributeValues: { ':x': 'oops' },
        }),
      );
    });
    await editItem(rt, 'jobid', 'SET jobId = :x', { ':x': 'someone-else' });

    const report = await rt.tick();

    expect(report.invalidJobs).toBe(4);
    for (const id of ['lease', 'running', 'counts', 'jobid'])
      expect((await rt.store.getJob(id))?.invalid?.error).toBeTruthy();
    expect((await rt.allRuns()).map((run) => run.jobId)).toEqual(['ok']);
  });
});
