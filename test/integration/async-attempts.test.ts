/**
 * Asynchronous attempts against DynamoDB Local and the SQS emulator (issue 17): what judges an attempt
 * once it may have been handed off, how long it may last whatever AWS says, whose execution or task a
 * Describe answer is, that a timed-out execution is stopped before its retry, and what a job deleted and
 * created again meets of its old runs. Step Functions and ECS have no emulator: a stateful fake of their
 * SDK clients (test/support/fake-aws.ts) stands in; the store and the queues are real.
 */
import { createHash } from 'node:crypto';
import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { sendReport } from '../../examples/worker.js';
import type { LocalRuntime } from '../../local/runtime.js';
import { backfill } from '../../shared/ops/runs.js';
import type { ExecuteDeps } from '../../shared/runs/execute.js';
import type { Log } from '../../shared/runs/lifecycle.js';
import { messageFor, silentLog } from '../../shared/runs/lifecycle.js';
import { runKey } from '../../shared/store/model.js';
import type { Store } from '../../shared/store/store.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import { type AsyncSetup, asyncSetup, MINUTE, minute, takeOne } from '../support/async.js';
import { STATE_MACHINE } from '../support/aws-events.js';
import { executeBody, executorDeps } from '../support/executor.js';
import { awsError, FakeEcs, FakeStepFunctions, type FakeTask } from '../support/fake-aws.js';
import { job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let setup: AsyncSetup | undefined;
let runtime: LocalRuntime | undefined;
/** Further stacks of a test (sharing the first one's fakes). */
const others: LocalRuntime[] = [];
afterEach(async () => {
  await setup?.close();
  setup = undefined;
  await runtime?.stop();
  runtime = undefined;
  for (const rt of others.splice(0)) await rt.stop();
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A log that keeps its lines (message and fields), to assert what was logged. */
function recordingLog() {
  const lines: { level: string; message: string; extra?: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, extra?: Record<string, unknown>): void => {
      lines.push({ level, message, ...(extra ? { extra } : {}) });
    };
  const log: Log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { log, lines };
}

interface AwsSetup {
  rt: LocalRuntime;
  clock: ManualClock;
  sfn: FakeStepFunctions;
  ecs: FakeEcs;
  lines: ReturnType<typeof recordingLog>['lines'];
}

/**
 * A local runtime whose stepfunctions/ecs targets and sweep talk to the fakes; job `id` put at T0 − 1 s.
 * With `shared`, a second stack (its own table and queues) on the first one's clock and fakes.
 */
async function awsSetup(
  id: string,
  fields: Record<string, unknown> & { schedule: string },
  shared?: AwsSetup,
): Promise<AwsSetup> {
  const clock = shared?.clock ?? new ManualClock(T0);
  const sfn = shared?.sfn ?? new FakeStepFunctions(clock.fn);
  const ecs = shared?.ecs ?? new FakeEcs();
  const { log, lines } = recordingLog();
  const rt = await testRuntime({
    clock: clock.fn,
    tick: { lookaheadMs: 0 },
    awsClients: { sfn: sfn.client, ecs: ecs.client },
    log,
  });
  if (shared) others.push(rt);
  else runtime = rt;
  await put(
    rt,
    job(id, { target: { type: 'stepfunctions', stateMachineArn: STATE_MACHINE }, ...fields }),
    T0 - 1000,
  );
  return { rt, clock, sfn, ecs, lines };
}

const ECS_TARGET = {
  type: 'ecs',
  cluster: 'jobs',
  taskDefinition: 'export:3',
  containerName: 'app',
  launchType: 'FARGATE',
  network: { subnets: ['subnet-0123abcd'] },
};

/** The completion token an execution's input or a task's environment carries. */
function carried(item: { input: string } | { overrides: FakeTask['overrides'] }): string | undefined {
  if ('input' in item) return (JSON.parse(item.input) as { completionToken?: string }).completionToken;
  const env = item.overrides.containerOverrides?.[0]?.environment ?? [];
  return env.find((e) => e.name === 'PUNCTUAL_COMPLETION_TOKEN')?.value;
}

/** One compressed minute on several stacks sharing one clock: each ticks and drains. */
async function stacksMinute(stacks: AwsSetup[], minutes = 1): Promise<void> {
  for (let m = 0; m < minutes; m++) {
    stacks[0]!.clock.advance(MINUTE);
    for (const s of stacks) {
      await s.rt.tick();
      await s.rt.drain();
    }
  }
}

/** One compressed minute on the AWS setup: the tick (and its sweep) runs, the executor takes what came. */
async function awsMinute(s: AwsSetup, minutes = 1): Promise<void> {
  for (let m = 0; m < minutes; m++) {
    s.clock.advance(MINUTE);
    await s.rt.tick();
    await s.rt.drain();
  }
}

/** The store, except that the executor's hand-off write (the one that ends its lease) fails. */
function handOffWriteFails(store: Store): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'transitionRun') return Reflect.get(target, property, receiver);
      return (...args: Parameters<Store['transitionRun']>) => {
        const patch = args[2];
        if ('leaseUntil' in patch && patch.leaseUntil === undefined && 'heartbeatDeadline' in patch) {
          return Promise.reject(new Error('ProvisionedThroughputExceededException'));
        }
        return target.transitionRun(...args);
      };
    },
  });
}

