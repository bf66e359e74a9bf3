/**
 * Overlap `replace` (issue 20 feature 5) against DynamoDB Local and the SQS emulator: a slot due while a
 * run of the job is running stops that run — StopExecution, StopTask, or the worker's next heartbeat —
 * records it cancelled(replaced) naming the new run, and only then starts the new one; a late report of
 * the old run changes nothing; validation refuses replace where a run cannot be stopped. Step Functions
 * and ECS have no emulator: the stateful fakes of test/support/fake-aws.ts stand in.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { CompletionRefusedError, JobValidationError } from '../../shared/errors.js';
import { reportCompletion } from '../../shared/runs/completion.js';
import { silentLog } from '../../shared/runs/lifecycle.js';
import type { RunItem } from '../../shared/store/model.js';
import { type AsyncSetup, asyncSetup, handedOff, MINUTE, minute, takeOne } from '../support/async.js';
import { STATE_MACHINE } from '../support/aws-events.js';
import { FakeEcs, FakeStepFunctions } from '../support/fake-aws.js';
import { job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
let setup: AsyncSetup | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
  await setup?.close();
  setup = undefined;
});

const ECS_TARGET = {
  type: 'ecs',
  cluster: 'jobs',
  taskDefinition: 'export:3',
  containerName: 'app',
  launchType: 'FARGATE',
  network: { subnets: ['subnet-0123abcd'] },
};

/** A runtime on a manual clock whose stepfunctions/ecs targets, executors and sweep talk to the fakes. */
async function awsRuntime(target: Record<string, unknown>) {
  const clock = new ManualClock(T0);
  const sfn = new FakeStepFunctions(clock.fn);
  const ecs = new FakeEcs();
  runtime = await testRuntime({
    clock: clock.fn,
    tick: { lookaheadMs: 0 },
    awsClients: { sfn: sfn.client, ecs: ecs.client },
    log: silentLog,
  });
  const rt = runtime;
  await put(
    rt,
    job('nightly', { schedule: 'rate(1 minute)', overlap: 'replace', heartbeatTimeout: '5m', target }),
    T0 - 1000,
  );
  const step = async (minutes = 1) => {
    for (let m = 0; m < minutes; m++) {
      clock.advance(MINUTE);
      await rt.tick();
      await rt.drain();
    }
  };
  return { rt, clock, sfn, ecs, step };
}

function bySlot(runs: RunItem[]): RunItem[] {
  return [...runs].sort((a, b) => a.scheduledAt.localeCompare(b.scheduledAt));
}

describe('overlap replace: stepfunctions', () => {
  it('the next slot stops the running execution (StopExecution), records it cancelled(replaced) and starts its own', async () => {
    const s = await awsRuntime({ type: 'stepfunctions', stateMachineArn: STATE_MACHINE });
    await s.rt.tick();
    await s.rt.drain();
    const [first] = await s.rt.allRuns();
    const [execution] = s.sfn.ofRun(first!.runId);
    expect(execution?.status).toBe('RUNNING');

    await s.step();
    const [old, next] = bySlot(await s.rt.allRuns());
    expect(old).toMatchObject({ status: 'cancelled', reason: 'replaced', replacedBy: next!.runId });
    expect(old?.lastError).toContain(`replaced by run ${next!.runId}`);
    expect(old?.lastError).toContain('ABORTED');
    expect(execution).toMatchObject({ status: 'ABORTED', error: 'punctual.Replaced' });
    // Started in the same minute, after the stop: one execution of the job at any time.
    expect(next).toMatchObject({ status: 'running', attempt: 1 });
    expect(s.sfn.ofRun(next!.runId)).toHaveLength(1);
    expect(s.sfn.maxRunning).toBe(1);
    const job = await s.rt.store.getJob('nightly');
    expect([...(job?.running ?? [])]).toEqual([next!.runId]);
    expect(job?.held).toBeUndefined();
  });

  it('a late report of the replaced execution (its SUCCEEDED event) cannot change its fate', async () => {
    const s = await awsRuntime({ type: 'stepfunctions', stateMachineArn: STATE_MACHINE });
    await s.rt.tick();
    await s.rt.drain();
    await s.step();
    const [old] = bySlot(await s.rt.allRuns());

    const late = await reportCompletion(
      {
        store: s.rt.store,
        dispatcher: s.rt.dispatcher,
        signals: s.rt.signals,
        pools: s.rt.routing,
        log: silentLog,
      },
      { runId: old!.runId, type: 'complete', attempt: 1, source: 'stepfunctions', output: { rows: 1 } },
      s.clock.now,
    );
    expect(late.ok).toBe(false);
    const after = await s.rt.store.getRun(old!.runId);
    expect(after).toMatchObject({ status: 'cancelled', reason: 'replaced', finishedAt: old!.finishedAt });
    expect(after?.output).toBeUndefined();
    expect(after?.attempts[0]?.lateReports?.map((r) => r.type)).toEqual(['complete']);
  });
});

