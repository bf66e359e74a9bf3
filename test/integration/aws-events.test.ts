/**
 * The completion path of the stepfunctions and ecs targets against DynamoDB Local and the SQS emulator:
 * the executor hands the run off (StartExecution / RunTask through aws-sdk-client-mock: no emulator of
 * either exists here), then AWS-shaped EventBridge events go through the events function's handler into
 * the table; the sweep's DescribeExecution / DescribeTasks fallback settles an attempt whose event never came.
 */
import {
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  type RunTaskRequest,
} from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  type StartExecutionInput,
} from '@aws-sdk/client-sfn';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsEventsHandler } from '../../functions/aws-events.js';
import type { LocalRuntime } from '../../local/runtime.js';
import { sweepAsync } from '../../shared/runs/completion.js';
import type { ExecuteDeps } from '../../shared/runs/execute.js';
import { messageFor, silentLog } from '../../shared/runs/lifecycle.js';
import type { RunItem } from '../../shared/store/model.js';
import { createExternalCheck } from '../../shared/targets/external.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import { stackTag } from '../../shared/targets/names.js';
import { ecsEvent, STATE_MACHINE, sfnEvent, TASK_ARN } from '../support/aws-events.js';
import { executeBody, executorDeps } from '../support/executor.js';
import { job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const sfn = new SFNClient(config);
const ecs = new ECSClient(config);
const sfnMock = mockClient(sfn);
const ecsMock = mockClient(ecs);

let runtime: LocalRuntime | undefined;
let clock: ManualClock;

beforeEach(() => {
  sfnMock.on(StartExecutionCommand).callsFake(async (input: StartExecutionInput) => ({
    executionArn: `arn:aws:states:us-east-1:111122223333:execution:nightly:${input.name}`,
    startDate: new Date(clock.now),
  }));
  ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }] });
});

afterEach(async () => {
  sfnMock.reset();
  ecsMock.reset();
  await runtime?.stop();
  runtime = undefined;
});

function fakeAwsDeps(rt: LocalRuntime): ExecuteDeps {
  return executorDeps(rt, clock, builtinHandlers(), { sqs: rt.sqs, sfn, ecs });
}

function eventsHandler(rt: LocalRuntime) {
  return createAwsEventsHandler({
    store: rt.store,
    dispatcher: rt.dispatcher,
    signals: rt.signals,
    pools: rt.routing,
    log: silentLog,
    clock: clock.fn,
  });
}

/** A job of `target` with one slot claimed by the tick; returns its run, dispatched. */
async function claimed(id: string, target: Record<string, unknown>, maxAttempts = 2): Promise<RunItem> {
  clock = new ManualClock(T0);
  runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
  await put(
    runtime,
    job(id, { schedule: 'rate(1 hour)', target, retry: { maxAttempts, backoff: '1s' } }),
    T0 - 1000,
  );
  await runtime.tick();
  const [run] = await runtime.allRuns();
  expect(run?.status).toBe('dispatched');
  return run!;
}

/** Runs attempt `attempt` of the run through the executor: the hand-off. */
async function handOff(run: RunItem, attempt: number): Promise<RunItem> {
  const outcome = await executeBody(fakeAwsDeps(runtime!), JSON.stringify(messageFor(run, attempt)));
  expect(outcome).not.toBe('failed');
  const after = await runtime!.store.getRun(run.runId);
  expect(after, after?.lastError).toMatchObject({ status: 'running', attempt });
  return after!;
}

/** The name and input of the nth StartExecution call. */
function started(n: number): { name: string; input: string } {
  const input = sfnMock.commandCalls(StartExecutionCommand)[n]?.args[0].input;
  return { name: input?.name ?? '', input: input?.input ?? '' };
}