describe('defect 1: an attempt that may have been handed off is judged by its heartbeats, not the lease', () => {
  it('the executor dies after the hand-off: accepted heartbeats keep the one attempt; no second one at the lease', async () => {
    setup = await asyncSetup({ overlap: 'skip', heartbeatTimeout: '3m', retry: { maxAttempts: 3 } });
    const { rt, worker, clock } = setup;
    await rt.tick();
    const [run] = await rt.allRuns();
    expect(run?.status).toBe('dispatched');
    const deps: ExecuteDeps = {
      ...executorDeps(rt, clock, builtinHandlers(), { sqs: rt.sqs }),
      store: handOffWriteFails(rt.store),
    };
    // The target took the run; the write that records the hand-off fails (the executor dies with it).
    await expect(executeBody(deps, JSON.stringify(messageFor(run!, 1)))).rejects.toThrow(
      'ProvisionedThroughputExceededException',
    );
    const leased = await rt.store.getRun(run!.runId);
    expect(leased).toMatchObject({ status: 'running', attempt: 1, leaseUntil: expect.any(String) });
    const handed = await takeOne(worker);

    // 20 minutes of heartbeats, far past the lease (30 s timeout + 30 s): the tick's sweep runs every
    // minute and the tick's own message of attempt 1 is delivered again (the executor acknowledged nothing).
    for (let m = 0; m < 20; m++) {
      await sendReport(worker, handed, 'heartbeat');
      await minute(setup);
    }
    const midway = await rt.store.getRun(run!.runId);
    expect(midway).toMatchObject({ status: 'running', attempt: 1 });
    expect(midway?.attempts).toHaveLength(1);
    // Nothing else reached the target: no second attempt beside the live worker.
    expect(await takeOne(worker).catch(() => undefined)).toBeUndefined();

    await sendReport(worker, handed, 'complete', { output: { ok: true } });
    await minute(setup);
    const done = await rt.store.getRun(run!.runId);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 1, output: { ok: true } });
    expect(done?.attempts.map((a) => a.status)).toEqual(['succeeded']);
  });

  it('the executor dies after the hand-off and the worker never heartbeats: lost at the heartbeat deadline, then retried', async () => {
    setup = await asyncSetup({ overlap: 'skip', heartbeatTimeout: '3m', retry: { maxAttempts: 2 } });
    const { rt, clock } = setup;
    await rt.tick();
    const [run] = await rt.allRuns();
    const deps: ExecuteDeps = {
      ...executorDeps(rt, clock, builtinHandlers(), { sqs: rt.sqs }),
      store: handOffWriteFails(rt.store),
    };
    await expect(executeBody(deps, JSON.stringify(messageFor(run!, 1)))).rejects.toThrow();
    for (let m = 0; m < 2; m++) await minute(setup);
    expect(await rt.store.getRun(run!.runId)).toMatchObject({ status: 'running', attempt: 1 });
    for (let m = 0; m < 2; m++) await minute(setup);
    const retried = await rt.store.getRun(run!.runId);
    expect(retried?.attempts[0]).toMatchObject({ attempt: 1, status: 'lost' });
    expect(retried?.attempts[0]?.error).toContain('no heartbeat for 3m');
    expect(Date.parse(retried!.attempts[0]!.finishedAt!) - T0).toBeGreaterThanOrEqual(3 * MINUTE);
  });
});

