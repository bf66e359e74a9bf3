/**
 * What a job item holds of its runs, against DynamoDB Local and the SQS emulator (issue 17): the
 * `running` set stays bounded whatever runs are in flight (defect 6), and a job deleted and created again
 * under its id meets its predecessor's runs only to wait for them (defect 10), and a definition item
 * expires once neither the job nor a live run record references it (defect 7). Step Functions has no emulator: the
 * stateful fake of test/support/fake-aws.ts stands in; the store and the queues are real.
 */
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { deleteJob, describeJob } from '../../shared/ops/jobs.js';
import { backfill } from '../../shared/ops/runs.js';
import { reportCompletion } from '../../shared/runs/completion.js';
import { messageFor, silentLog } from '../../shared/runs/lifecycle.js';
import { definitionKey, type JobItem, RUNNING_MAX } from '../../shared/store/model.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import { itemBytes } from '../model/size.js';
import { MINUTE } from '../support/async.js';
import { STATE_MACHINE } from '../support/aws-events.js';
import { executeBody, executorDeps } from '../support/executor.js';
import { FakeStepFunctions } from '../support/fake-aws.js';
import { byStatus, job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

/** The bound docs/data-model.md gives a job item ("How big an item gets"). */
const JOB_ITEM_BOUND = 120_000;

/** A local runtime whose stepfunctions targets talk to the fake; job `id` put at T0 − 1 s. */
async function sfnSetup(id: string, fields: Record<string, unknown> & { schedule: string }) {
  const clock = new ManualClock(T0);
  const sfn = new FakeStepFunctions(clock.fn);
  runtime = await testRuntime({
    clock: clock.fn,
    tick: { lookaheadMs: 0 },
    awsClients: { sfn: sfn.client },
  });
  const rt = runtime;
  await put(
    rt,
    job(id, { target: { type: 'stepfunctions', stateMachineArn: STATE_MACHINE }, ...fields }),
    T0 - 1000,
  );
  const ops = {
    store: rt.store,
    dispatcher: rt.dispatcher,
    signals: rt.signals,
    pools: rt.routing,
    log: silentLog,
  };
  const jobItem = async () => (await rt.store.getJobRaw(id)) as unknown as JobItem & Record<string, unknown>;
  return { rt, clock, sfn, ops, jobItem };
}

describe('defect 6: the job item stays bounded whatever runs are in flight', () => {
  it('overlap allow: 3,000 asynchronous runs in flight at once leave the job item untouched, and starts go on', async () => {
    const s = await sfnSetup('many-allow', {
      schedule: 'rate(1 minute)',
      overlap: 'allow',
      heartbeatTimeout: '1h',
      maxRunDuration: '24h',
    });
    const before = await s.jobItem();
    expect(
      await backfill(s.ops, 'many-allow', { from: T0 - 3_000 * MINUTE, to: T0 }, s.clock.now, {
        limit: 3_000,
      }),
    ).toMatchObject({ created: 3_000 });
    const outcomes = await s.rt.drain();
    expect(outcomes.filter((o) => o === 'handed-off')).toHaveLength(3_000);
    expect(s.sfn.running()).toHaveLength(3_000);

    const during = await s.jobItem();
    expect(during.running).toBeUndefined();
    expect(itemBytes(during)).toBeLessThan(JOB_ITEM_BOUND);
    expect(itemBytes(during)).toBe(itemBytes(before));

    // The schedule goes on beside them: the next slot starts (overlap allow), the job item still as small.
    s.clock.advance(MINUTE);
    await s.rt.tick();
    expect(await s.rt.drain()).toEqual(['handed-off']);
    expect(s.sfn.running()).toHaveLength(3_001);
    expect((await s.jobItem()).running).toBeUndefined();

    // Their ends are recorded on the job as before.
    const deps = { ...s.ops, graceMs: 60_000 };
    const [first] = (await s.rt.store.queryRuns('many-allow', { limit: 1, newestFirst: false })).items;
    expect(
      await reportCompletion(
        deps,
        { runId: first!.runId, attempt: 1, source: 'stepfunctions', type: 'complete' },
        s.clock.now,
      ),
    ).toMatchObject({ ok: true });
    const after = await s.jobItem();
    expect(after.counts?.succeeded).toBe(1);
    expect(after.lastOutcome).toMatchObject({ runId: first!.runId, status: 'succeeded' });
  }, 240_000);

  it('overlap allow: jobs get (describeJob) shows the runs in progress from the open index', async () => {
    const s = await sfnSetup('few-allow', {
      schedule: 'rate(1 minute)',
      overlap: 'allow',
      heartbeatTimeout: '1h',
      maxRunDuration: '24h',
    });
    await backfill(s.ops, 'few-allow', { from: T0 - 3 * MINUTE, to: T0 }, s.clock.now, { limit: 3 });
    expect(await s.rt.drain()).toEqual(['handed-off', 'handed-off', 'handed-off']);
    const runIds = (await s.rt.store.queryRuns('few-allow', { limit: 10, newestFirst: false })).items.map(
      (run) => run.runId,
    );

    expect((await s.jobItem()).running).toBeUndefined();
    expect((await describeJob(s.rt.store, 'few-allow', s.clock.now)).running.sort()).toEqual(runIds.sort());

    const deps = { ...s.ops, graceMs: 60_000 };
    await reportCompletion(
      deps,
      { runId: runIds[0]!, attempt: 1, source: 'stepfunctions', type: 'complete' },
      s.clock.now,
    );
    expect((await describeJob(s.rt.store, 'few-allow', s.clock.now)).running.sort()).toEqual(
      runIds.slice(1).sort(),
    );
  });

  it('overlap skip: operator runs beyond RUNNING_MAX wait their turn; the scheduled slot is still skipped', async () => {
    const s = await sfnSetup('many-skip', {
      schedule: 'rate(1 minute)',
      overlap: 'skip',
      heartbeatTimeout: '1h',
      maxRunDuration: '24h',
      startingDeadline: '30s',
    });
    const total = RUNNING_MAX + 8;
    await backfill(s.ops, 'many-skip', { from: T0 - total * MINUTE, to: T0 }, s.clock.now);
    const outcomes = await s.rt.drain();
    expect(outcomes.filter((o) => o === 'handed-off')).toHaveLength(RUNNING_MAX);
    expect(outcomes.filter((o) => o === 'retrying')).toHaveLength(8);
    expect(s.sfn.running()).toHaveLength(RUNNING_MAX);
    const full = await s.jobItem();
    expect(full.running?.size).toBe(RUNNING_MAX);
    expect(itemBytes(full)).toBeLessThan(JOB_ITEM_BOUND);

    // A scheduled slot due meanwhile is skipped(overlap), as it would be beside one run.
    s.clock.advance(MINUTE);
    await s.rt.tick();
    expect(await s.rt.drain()).toEqual(['skipped']);

    // Three runs end: three of the waiting ones start when their message comes again; the rest wait on.
    const runs = (await s.rt.allRuns()).filter((run) => run.backfill);
    const started = runs.filter((run) => run.status === 'running').slice(0, 3);
    const waiting = runs.filter((run) => run.status === 'dispatched');
    expect(waiting).toHaveLength(8);
    for (const run of started) {
      await reportCompletion(
        { ...s.ops, graceMs: 60_000 },
        { runId: run.runId, attempt: 1, source: 'stepfunctions', type: 'complete' },
        s.clock.now,
      );
    }
    const deps = executorDeps(s.rt, s.clock, builtinHandlers(), { sfn: s.sfn.client });
    const again = [];
    for (const run of waiting) again.push(await executeBody(deps, JSON.stringify(messageFor(run, 1))));
    expect(again.filter((o) => o === 'handed-off')).toHaveLength(3);
    expect(again.filter((o) => o === 'retrying')).toHaveLength(5);
    expect((await s.jobItem()).running?.size).toBe(RUNNING_MAX);
    expect(byStatus(await s.rt.allRuns())).toMatchObject({
      running: RUNNING_MAX,
      'succeeded(ok)': 3,
      dispatched: 5,
      'skipped(overlap)': 1,
    });
  });
});

describe('defect 10: a job deleted and created again while a run of the old one is in flight', () => {
  it('overlap skip: the new job waits for the old run (its slots skipped), and the old run’s end records nothing on it', async () => {
    const s = await sfnSetup('again', {
      schedule: 'rate(10 minutes)',
      overlap: 'skip',
      heartbeatTimeout: '1h',
      maxRunDuration: '24h',
    });
    await s.rt.tick();
    expect(await s.rt.drain()).toEqual(['handed-off']);
    const [old] = await s.rt.allRuns();
    const first = await s.jobItem();
    expect(first.incarnation).toEqual(expect.any(String));
    expect(old?.incarnation).toBe(first.incarnation);

    // Deleted and put again under the same id, same definition, while the execution runs.
    s.clock.advance(MINUTE);
    await deleteJob(s.rt.store, 'again', s.clock.now);
    await put(
      s.rt,
      job('again', {
        schedule: 'rate(10 minutes)',
        overlap: 'skip',
        heartbeatTimeout: '1h',
        maxRunDuration: '24h',
        target: { type: 'stepfunctions', stateMachineArn: STATE_MACHINE },
      }),
      s.clock.now,
    );
    const created = await s.jobItem();
    expect(created.incarnation).not.toBe(first.incarnation);
    expect([...(created.running ?? [])]).toEqual([old!.runId]);

    // The new job's first slot comes due: skipped(overlap), not started beside the old execution.
    await s.rt.tick();
    expect(await s.rt.drain()).toEqual(['skipped']);
    expect(s.sfn.running()).toHaveLength(1);

    // The old run ends: it is recorded on its own record, not as the new job's outcome.
    s.sfn.finish(s.sfn.ofRun(old!.runId)[0]!.executionArn, 'SUCCEEDED');
    expect(
      await reportCompletion(
        { ...s.ops, graceMs: 60_000 },
        { runId: old!.runId, attempt: 1, source: 'stepfunctions', type: 'complete' },
        s.clock.now,
      ),
    ).toMatchObject({ ok: true });
    expect(await s.rt.store.getRun(old!.runId)).toMatchObject({ status: 'succeeded' });
    const after = await s.jobItem();
    expect(after.running?.size ?? 0).toBe(0);
    expect(after.counts?.succeeded).toBeUndefined();
    expect(after.lastOutcome?.runId).not.toBe(old!.runId);
    expect(after.consecutiveFailures).toBe(0);

    // The new job's next slot starts: one execution at a time throughout.
    s.clock.advance(10 * MINUTE);
    await s.rt.tick();
    expect(await s.rt.drain()).toEqual(['handed-off']);
    expect(s.sfn.maxRunning).toBe(1);
  });

  it('a message of the old job delivered after the new one exists is cancelled(job-deleted), never started on it', async () => {
    const s = await sfnSetup('again-msg', {
      schedule: 'rate(10 minutes)',
      overlap: 'allow',
      heartbeatTimeout: '1h',
    });
    await s.rt.tick();
    const [old] = await s.rt.allRuns();
    expect(old?.status).toBe('dispatched');
    await deleteJob(s.rt.store, 'again-msg', s.clock.now);
    await put(
      s.rt,
      job('again-msg', {
        schedule: 'rate(10 minutes)',
        overlap: 'allow',
        target: { type: 'stepfunctions', stateMachineArn: STATE_MACHINE },
      }),
      s.clock.now + 1_000,
    );
    expect(await s.rt.drain()).toEqual(['cancelled']);
    expect(await s.rt.store.getRun(old!.runId)).toMatchObject({
      status: 'cancelled',
      reason: 'job-deleted',
    });
    expect(s.sfn.running()).toHaveLength(0);
    expect((await s.jobItem()).counts?.cancelled).toBeUndefined();
  });
});

describe('an edit from overlap allow to skip/queue waits for the runs started under allow', () => {
  const fields = { schedule: 'rate(10 minutes)', heartbeatTimeout: '1h', maxRunDuration: '24h' };
  const target = { type: 'stepfunctions', stateMachineArn: STATE_MACHINE };
  type Setup = Awaited<ReturnType<typeof sfnSetup>>;
  /** Ends a run's execution and reports it, as the events function would. */
  const finish = async (s: Setup, runId: string) => {
    s.sfn.finish(s.sfn.ofRun(runId)[0]!.executionArn, 'SUCCEEDED');
    expect(
      await reportCompletion(
        { ...s.ops, graceMs: 60_000 },
        { runId, attempt: 1, source: 'stepfunctions', type: 'complete' },
        s.clock.now,
      ),
    ).toMatchObject({ ok: true });
  };

  it('overlap skip: the runs in flight are counted as running; the next slot is skipped until they end', async () => {
    const s = await sfnSetup('to-skip', { ...fields, overlap: 'allow' });
    await s.rt.tick();
    expect(await s.rt.drain()).toEqual(['handed-off']);
    s.clock.advance(10 * MINUTE);
    await s.rt.tick();
    expect(await s.rt.drain()).toEqual(['handed-off']);
    const allowRuns = (await s.rt.allRuns()).map((run) => run.runId);
    expect(s.sfn.running()).toHaveLength(2);

    s.clock.advance(MINUTE);
    const edit = await put(s.rt, job('to-skip', { ...fields, overlap: 'skip', target }), s.clock.now);
    expect(edit.warnings).toContain(
      '2 run(s) started under overlap allow still in flight: the next slots wait for them (overlap skip)',
    );
    const edited = await s.jobItem();
    expect([...(edited.running ?? [])].sort()).toEqual(allowRuns.sort());
    expect(edited.untrackedRuns).toBeUndefined();

    // The next slot comes due beside them: skipped(overlap), no third execution.
    s.clock.advance(9 * MINUTE);
    await s.rt.tick();
    expect(await s.rt.drain()).toEqual(['skipped']);
    expect(s.sfn.running()).toHaveLength(2);

    // One ends: the other still holds the job.
    await finish(s, allowRuns[0]!);
    s.clock.advance(10 * MINUTE);
    await s.rt.tick();
    expect(await s.rt.drain()).toEqual(['skipped']);
    await finish(s, allowRuns[1]!);
    expect((await s.jobItem()).running?.size ?? 0).toBe(0);

    // Both ended: the next slot starts, alone.
    s.clock.advance(10 * MINUTE);
    await s.rt.tick();
    expect(await s.rt.drain()).toEqual(['handed-off']);
    expect(s.sfn.running()).toHaveLength(1);
  });

  it('a put that stops after its write: the next start counts the runs in flight, and a slot claimed under allow follows skip', async () => {
    const s = await sfnSetup('to-skip-stopped', { ...fields, overlap: 'allow' });
    await s.rt.tick();
    expect(await s.rt.drain()).toEqual(['handed-off']);
    const [first] = await s.rt.allRuns();
    // The next slot is claimed under allow; its message waits in the queue.
    s.clock.advance(10 * MINUTE);
    await s.rt.tick();

    // The edit is written, then its put stops before it counts the runs in flight.
    const adopt = s.rt.store.adoptUntracked.bind(s.rt.store);
    s.rt.store.adoptUntracked = async () => {
      throw new Error('the put stopped here');
    };
    await expect(
      put(s.rt, job('to-skip-stopped', { ...fields, overlap: 'skip', target }), s.clock.now),
    ).rejects.toThrow('the put stopped here');
    s.rt.store.adoptUntracked = adopt;
    expect(await s.jobItem()).toMatchObject({ untrackedRuns: expect.any(String) });
    expect((await s.jobItem()).running).toBeUndefined();

    // The slot claimed under allow arrives: the start counts the first run, and skip applies to it.
    expect(await s.rt.drain()).toEqual(['skipped']);
    expect(s.sfn.running()).toHaveLength(1);
    const after = await s.jobItem();
    expect([...(after.running ?? [])]).toEqual([first!.runId]);
    expect(after.untrackedRuns).toBeUndefined();
  });

  it('an edit that lands between the executor’s read of the job and its start: the start follows the new policy', async () => {
    const s = await sfnSetup('to-queue-race', { ...fields, overlap: 'allow' });
    await s.rt.tick();
    expect(await s.rt.drain()).toEqual(['handed-off']);
    const [first] = await s.rt.allRuns();
    s.clock.advance(10 * MINUTE);
    await s.rt.tick();

    // The executor reads the job (allow), then the edit to queue is written and counted, then it starts.
    const read = s.rt.store.getJobRaw.bind(s.rt.store);
    let editing = false;
    let edited = false;
    s.rt.store.getJobRaw = async (...args) => {
      const item = await read(...args);
      if (!editing && !edited && args[0] === 'to-queue-race') {
        editing = true;
        await put(s.rt, job('to-queue-race', { ...fields, overlap: 'queue', target }), s.clock.now);
        edited = true;
      }
      return item;
    };
    const outcomes = await s.rt.drain();
    s.rt.store.getJobRaw = read;
    expect(edited).toBe(true);
    // Held behind the first run (overlap queue), not started beside it.
    expect(outcomes).toEqual(['queued']);
    expect(s.sfn.running()).toHaveLength(1);
    const held = (await s.jobItem()).held;
    expect(held).toEqual(expect.stringContaining('to-queue-race@'));

    // The first run ends: the held one starts.
    await finish(s, first!.runId);
    expect(await s.rt.drain()).toEqual(['handed-off']);
    expect(s.sfn.running()).toHaveLength(1);
    expect(s.sfn.ofRun(held!)).toHaveLength(1);
  });
});

describe('defect 7: a definition item lives as long as something references it, then expires', () => {
  /** Job `payloads`, handler `record` (keeps each run's payload), payload `{ n }`, put at `now`. */
  async function payloadJob(rt: LocalRuntime, n: number, now: number) {
    return put(
      rt,
      job('payloads', {
        schedule: 'rate(10 minutes)',
        target: { type: 'handler', name: 'record' },
        payload: { n, text: 'x'.repeat(200) },
      }),
      now,
    );
  }

  async function definitionItem(rt: LocalRuntime, definitionId: string) {
    const { Item } = await DynamoDBDocumentClient.from(rt.dynamo).send(
      new GetCommand({
        TableName: rt.store.tableName,
        Key: definitionKey('payloads', definitionId),
        ConsistentRead: true,
      }),
    );
    return Item;
  }

  it('a payload edit gives the old item a TTL past its runs’ records; a run claimed before the edit still gets its payload; a delete expires the last', async () => {
    const clock = new ManualClock(T0);
    const payloads: unknown[] = [];
    const handlers = builtinHandlers();
    handlers.register('record', (context) => {
      payloads.push(context.payload);
    });
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 }, handlers });
    const rt = runtime;
    await payloadJob(rt, 1, T0);
    const firstId = (await rt.store.getJobRaw('payloads'))?.definitionId as string;
    expect((await definitionItem(rt, firstId))?.expiresAt).toBeUndefined();

    // A slot is claimed with payload 1; the payload is edited before its message is delivered.
    await rt.tick();
    const [claimed] = await rt.allRuns();
    expect(claimed).toMatchObject({ status: 'dispatched', definitionId: firstId });
    clock.advance(1_000);
    await payloadJob(rt, 2, clock.now);
    const secondId = (await rt.store.getJobRaw('payloads'))?.definitionId as string;
    expect(secondId).not.toBe(firstId);

    const old = await definitionItem(rt, firstId);
    expect(old?.expiresAt).toBe(rt.store.definitionExpiresAt(clock.now));
    // Past the expiry of every run record that references it (they were all created before the edit).
    expect(old?.expiresAt).toBeGreaterThan(claimed!.expiresAt);
    expect((await definitionItem(rt, secondId))?.expiresAt).toBeUndefined();

    // The run claimed before the edit runs with the payload it was claimed with.
    expect(await rt.drain()).toEqual(['succeeded']);
    expect(payloads).toEqual([{ n: 1, text: 'x'.repeat(200) }]);

    // Putting the first payload back references its item again: written afresh, without the TTL.
    clock.advance(1_000);
    await payloadJob(rt, 1, clock.now);
    expect((await definitionItem(rt, firstId))?.expiresAt).toBeUndefined();
    expect((await definitionItem(rt, secondId))?.expiresAt).toBe(rt.store.definitionExpiresAt(clock.now));

    // The job is deleted: its definition item expires after the run records that reference it.
    clock.advance(1_000);
    await deleteJob(rt.store, 'payloads', clock.now);
    const last = await definitionItem(rt, firstId);
    expect(last?.expiresAt).toBe(rt.store.definitionExpiresAt(clock.now));
    expect(last?.expiresAt).toBeGreaterThan(claimed!.expiresAt);
    expect(await rt.store.getJobRaw('payloads')).toBeUndefined();
  });

  it('a definition item the executor does not find: nothing starts, the message comes again, and then the run gets its payload', async () => {
    const clock = new ManualClock(T0);
    const payloads: unknown[] = [];
    const handlers = builtinHandlers();
    handlers.register('record', (context) => {
      payloads.push(context.payload);
    });
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 }, handlers });
    const rt = runtime;
    await payloadJob(rt, 7, T0);
    const definitionId = (await rt.store.getJobRaw('payloads'))?.definitionId as string;
    await rt.tick();
    const [run] = await rt.allRuns();
    // As a read that misses the item would see it: not there.
    const doc = DynamoDBDocumentClient.from(rt.dynamo);
    const item = await definitionItem(rt, definitionId);
    await doc.send(
      new DeleteCommand({ TableName: rt.store.tableName, Key: definitionKey('payloads', definitionId) }),
    );
    const deps = executorDeps(rt, clock, handlers);
    await expect(executeBody(deps, JSON.stringify(messageFor(run!, 1)))).rejects.toThrow(
      `definition ${definitionId} of job "payloads" is missing`,
    );
    expect(payloads).toEqual([]);
    expect(await rt.store.getRun(run!.runId)).toMatchObject({ status: 'dispatched', attempt: 0 });

    await doc.send(new PutCommand({ TableName: rt.store.tableName, Item: item }));
    expect(await executeBody(deps, JSON.stringify(messageFor(run!, 1)))).toBe('succeeded');
    expect(payloads).toEqual([{ n: 7, text: 'x'.repeat(200) }]);
  });
});

