import { ECSClient, InvalidParameterException, RunTaskCommand } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionLimitExceeded,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { validateJob } from '../../../shared/jobs/schema.js';
import type { EcsTarget, StepFunctionsTarget } from '../../../shared/jobs/types.js';
import { ECS_ENV, MAX_OVERRIDE_BYTES } from '../../../shared/targets/ecs.js';
import { builtinHandlers } from '../../../shared/targets/handlers.js';
import { invokeTarget } from '../../../shared/targets/invoke.js';
import {
  clientTokenFor,
  EXECUTION_NAME_MAX,
  executionArn,
  executionName,
  legacyExecutionName,
  parseExecutionName,
  runOfExecution,
  STARTED_BY_MAX,
  stackTag,
  startedByFor,
  tokenDigest,
  tokenHash,
} from '../../../shared/targets/names.js';
import { type RunContext, type TargetClients, TargetError } from '../../../shared/targets/types.js';

// Step Functions and ECS have no emulator here: the start calls run against aws-sdk-client-mock.
const config = { region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const sfn = new SFNClient(config);
const ecs = new ECSClient(config);
const sfnMock = mockClient(sfn);
const ecsMock = mockClient(ecs);
const clients: TargetClients = {
  lambda: new LambdaClient(config),
  sqs: new SQSClient(config),
  eventBridge: new EventBridgeClient(config),
  sfn,
  ecs,
};

const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:nightly';
const ctx: RunContext = {
  jobId: 'nightly-report',
  runId: 'nightly-report@2026-03-01T02:00:00.000Z',
  scheduledAt: '2026-03-01T02:00:00.000Z',
  attempt: 2,
  manual: false,
  payload: { region: 'eu' },
  completionToken: 'tok-0123456789abcdef0123456789abcdef',
};
const sfnTarget: StepFunctionsTarget = {
  type: 'stepfunctions',
  stateMachineArn: MACHINE,
  completion: 'async',
  timeout: 5_000,
};
const ecsTarget: EcsTarget = {
  type: 'ecs',
  cluster: 'jobs',
  taskDefinition: 'report:3',
  containerName: 'app',
  launchType: 'FARGATE',
  network: { subnets: ['subnet-0123abcd'], securityGroups: ['sg-0123abcd'], assignPublicIp: false },
  completion: 'async',
  timeout: 5_000,
};

const STACK = stackTag('Prod-SchedulerTable');
const HASH = tokenHash(ctx.completionToken ?? '');

function invoke(target: StepFunctionsTarget | EcsTarget, context: RunContext = ctx, with_ = clients) {
  return invokeTarget(target, context, {
    clients: with_,
    handlers: builtinHandlers(),
    signal: new AbortController().signal,
    stack: STACK,
  });
}

async function failure(promise: Promise<unknown>): Promise<TargetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TargetError);
  return error as TargetError;
}

afterEach(() => {
  sfnMock.reset();
  ecsMock.reset();
});