describe('overlap replace: ecs', () => {
  it('StopTask, then the new run waits (queued) until the task has stopped; never two tasks of the job at once', async () => {
    const s = await awsRuntime(ECS_TARGET);
    await s.rt.tick();
    await s.rt.drain();
    const [first] = await s.rt.allRuns();
    const [task] = s.ecs.ofRun(first!.runId);

    await s.step();
    let [old, next] = bySlot(await s.rt.allRuns());
    expect(s.ecs.calls.filter((c) => c.command === 'StopTask').map((c) => c.input.task)).toEqual([
      task!.taskArn,
    ]);
    expect(task).toMatchObject({ desiredStatus: 'STOPPED', lastStatus: 'DEACTIVATING' });
    // The old task still stops: the old run is running with its replacement recorded, the new one held.
    expect(old).toMatchObject({
      status: 'running',
      replacedBy: next!.runId,
      stopRequestedAt: expect.any(String),
    });
    expect(next).toMatchObject({ status: 'queued' });
    expect(s.ecs.ofRun(next!.runId)).toHaveLength(0);

    s.ecs.settle();
    await s.step(2);
    const runs = bySlot(await s.rt.allRuns());
    [old, next] = runs;
    expect(old).toMatchObject({ status: 'cancelled', reason: 'replaced', replacedBy: next!.runId });
    expect(old?.lastError).toContain('exited with code 143');
    // The new run started once the old task had stopped (and was itself replaced by the slot after).
    expect(next?.startedAt).toBeDefined();
    expect(Date.parse(next!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(old!.finishedAt!));
    expect(s.ecs.ofRun(next!.runId)).toHaveLength(1);
    expect(s.ecs.maxRunning).toBe(1);
    // Every slot has one record; the one that came while a replacement waited was skipped(overlap).
    expect(runs.every((run) => ['cancelled', 'running', 'queued', 'skipped'].includes(run.status))).toBe(
      true,
    );
  });
});

describe('overlap replace: completion async (the worker is told at its heartbeat)', () => {
  it('the worker’s next heartbeat answers cancelled and ends the run; then the new run starts; its late complete changes nothing', async () => {
    setup = await asyncSetup({ schedule: 'rate(1 minute)', overlap: 'replace', heartbeatTimeout: '5m' });
    const old = await handedOff(setup);
    await minute(setup);
    const held = bySlot(await setup.rt.allRuns())[1]!;
    expect(held.status).toBe('queued');
    expect(await setup.rt.store.getRun(old.runId)).toMatchObject({
      status: 'running',
      replacedBy: held.runId,
    });

    const told = await setup.client.heartbeat(old.runId, old.completionToken).catch((e: unknown) => e);
    expect(told).toBeInstanceOf(CompletionRefusedError);
    expect((told as CompletionRefusedError).refused).toBe('cancelled');
    expect((told as CompletionRefusedError).message).toContain(`replaced by run ${held.runId}`);
    expect(await setup.rt.store.getRun(old.runId)).toMatchObject({
      status: 'cancelled',
      reason: 'replaced',
      replacedBy: held.runId,
    });
    expect(await setup.rt.drain()).toEqual(['handed-off']);
    const next = await takeOne(setup.worker);
    expect(next.runId).toBe(held.runId);

    const late = await setup.client
      .complete(old.runId, old.completionToken, { rows: 3 })
      .catch((e: unknown) => e);
    expect((late as CompletionRefusedError).refused).toBe('cancelled');
    expect((late as CompletionRefusedError).kept).toBe(true);
    const after = await setup.rt.store.getRun(old.runId);
    expect(after).toMatchObject({ status: 'cancelled', reason: 'replaced' });
    expect(after?.output).toBeUndefined();
  });

  it('a worker that stays silent is taken to have stopped at its heartbeat deadline; then the new run starts', async () => {
    setup = await asyncSetup({
      schedule: 'rate(1 minute)',
      overlap: 'replace',
      heartbeatTimeout: '2m',
      startingDeadline: '10m',
    });
    const old = await handedOff(setup);
    await minute(setup);
    const held = bySlot(await setup.rt.allRuns())[1]!;
    // Handed off at T0: its heartbeat is due by T0 + 2 min; until then it is the worker's.
    expect((await setup.rt.store.getRun(old.runId))?.status).toBe('running');
    expect(held.status).toBe('queued');
    await minute(setup);
    const ended = await setup.rt.store.getRun(old.runId);
    expect(ended).toMatchObject({ status: 'cancelled', reason: 'replaced', replacedBy: held.runId });
    expect(ended?.lastError).toContain('taken to have stopped');
    expect((await setup.rt.store.getRun(held.runId))?.status).toBe('running');
  });
});

describe('overlap replace: validation', () => {
  it('refuses replace on a target that cannot be stopped, naming field, value and rule', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn });
    for (const target of [
      { type: 'http', url: 'https://example.com/hook' },
      { type: 'handler', name: 'noop' },
      { type: 'lambda', functionName: 'export' },
    ]) {
      const refused = await put(
        runtime,
        job('sync', { schedule: 'rate(1 minute)', overlap: 'replace', target }),
        T0,
      ).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(JobValidationError);
      const [violation] = (refused as JobValidationError).violations;
      expect(violation).toMatchObject({ path: 'overlap', value: 'replace' });
      expect(violation?.message).toContain(`a ${target.type} target ends when its invocation returns`);
    }
    // An asynchronous http target can be replaced: its worker is told at its heartbeat.
    await put(
      runtime,
      job('async', {
        schedule: 'rate(1 minute)',
        overlap: 'replace',
        target: { type: 'http', url: 'https://example.com/hook', completion: 'async' },
      }),
      T0,
    );
    expect((await runtime.store.getJob('async'))?.definition.overlap).toBe('replace');
  });
});