describe('defect 1: an accepted heartbeat makes the attempt the worker’s', () => {
  it('a hand-off call that fails after the worker heartbeated does not retry beside it', async () => {
    setup = await asyncSetup({ overlap: 'skip', retry: { maxAttempts: 3 } });
    const { rt, worker, clock, client } = setup;
    await rt.tick();
    const [run] = await rt.allRuns();
    const base = executorDeps(rt, clock, builtinHandlers(), { sqs: rt.sqs });
    const deps: ExecuteDeps = {
      ...base,
      // The message reaches the worker, which heartbeats at once; then the call's answer is lost.
      invoke: async (target, context, signal) => {
        await base.invoke(target, context, signal);
        const handed = await takeOne(worker);
        await client.heartbeat(handed.runId, handed.completionToken);
        throw Object.assign(new Error('socket hang up'), { retryable: true });
      },
    };
    const outcome = await executeBody(deps, JSON.stringify(messageFor(run!, 1)));
    expect(outcome).toBe('late');
    const after = await rt.store.getRun(run!.runId);
    expect(after).toMatchObject({ status: 'running', attempt: 1, lastHeartbeatAt: expect.any(String) });
    expect(after?.lateOutcomes?.[0]).toMatchObject({ attempt: 1, status: 'failed', error: 'socket hang up' });
  });
});

describe('defect 2: maxRunDuration ends every stepfunctions/ecs attempt whatever the external check says', () => {
  it('DescribeExecution denied on every pass: logged and counted, and the attempt still ends failed(timeout) at maxRunDuration', async () => {
    const s = await awsSetup('sfn-denied', {
      schedule: 'rate(1 day)',
      heartbeatTimeout: '5m',
      maxRunDuration: '30m',
      retry: { maxAttempts: 1 },
    });
    await s.rt.tick();
    expect(await s.rt.drain()).toEqual(['handed-off']);
    const [run] = await s.rt.allRuns();
    s.sfn.fault = (command) =>
      command === 'DescribeExecution' ? awsError('AccessDeniedException', 'not authorized') : undefined;

    await awsMinute(s, 29);
    expect(await s.rt.store.getRun(run!.runId)).toMatchObject({ status: 'running', attempt: 1 });
    const failures = s.rt.signals.metrics.filter((m) => m.name === 'ExternalCheckFailed');
    expect(failures.length).toBeGreaterThanOrEqual(4);
    expect(s.lines.some((l) => l.level === 'warn' && String(l.extra?.error).includes('AccessDenied'))).toBe(
      true,
    );

    await awsMinute(s, 2);
    const ended = await s.rt.store.getRun(run!.runId);
    expect(ended).toMatchObject({ status: 'failed', reason: 'timeout', attempt: 1 });
    expect(ended?.lastError).toContain('maxRunDuration');
  });

  it('a SUCCEEDED execution whose output is over 16 KiB succeeds the run, its output kept truncated and marked', async () => {
    const s = await awsSetup('sfn-big', {
      schedule: 'rate(1 day)',
      heartbeatTimeout: '5m',
      maxRunDuration: '1h',
    });
    await s.rt.tick();
    await s.rt.drain();
    const [run] = await s.rt.allRuns();
    const [execution] = s.sfn.ofRun(run!.runId);
    const output = JSON.stringify({ rows: 'x'.repeat(20_000) });
    await awsMinute(s, 2);
    s.sfn.finish(execution!.executionArn, 'SUCCEEDED', { output });
    // The event never came: the sweep finds the end at the heartbeat deadline.
    await awsMinute(s, 4);
    const done = await s.rt.store.getRun(run!.runId);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(done?.output).toMatchObject({ truncated: true, bytes: Buffer.byteLength(output) });
    const kept = done?.output as { head: string };
    expect(output.startsWith(kept.head)).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(done?.output))).toBeLessThanOrEqual(16 * 1024);
  });
});