describe('stepfunctions: execution names', () => {
  it('derives a name within Step Functions rules, unique per stack and per attempt', () => {
    const first = executionName(STACK, ctx.runId, 1, tokenHash('token-of-attempt-1'));
    const second = executionName(STACK, ctx.runId, 2, tokenHash('token-of-attempt-2'));
    const otherStack = executionName(
      stackTag('Staging-SchedulerTable'),
      ctx.runId,
      1,
      tokenHash('token-of-attempt-1'),
    );
    // The same run id and attempt with another token (a backfill of a slot whose record expired).
    const again = executionName(STACK, ctx.runId, 1, tokenHash('a-later-token'));
    expect(new Set([first, second, otherStack, again]).size).toBe(4);
    for (const name of [first, second, otherStack, again]) {
      expect(name.length).toBeLessThanOrEqual(EXECUTION_NAME_MAX);
      expect(name).toMatch(/^punctual-[A-Za-z0-9_-]+$/);
    }
    expect(first).toMatch(
      new RegExp(`^punctual-${STACK}-nightly-report-20260301T020000000Z-a1-[a-z0-9]{10}$`),
    );
  });

  it('shortens a long job id to 80 characters; the token digest keeps the names apart', () => {
    const long = `${'a'.repeat(120)}.x`;
    const a = executionName(STACK, `${long}@2026-03-01T02:00:00.000Z`, 1, tokenHash('t1'));
    const b = executionName(STACK, `${'a'.repeat(120)}_x@2026-03-01T02:00:00.000Z`, 1, tokenHash('t2'));
    expect(a.length).toBe(EXECUTION_NAME_MAX);
    expect(a).not.toBe(b);
  });

  it('maps a name back to its run and attempt, from the input or from the name alone, with its token digest', () => {
    const manual = 'nightly-report@manual-2026-03-01T02:03:04.005Z';
    const name = executionName(STACK, manual, 3, HASH);
    expect(parseExecutionName(name)).toMatchObject({
      stack: STACK,
      manual: true,
      attempt: 3,
      scheduledAt: '2026-03-01T02:03:04.005Z',
    });
    expect(runOfExecution(name)).toEqual({ runId: manual, attempt: 3, tokenDigest: tokenDigest(HASH) });
    const dotted = 'daily.report@2026-03-01T02:00:00.000Z';
    const dottedName = executionName(STACK, dotted, 1, HASH);
    expect(runOfExecution(dottedName, dotted)).toMatchObject({ runId: dotted, attempt: 1 });
    // An input naming another run than the name holds is not this execution's.
    expect(runOfExecution(dottedName, 'other@2026-03-01T02:00:00.000Z')).toBeUndefined();
    expect(runOfExecution('my-own-execution')).toBeUndefined();
  });

  it('still maps a name of the previous form (an attempt started before the upgrade) by its digest', () => {
    const legacy = legacyExecutionName(ctx.runId, 2);
    expect(legacy).toMatch(/^punctual-nightly-report-20260301T020000000Z-a2-[a-z0-9]{10}$/);
    expect(runOfExecution(legacy)).toEqual({ runId: ctx.runId, attempt: 2 });
    expect(runOfExecution(legacy, 'nightly-report@2026-03-02T02:00:00.000Z')).toEqual({
      runId: ctx.runId,
      attempt: 2,
    });
    const forged = legacy.replace(/-a2-/, '-a3-');
    expect(runOfExecution(forged)).toBeUndefined();
  });

  it('derives the execution ARN from a state machine, version or alias ARN', () => {
    expect(executionArn(`${MACHINE}:prod`, 'n1')).toBe(
      'arn:aws:states:eu-west-1:123456789012:execution:nightly:n1',
    );
    expect(executionArn(MACHINE, 'n1')).toBe('arn:aws:states:eu-west-1:123456789012:execution:nightly:n1');
  });
});