describe('stepfunctions: completion from Execution Status Change events', () => {
  it('SUCCEEDED ends the run succeeded with the execution output; a repeat of the event changes nothing', async () => {
    const run = await claimed('sfn-ok', { type: 'stepfunctions', stateMachineArn: STATE_MACHINE });
    await handOff(run, 1);
    const { name, input } = started(0);
    expect(JSON.parse(input)).toMatchObject({
      runId: run.runId,
      attempt: 1,
      completionToken: expect.any(String),
    });

    clock.advance(42 * 60_000);
    const handle = eventsHandler(runtime!);
    const event = sfnEvent(name, input, 'SUCCEEDED', { output: '{"rows":42}' });
    expect(await handle(event)).toEqual({ outcome: 'applied', runId: run.runId, result: 'succeeded' });
    const done = await runtime!.store.getRun(run.runId);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 1, output: { rows: 42 } });
    expect(Date.parse(done!.finishedAt!) - Date.parse(done!.startedAt!)).toBe(42 * 60_000);

    clock.advance(1_000);
    expect(await handle(event)).toEqual({ outcome: 'applied', runId: run.runId, result: 'duplicate' });
    const again = await runtime!.store.getRun(run.runId);
    expect(again).toEqual(done);
  });

  it('FAILED retries with the error and cause; an event for the older attempt then changes nothing', async () => {
    const run = await claimed('sfn-fail', { type: 'stepfunctions', stateMachineArn: STATE_MACHINE });
    await handOff(run, 1);
    const first = started(0);
    const handle = eventsHandler(runtime!);

    clock.advance(60_000);
    const failed = sfnEvent(first.name, first.input, 'FAILED', {
      error: 'States.TaskFailed',
      cause: 'report builder crashed',
    });
    expect(await handle(failed)).toMatchObject({ outcome: 'applied', result: 'retrying' });
    const retrying = await runtime!.store.getRun(run.runId);
    expect(retrying?.status).toBe('retrying');
    expect(retrying?.lastError).toContain('States.TaskFailed (report builder crashed)');

    clock.advance(2_000);
    await handOff(retrying!, 2);
    const second = started(1);
    expect(second.name).not.toBe(first.name);
    expect(JSON.parse(second.input).completionToken).not.toBe(JSON.parse(first.input).completionToken);

    // A late SUCCEEDED of attempt 1 (say, a redriven execution): attempt 2 keeps running.
    clock.advance(1_000);
    const stale = await handle(sfnEvent(first.name, first.input, 'SUCCEEDED', { output: '1' }));
    expect(stale.outcome).toBe('refused');
    expect(await runtime!.store.getRun(run.runId)).toMatchObject({ status: 'running', attempt: 2 });

    // The last attempt fails: the run fails, and its message goes to the DLQ.
    expect(await handle(sfnEvent(second.name, second.input, 'TIMED_OUT'))).toMatchObject({
      result: 'failed',
    });
    const end = await runtime!.store.getRun(run.runId);
    expect(end).toMatchObject({ status: 'failed', attempt: 2 });
    expect(end?.lastError).toContain('TIMED_OUT');
    const { Messages = [] } = await runtime!.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: runtime!.pools[0]!.dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    expect(Messages.map((m) => JSON.parse(m.Body ?? '{}').runId)).toContain(run.runId);
  });

  it('ignores an execution of another stack: same run id, another token', async () => {
    const run = await claimed('sfn-foreign', { type: 'stepfunctions', stateMachineArn: STATE_MACHINE });
    await handOff(run, 1);
    const { name, input } = started(0);
    const foreign = JSON.stringify({
      ...JSON.parse(input),
      completionToken: 'another-stacks-token-0123456789',
    });
    const outcome = await eventsHandler(runtime!)(sfnEvent(name, foreign, 'SUCCEEDED'));
    expect(outcome.outcome).toBe('ignored');
    expect(await runtime!.store.getRun(run.runId)).toMatchObject({ status: 'running', attempt: 1 });
  });

  it('the sweep asks DescribeExecution when the event never came: succeeded, or still running', async () => {
    const run = await claimed('sfn-sweep', { type: 'stepfunctions', stateMachineArn: STATE_MACHINE });
    const running = await handOff(run, 1);
    const { name, input } = started(0);
    const checkExternal = createExternalCheck({ sfn, ecs }, stackTag(runtime!.store.tableName));
    const deps = { ...fakeAwsDeps(runtime!), checkExternal };

    sfnMock
      .on(DescribeExecutionCommand)
      .resolves({ ...sfnEvent(name, input, 'RUNNING').detail, startDate: new Date(T0) } as never);
    clock.advance(6 * 60_000); // past the 5-minute heartbeat timeout
    expect(await sweepAsync(deps, running, clock.now)).toBe('reported');
    const still = await runtime!.store.getRun(run.runId);
    expect(still).toMatchObject({ status: 'running', attempt: 1 });
    expect(Date.parse(still!.heartbeatDeadline!)).toBeGreaterThan(clock.now);

    sfnMock.on(DescribeExecutionCommand).resolves({
      ...sfnEvent(name, input, 'SUCCEEDED', { output: '"done"' }).detail,
      startDate: new Date(T0),
    } as never);
    clock.advance(6 * 60_000);
    expect(await sweepAsync(deps, still!, clock.now)).toBe('reported');
    expect(await runtime!.store.getRun(run.runId)).toMatchObject({ status: 'succeeded', output: 'done' });
    const asked = sfnMock
      .commandCalls(DescribeExecutionCommand)
      .map((call) => call.args[0].input.executionArn);
    expect(asked).toEqual([
      `arn:aws:states:us-east-1:111122223333:execution:nightly:${name}`,
      `arn:aws:states:us-east-1:111122223333:execution:nightly:${name}`,
    ]);
  });
});