describe('defect 4: names are unique per stack and per attempt; a Describe answer settles only its own attempt', () => {
  it('two stacks sharing a state machine, same job id and slot: each starts its own execution and ends with its own output', async () => {
    const fields = { schedule: 'rate(1 day)', heartbeatTimeout: '5m', maxRunDuration: '2h' };
    const a = await awsSetup('shared-report', fields);
    const b = await awsSetup('shared-report', fields, a);
    for (const s of [a, b]) {
      await s.rt.tick();
      expect(await s.rt.drain()).toEqual(['handed-off']);
    }
    const [runA] = await a.rt.allRuns();
    const [runB] = await b.rt.allRuns();
    expect(runA?.runId).toBe(runB?.runId);

    // Two executions, each carrying its own stack's token.
    const executions = [...a.sfn.executions.values()];
    expect(executions).toHaveLength(2);
    const ofA = executions.find((e) => sha256(carried(e) ?? '') === runA?.completionTokenHash);
    const ofB = executions.find((e) => sha256(carried(e) ?? '') === runB?.completionTokenHash);
    expect(ofA && ofB && ofA !== ofB).toBe(true);

    // A's execution ends; no event reaches either stack: each sweep asks DescribeExecution.
    a.sfn.finish(ofA!.executionArn, 'SUCCEEDED', { output: JSON.stringify({ stack: 'A' }) });
    await stacksMinute([a, b], 6);
    expect(await a.rt.store.getRun(runA!.runId)).toMatchObject({
      status: 'succeeded',
      output: { stack: 'A' },
    });
    expect(await b.rt.store.getRun(runB!.runId)).toMatchObject({ status: 'running', attempt: 1 });

    a.sfn.finish(ofB!.executionArn, 'SUCCEEDED', { output: JSON.stringify({ stack: 'B' }) });
    await stacksMinute([a, b], 6);
    expect(await b.rt.store.getRun(runB!.runId)).toMatchObject({
      status: 'succeeded',
      output: { stack: 'B' },
    });
  });

  it('two stacks sharing a cluster: RunTask starts a task for each (startedBy and clientToken differ)', async () => {
    const fields = {
      schedule: 'rate(1 day)',
      heartbeatTimeout: '5m',
      maxRunDuration: '2h',
      target: ECS_TARGET,
    };
    const a = await awsSetup('shared-export', fields);
    const b = await awsSetup('shared-export', fields, a);
    for (const s of [a, b]) {
      await s.rt.tick();
      expect(await s.rt.drain()).toEqual(['handed-off']);
    }
    const [runA] = await a.rt.allRuns();
    const [runB] = await b.rt.allRuns();
    const tasks = [...a.ecs.tasks.values()];
    expect(tasks).toHaveLength(2);
    expect(new Set(tasks.map((t) => t.startedBy)).size).toBe(2);
    const ofA = tasks.find((t) => sha256(carried(t) ?? '') === runA?.completionTokenHash);
    const ofB = tasks.find((t) => sha256(carried(t) ?? '') === runB?.completionTokenHash);
    expect(ofA && ofB && ofA !== ofB).toBe(true);

    a.ecs.exit(ofA!.taskArn, 0);
    await stacksMinute([a, b], 6);
    expect(await a.rt.store.getRun(runA!.runId)).toMatchObject({ status: 'succeeded' });
    expect(await b.rt.store.getRun(runB!.runId)).toMatchObject({ status: 'running', attempt: 1 });
  });

  it('a backfill of a slot whose run record expired starts a new execution instead of taking the old one’s result', async () => {
    const s = await awsSetup('sfn-reuse', {
      schedule: 'rate(1 day)',
      heartbeatTimeout: '5m',
      maxRunDuration: '2h',
    });
    await s.rt.tick();
    await s.rt.drain();
    const [first] = await s.rt.allRuns();
    const [old] = s.sfn.ofRun(first!.runId);
    s.sfn.finish(old!.executionArn, 'SUCCEEDED', { output: JSON.stringify({ from: 'the first run' }) });
    await awsMinute(s, 6);
    expect(await s.rt.store.getRun(first!.runId)).toMatchObject({ status: 'succeeded' });

    // The run record expires (30 days of retention); Step Functions keeps the execution's name 90 days.
    await DynamoDBDocumentClient.from(s.rt.dynamo).send(
      new DeleteCommand({ TableName: s.rt.store.tableName, Key: runKey(first!.runId) }),
    );
    const slot = Date.parse(first!.scheduledAt);
    const deps = {
      store: s.rt.store,
      dispatcher: s.rt.dispatcher,
      signals: s.rt.signals,
      pools: s.rt.routing,
      log: silentLog,
    };
    expect(await backfill(deps, 'sfn-reuse', { from: slot, to: slot + 1 }, s.clock.now)).toMatchObject({
      created: 1,
    });
    expect(await s.rt.drain()).toEqual(['handed-off']);

    const again = await s.rt.store.getRun(first!.runId);
    const executions = s.sfn.ofRun(first!.runId);
    expect(executions).toHaveLength(2);
    expect(executions[0]?.status).toBe('RUNNING');
    expect(sha256(carried(executions[0]!) ?? '')).toBe(again?.completionTokenHash);
    await awsMinute(s, 6);
    expect(await s.rt.store.getRun(first!.runId)).toMatchObject({ status: 'running', attempt: 1 });

    s.sfn.finish(executions[0]!.executionArn, 'SUCCEEDED', {
      output: JSON.stringify({ from: 'the backfill' }),
    });
    await awsMinute(s, 6);
    expect(await s.rt.store.getRun(first!.runId)).toMatchObject({
      status: 'succeeded',
      output: { from: 'the backfill' },
    });
  });

  it('an execution under the attempt’s name that carries another token is ignored, logged and counted', async () => {
    const s = await awsSetup('sfn-impostor', {
      schedule: 'rate(1 day)',
      heartbeatTimeout: '5m',
      maxRunDuration: '2h',
      retry: { maxAttempts: 2, backoff: '1s' },
    });
    await s.rt.tick();
    await s.rt.drain();
    const [run] = await s.rt.allRuns();
    const [execution] = s.sfn.ofRun(run!.runId);
    execution!.input = JSON.stringify({
      ...JSON.parse(execution!.input),
      completionToken: 'another-token-0123456789',
    });
    s.sfn.finish(execution!.executionArn, 'SUCCEEDED', { output: JSON.stringify({ not: 'ours' }) });
    await awsMinute(s, 6);
    const after = await s.rt.store.getRun(run!.runId);
    expect(after?.output).toBeUndefined();
    expect(after?.attempts[0]).toMatchObject({ attempt: 1, status: 'lost' });
    expect(
      s.rt.signals.metrics.filter((m) => m.name === 'ExternalTokenMismatch').length,
    ).toBeGreaterThanOrEqual(1);
    expect(
      s.lines.some((l) => l.level === 'warn' && String(l.extra?.reason).includes('another completion token')),
    ).toBe(true);
  });
});