describe('stepfunctions: StartExecution', () => {
  it('starts an execution named after the run and attempt with the run context as input', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date(0) });
    const result = await invoke(sfnTarget);
    expect(result.detail).toBe('ExecutionArn arn:x');
    const input = sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(input?.stateMachineArn).toBe(MACHINE);
    expect(input?.name).toBe(executionName(STACK, ctx.runId, 2, HASH));
    expect(JSON.parse(input?.input ?? '{}')).toMatchObject({
      runId: ctx.runId,
      attempt: 2,
      payload: { region: 'eu' },
      completionToken: ctx.completionToken,
    });
  });

  it('takes an execution that already has the name as this attempt handed off when its input carries the token', async () => {
    const name = executionName(STACK, ctx.runId, 2, HASH);
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }))
      .on(DescribeExecutionCommand)
      .resolves({
        name,
        status: 'SUCCEEDED',
        input: JSON.stringify({ runId: ctx.runId, completionToken: ctx.completionToken }),
      } as never);
    const result = await invoke(sfnTarget);
    expect(result.detail).toContain('(already started)');
    expect(result.detail).toContain(`execution:nightly:${name}`);
    expect(sfnMock.commandCalls(DescribeExecutionCommand)[0]?.args[0].input.executionArn).toBe(
      executionArn(MACHINE, name),
    );
  });

  it('fails the attempt, retryable, when the execution that has the name carries another token', async () => {
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }))
      .on(DescribeExecutionCommand)
      .resolves({
        status: 'SUCCEEDED',
        input: JSON.stringify({ completionToken: 'another-token' }),
      } as never);
    const error = await failure(invoke(sfnTarget));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("does not carry this attempt's completion token");
  });

  it('fails at once without a stack tag: names would not tell stacks apart', async () => {
    const error = await failure(
      invokeTarget(sfnTarget, ctx, {
        clients,
        handlers: builtinHandlers(),
        signal: new AbortController().signal,
      }),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('stack tag');
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('fails without a retry when the state machine does not exist, retries when executions are at their limit', async () => {
    sfnMock
      .on(StartExecutionCommand)
      .rejectsOnce(new StateMachineDoesNotExist({ message: 'State Machine Does Not Exist', $metadata: {} }))
      .rejectsOnce(new ExecutionLimitExceeded({ message: 'too many', $metadata: {} }));
    const missing = await failure(invoke(sfnTarget));
    expect(missing.retryable).toBe(false);
    expect(missing.message).toContain('StateMachineDoesNotExist');
    const limited = await failure(invoke(sfnTarget));
    expect(limited.retryable).toBe(true);
  });

  it('fails at once in an executor without a Step Functions client', async () => {
    const { sfn: _sfn, ...without } = clients;
    const error = await failure(invoke(sfnTarget, ctx, without));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('no Step Functions client');
  });
});

describe('ecs: RunTask', () => {
  it('runs one task with the run context in the container environment, idempotent per attempt', async () => {
    ecsMock
      .on(RunTaskCommand)
      .resolves({ tasks: [{ taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/jobs/abc' }] });
    const result = await invoke(ecsTarget);
    expect(result.detail).toBe('TaskArn arn:aws:ecs:eu-west-1:123456789012:task/jobs/abc');
    const input = ecsMock.commandCalls(RunTaskCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      cluster: 'jobs',
      taskDefinition: 'report:3',
      count: 1,
      launchType: 'FARGATE',
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ['subnet-0123abcd'],
          securityGroups: ['sg-0123abcd'],
          assignPublicIp: 'DISABLED',
        },
      },
      startedBy: startedByFor(STACK, HASH),
      clientToken: clientTokenFor(STACK, HASH),
    });
    expect(input?.startedBy).toMatch(new RegExp(`^punctual-${STACK}-[a-z0-9]+$`));
    expect(input?.startedBy?.length).toBe(STARTED_BY_MAX);
    expect(input?.clientToken).toMatch(/^[0-9a-f]{64}$/);
    expect(clientTokenFor(stackTag('Staging-SchedulerTable'), HASH)).not.toBe(input?.clientToken);
    const override = input?.overrides?.containerOverrides?.[0];
    expect(override?.name).toBe('app');
    const env = Object.fromEntries((override?.environment ?? []).map((e) => [e.name, e.value]));
    expect(env[ECS_ENV.runId]).toBe(ctx.runId);
    expect(env[ECS_ENV.attempt]).toBe('2');
    expect(env[ECS_ENV.token]).toBe(ctx.completionToken);
    expect(JSON.parse(env[ECS_ENV.context] ?? '{}')).toMatchObject({
      jobId: 'nightly-report',
      payload: { region: 'eu' },
    });
  });

  it('fails when RunTask places no task: capacity is retried, a missing resource is not', async () => {
    ecsMock
      .on(RunTaskCommand)
      .resolvesOnce({ tasks: [], failures: [{ reason: 'RESOURCE:MEMORY', arn: 'arn:i' }] })
      .resolvesOnce({ tasks: [], failures: [{ reason: 'MISSING', detail: 'subnet-0123abcd' }] });
    const capacity = await failure(invoke(ecsTarget));
    expect(capacity.retryable).toBe(true);
    expect(capacity.message).toContain('RESOURCE:MEMORY');
    const missing = await failure(invoke(ecsTarget));
    expect(missing.retryable).toBe(false);
    expect(missing.message).toContain('MISSING (subnet-0123abcd)');
  });

  it('fails without a retry on an invalid parameter, and before calling ECS when the context is too big', async () => {
    ecsMock
      .on(RunTaskCommand)
      .rejects(new InvalidParameterException({ message: 'bad family', $metadata: {} }));
    const invalid = await failure(invoke(ecsTarget));
    expect(invalid.retryable).toBe(false);
    ecsMock.reset();
    const big = await failure(
      invoke(ecsTarget, { ...ctx, payload: { blob: 'x'.repeat(MAX_OVERRIDE_BYTES) } }),
    );
    expect(big.retryable).toBe(false);
    expect(big.message).toMatch(/at most 8192 bytes of overrides/);
    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(0);
  });
});

describe('ecs: the network the operator declared', () => {
  const declared = { subnets: ['subnet-0123abcd'], securityGroups: ['sg-0123abcd'], allowPublicIp: false };
  const withPolicy = (target: EcsTarget, ecsNetwork = declared) =>
    invokeTarget(target, ctx, {
      clients,
      handlers: builtinHandlers(),
      signal: new AbortController().signal,
      stack: STACK,
      ecsNetwork,
    });

  it('runs a task in a declared subnet behind a declared group', async () => {
    ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: 'arn:aws:ecs:eu-west-1:1:task/jobs/a' }] });

    await withPolicy(ecsTarget);

    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(1);
  });

  it('refuses, finally and before RunTask, another subnet, another group, no group, or a public IP', async () => {
    const cases: [EcsTarget['network'], RegExp][] = [
      [
        { subnets: ['subnet-0123abcd', 'subnet-0badbad0'], securityGroups: ['sg-0123abcd'] },
        /target\.network\.subnets\[1\] "subnet-0badbad0": is not a subnet the operator declared/,
      ],
      [
        { subnets: ['subnet-0123abcd'], securityGroups: ['sg-0ther000'] },
        /target\.network\.securityGroups\[0\] "sg-0ther000": is not a security group the operator declared/,
      ],
      [
        { subnets: ['subnet-0123abcd'] },
        /target\.network\.securityGroups: is required: without it the task gets the VPC's default security group/,
      ],
      [
        { subnets: ['subnet-0123abcd'], securityGroups: ['sg-0123abcd'], assignPublicIp: true },
        /target\.network\.assignPublicIp true: is not allowed: tasks get no public IP unless the operator allows it/,
      ],
    ];
    for (const [network, message] of cases) {
      const error = await failure(withPolicy({ ...ecsTarget, network }));
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(message);
    }
    // Nothing declared (AsyncTargets without ecsNetwork): no network may be named.
    const none = await failure(
      withPolicy(ecsTarget, { subnets: [], securityGroups: [], allowPublicIp: false }),
    );
    expect(none.message).toMatch(/subnets\[0\] "subnet-0123abcd": is not a subnet the operator declared/);
    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(0);
  });

  it('allows a public IP where the operator allowed it', async () => {
    ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: 'arn:aws:ecs:eu-west-1:1:task/jobs/a' }] });
    const network = { ...ecsTarget.network!, assignPublicIp: true };

    await withPolicy({ ...ecsTarget, network }, { ...declared, allowPublicIp: true });

    const input = ecsMock.commandCalls(RunTaskCommand)[0]?.args[0].input;
    expect(input?.networkConfiguration?.awsvpcConfiguration?.assignPublicIp).toBe('ENABLED');
  });
});