describe('ecs: completion from Task State Change events', () => {
  const target = {
    type: 'ecs',
    cluster: 'FargateCluster',
    taskDefinition: 'sample-fargate:1',
    containerName: 'FargateApp',
    launchType: 'FARGATE',
    network: { subnets: ['subnet-0123abcd'] },
  };

  function taskRun(): { runId: string; attempt: number; token: string } {
    const input = ecsMock.commandCalls(RunTaskCommand).at(-1)?.args[0].input as RunTaskRequest;
    const env = Object.fromEntries(
      (input.overrides?.containerOverrides?.[0]?.environment ?? []).map((e) => [e.name, e.value]),
    );
    return {
      runId: env['PUNCTUAL_RUN_ID'] ?? '',
      attempt: Number(env['PUNCTUAL_ATTEMPT']),
      token: env['PUNCTUAL_COMPLETION_TOKEN'] ?? '',
    };
  }

  it('STOPPED with exit code 1 fails the run with the stopped reason; exit code 0 of the retry succeeds it', async () => {
    const run = await claimed('ecs-job', target);
    await handOff(run, 1);
    const handle = eventsHandler(runtime!);
    const first = taskRun();
    expect(first).toMatchObject({ runId: run.runId, attempt: 1 });

    expect(await handle(ecsEvent(first, 'RUNNING'))).toMatchObject({ outcome: 'ignored' });
    clock.advance(90_000);
    const stopped = ecsEvent(first, 'STOPPED', { exitCode: 1, reason: 'OutOfMemoryError: Container killed' });
    expect(await handle(stopped)).toMatchObject({ outcome: 'applied', result: 'retrying' });
    expect((await runtime!.store.getRun(run.runId))?.lastError).toContain(
      'container FargateApp exited with code 1 (OutOfMemoryError: Container killed)',
    );
    // The same event delivered twice: the second changes nothing.
    const before = await runtime!.store.getRun(run.runId);
    await handle(stopped);
    expect(await runtime!.store.getRun(run.runId)).toEqual(before);

    clock.advance(2_000);
    await handOff(before!, 2);
    const second = taskRun();
    clock.advance(60_000);
    expect(await handle(ecsEvent(second, 'STOPPED', { exitCode: 0 }))).toMatchObject({ result: 'succeeded' });
    expect(await runtime!.store.getRun(run.runId)).toMatchObject({
      status: 'succeeded',
      attempt: 2,
      output: { taskArn: TASK_ARN, exitCode: 0 },
    });
  });

  it('the sweep finds the stopped task with ListTasks(startedBy) and DescribeTasks', async () => {
    const run = await claimed('ecs-sweep', target, 1);
    const running = await handOff(run, 1);
    const task = taskRun();
    const detail = ecsEvent(task, 'STOPPED', { exitCode: 2 }).detail;
    ecsMock
      .on(ListTasksCommand, { desiredStatus: 'RUNNING' })
      .resolves({ taskArns: [] })
      .on(ListTasksCommand, { desiredStatus: 'STOPPED' })
      .resolves({ taskArns: [TASK_ARN] })
      .on(DescribeTasksCommand)
      .resolves({ tasks: [detail as never] });
    clock.advance(6 * 60_000);
    const deps = {
      ...fakeAwsDeps(runtime!),
      checkExternal: createExternalCheck({ sfn, ecs }, stackTag(runtime!.store.tableName)),
    };
    expect(await sweepAsync(deps, running, clock.now)).toBe('reported');
    const end = await runtime!.store.getRun(run.runId);
    expect(end).toMatchObject({ status: 'failed' });
    expect(end?.lastError).toContain('exited with code 2');
    expect(ecsMock.commandCalls(ListTasksCommand)[0]?.args[0].input.startedBy).toMatch(/^punctual-/);
  });
});