describe('defect 5: a timed-out stepfunctions/ecs attempt is stopped, and retried only once AWS says it ended', () => {
  it('stepfunctions: StopExecution past maxRunDuration, then the retry; never two executions at once', async () => {
    const s = await awsSetup('sfn-overrun', {
      schedule: 'rate(1 day)',
      heartbeatTimeout: '5m',
      maxRunDuration: '10m',
      retry: { maxAttempts: 2, backoff: '1s' },
    });
    await s.rt.tick();
    await s.rt.drain();
    const [run] = await s.rt.allRuns();
    const [first] = s.sfn.ofRun(run!.runId);
    await awsMinute(s, 14);
    expect(s.sfn.calls.filter((c) => c.command === 'StopExecution').map((c) => c.input.executionArn)).toEqual(
      [first!.executionArn],
    );
    expect(first?.status).toBe('ABORTED');
    const retried = await s.rt.store.getRun(run!.runId);
    expect(retried).toMatchObject({ status: 'running', attempt: 2 });
    expect(retried?.attempts[0]).toMatchObject({ attempt: 1, status: 'failed' });
    expect(retried?.attempts[0]?.error).toContain('ran past maxRunDuration');
    expect(retried?.attempts[0]?.error).toContain('ABORTED');
    expect(s.sfn.ofRun(run!.runId)).toHaveLength(2);
    expect(s.sfn.maxRunning).toBe(1);
  });

  it('ecs: StopTask past maxRunDuration; the attempt waits while the task stops, then is retried', async () => {
    const s = await awsSetup('ecs-overrun', {
      schedule: 'rate(1 day)',
      heartbeatTimeout: '5m',
      maxRunDuration: '10m',
      retry: { maxAttempts: 2, backoff: '1s' },
      target: ECS_TARGET,
    });
    await s.rt.tick();
    await s.rt.drain();
    const [run] = await s.rt.allRuns();
    const [first] = s.ecs.ofRun(run!.runId);
    await awsMinute(s, 13);
    // Asked to stop, the task is still stopping (its containers have not exited): no retry yet.
    expect(s.ecs.calls.filter((c) => c.command === 'StopTask').map((c) => c.input.task)).toEqual([
      first!.taskArn,
    ]);
    expect(first).toMatchObject({ desiredStatus: 'STOPPED', lastStatus: 'DEACTIVATING' });
    const stopping = await s.rt.store.getRun(run!.runId);
    expect(stopping).toMatchObject({ status: 'running', attempt: 1, stopRequestedAt: expect.any(String) });
    expect(s.ecs.ofRun(run!.runId)).toHaveLength(1);

    s.ecs.settle();
    await awsMinute(s, 3);
    const retried = await s.rt.store.getRun(run!.runId);
    expect(retried).toMatchObject({ status: 'running', attempt: 2 });
    expect(retried?.stopRequestedAt).toBeUndefined();
    expect(retried?.attempts[0]?.error).toContain('ran past maxRunDuration');
    expect(retried?.attempts[0]?.error).toContain('exited with code 143');
    expect(s.ecs.ofRun(run!.runId)).toHaveLength(2);
    expect(s.ecs.maxRunning).toBe(1);
  });

  it('ecs: a task that does not stop within 10 minutes of StopTask fails the run timeout, without a retry beside it', async () => {
    const s = await awsSetup('ecs-stuck', {
      schedule: 'rate(1 day)',
      heartbeatTimeout: '5m',
      maxRunDuration: '10m',
      retry: { maxAttempts: 3, backoff: '1s' },
      target: ECS_TARGET,
    });
    await s.rt.tick();
    await s.rt.drain();
    const [run] = await s.rt.allRuns();
    await awsMinute(s, 22);
    const ended = await s.rt.store.getRun(run!.runId);
    expect(ended).toMatchObject({ status: 'failed', reason: 'timeout', attempt: 1 });
    expect(ended?.lastError).toContain('not retried');
    expect(s.ecs.ofRun(run!.runId)).toHaveLength(1);
    expect(s.ecs.maxRunning).toBe(1);
  });
});