function job(target: Record<string, unknown>) {
  return validateJob({ id: 'j', schedule: 'rate(1 hour)', target });
}

describe('targets stepfunctions and ecs: validation', () => {
  it('accepts both, async by default, and refuses completion: sync', () => {
    const ok = job({ type: 'stepfunctions', stateMachineArn: MACHINE });
    expect(ok.ok && ok.job.target).toEqual({ ...sfnTarget, timeout: 30_000 });
    const sync = job({ type: 'stepfunctions', stateMachineArn: MACHINE, completion: 'sync' });
    expect(sync.ok).toBe(false);
    expect(!sync.ok && sync.violations[0]).toMatchObject({ path: 'target.completion' });
    expect(!sync.ok && sync.violations[0]?.message).toContain('must be async');
  });

  it('names each broken field of a stepfunctions or ecs target', () => {
    const bad = job({ type: 'stepfunctions', stateMachineArn: 'nightly' });
    expect(!bad.ok && bad.violations.map((v) => [v.path, v.value])).toEqual([
      ['target.stateMachineArn', 'nightly'],
    ]);
    expect(!bad.ok && bad.violations[0]?.message).toContain('must be a state machine ARN');
    const ecsBad = job({
      type: 'ecs',
      cluster: 'jobs/x',
      taskDefinition: 'report:0',
      containerName: 'app',
      network: { subnets: ['vpc-1'] },
    });
    expect(!ecsBad.ok && ecsBad.violations.map((v) => v.path)).toEqual([
      'target.cluster',
      'target.taskDefinition',
      'target.network.subnets[0]',
    ]);
  });

  it('refuses launchType with a capacity provider strategy, and Fargate without a network', () => {
    const both = job({
      type: 'ecs',
      cluster: 'jobs',
      taskDefinition: 'report',
      containerName: 'app',
      launchType: 'EC2',
      capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT' }],
    });
    expect(!both.ok && both.violations.map((v) => v.path)).toEqual([
      'target.capacityProviderStrategy',
      'target.network',
    ]);
    expect(!both.ok && both.violations[1]?.message).toContain('is required on Fargate');
    const ec2 = job({
      type: 'ecs',
      cluster: 'jobs',
      taskDefinition: 'report',
      containerName: 'app',
      launchType: 'EC2',
    });
    expect(ec2.ok).toBe(true);
  });
});