describe('deploys: an item or message of a newer format is left for a newer build, never half read', () => {
  it('a message v2, a run record, job item or definition item of format 2: the executor throws (the message comes again), nothing reaches the target', async () => {
    const clock = new ManualClock(T0);
    const payloads: unknown[] = [];
    const handlers = builtinHandlers();
    handlers.register('record', (context) => {
      payloads.push(context.payload);
    });
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 }, handlers });
    const rt = runtime;
    await put(
      rt,
      job('formats', {
        schedule: 'rate(10 minutes)',
        target: { type: 'handler', name: 'record' },
        payload: { n: 1 },
      }),
      T0,
    );
    await rt.tick();
    const [run] = await rt.allRuns();
    const deps = executorDeps(rt, clock, handlers);
    const body = messageFor(run!, 1);
    const doc = DynamoDBDocumentClient.from(rt.dynamo);
    const table = rt.store.tableName;
    const mark = async (key: Record<string, unknown>, format: number | undefined) => {
      const { Item } = await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
      const { format: _, ...rest } = Item!;
      await doc.send(new PutCommand({ TableName: table, Item: format ? { ...rest, format } : rest }));
    };

    await expect(executeBody(deps, JSON.stringify({ ...body, v: 2 }))).rejects.toThrow(
      'run message has format 2; this build reads up to 1',
    );
    const runKeyOf = { pk: run!.pk, sk: run!.sk };
    await mark(runKeyOf, 2);
    await expect(executeBody(deps, JSON.stringify(body))).rejects.toThrow(
      `run record ${run!.runId} has format 2`,
    );
    await mark(runKeyOf, undefined);
    await mark({ pk: 'JOB#formats', sk: 'JOB' }, 2);
    await expect(executeBody(deps, JSON.stringify(body))).rejects.toThrow('job item "formats" has format 2');
    await mark({ pk: 'JOB#formats', sk: 'JOB' }, undefined);
    const definitionId = run!.definitionId!;
    await mark(definitionKey('formats', definitionId), 2);
    await expect(executeBody(deps, JSON.stringify(body))).rejects.toThrow(
      `definition item ${definitionId} of job "formats" has format 2`,
    );
    expect(payloads).toEqual([]);
    expect(await rt.store.getRun(run!.runId)).toMatchObject({ status: 'dispatched', attempt: 0 });

    // Format 1 (or none): read as always.
    await mark(definitionKey('formats', definitionId), 1);
    expect(await executeBody(deps, JSON.stringify(body))).toBe('succeeded');
    expect(payloads).toEqual([{ n: 1 }]);
  });

  it('the tick leaves a job item or run record of format 2 alone (logged, metric FormatTooNew) and goes on with the other jobs', async () => {
    const clock = new ManualClock(T0);
    const lines: string[] = [];
    const log = {
      ...silentLog,
      warn: (message: string, extra?: Record<string, unknown>) =>
        void lines.push(`${message} ${JSON.stringify(extra)}`),
    };
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 }, log });
    const rt = runtime;
    for (const id of ['newer', 'older'])
      await put(rt, job(id, { schedule: 'rate(1 minute)', target: { type: 'handler', name: 'noop' } }), T0);
    const doc = DynamoDBDocumentClient.from(rt.dynamo);
    const table = rt.store.tableName;
    const key = { pk: 'JOB#newer', sk: 'JOB' };
    const { Item } = await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
    // What a newer build might write: a field this one does not know, the schedule somewhere else.
    const newer = { ...Item!, format: 2, schedule2: { every: '1m' } };
    delete (newer as Record<string, unknown>).nextRunAt;
    await doc.send(new PutCommand({ TableName: table, Item: newer }));

    const report = await rt.tick();
    expect(report.newerFormat).toBe(1);
    expect(report.errors).toEqual([]);
    expect(report.invalidJobs).toBe(0);
    // Untouched: not claimed, not marked invalid, still due for a tick of the new build.
    const after = await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
    expect(after.Item).toEqual(newer);
    expect((await rt.allRuns()).map((run) => run.jobId)).toEqual(['older']);
    expect(rt.signals.metrics.filter((m) => m.name === 'FormatTooNew')).toHaveLength(1);
    expect(
      lines.some((l) => l.includes('newer') && l.includes('has format 2; this build reads up to 1')),
    ).toBe(true);

    // A run record of format 2 past its deadline: the sweep leaves it to the new build's sweep.
    const [run] = await rt.allRuns();
    const runKeyOf = { pk: run!.pk, sk: run!.sk };
    const { Item: record } = await doc.send(
      new GetCommand({ TableName: table, Key: runKeyOf, ConsistentRead: true }),
    );
    await doc.send(new PutCommand({ TableName: table, Item: { ...record!, format: 2 } }));
    clock.advance(60 * MINUTE);
    await rt.tick();
    expect(await rt.store.getRun(run!.runId)).toMatchObject({ status: 'dispatched', format: 2 });
    expect(lines.join('\n')).toContain(`run record ${run!.runId} has format 2`);
  });
});
