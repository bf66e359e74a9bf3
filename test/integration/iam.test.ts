/**
 * IAM proven against the calls (issue 17): every AWS call each function makes, recorded on DynamoDB Local
 * and the SQS emulator while the real handlers run a scenario that reaches each kind of call (claims,
 * dispatch, every target type, a retry, a final failure to the DLQ, a stepfunctions run ended by its event,
 * an ecs run the sweep settles with ListTasks/DescribeTasks, an async run completed through the completions
 * queue, a second shard group, a stepfunctions and an ecs run past maxRunDuration in each group (the sweep's
 * StopExecution/StopTask, then its Describe until AWS says they ended), a signed http job whose secrets the
 * executors read through Powertools Parameters: a Secrets Manager secret under a customer managed key, one
 * by name, an SSM SecureString under a customer managed key), is evaluated against that function's role in
 * the synthesized template by an IAM policy simulator (@cloud-copilot/iam-simulate), for each construct
 * variant. Every call must be allowed; every statement of those roles must allow some recorded call, or
 * say here why it exists. The secret reads count only for the variant that declares the secrets (the
 * `secrets` prop); a stack without them refuses a job naming one.
 *
 * The tick's, the executors', the completions function's and the events function's roles are checked; the
 * deploy-jobs custom resource is not run here (its calls are PutItem/UpdateItem/Query/TransactWriteItems on
 * the table, as the operator's `jobs put`), nor are the operator's own calls (a CLI or a client with the
 * operator's credentials, or `grantManageJobs`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsyncTargets } from '../../cdk/async-targets.js';
import { Scheduler, type SchedulerProps } from '../../cdk/scheduler.js';
import { createAwsEventsHandler } from '../../functions/aws-events.js';
import { ENV } from '../../functions/commons/config.js';
import { powertoolsReaders, secretsFromEnv } from '../../functions/commons/secrets.js';
import { type AwsCaller, awsCaller, type LocalRuntime } from '../../local/runtime.js';
import { silentLog } from '../../shared/runs/lifecycle.js';
import { shardOf } from '../../shared/store/model.js';
import { ECS_ENV } from '../../shared/targets/ecs.js';
import { verifySignature } from '../../shared/targets/http.js';
import type { SecretResolver } from '../../shared/targets/secrets.js';
import { exampleProps, newStack } from '../cdk/fixtures.js';
import { type RecordedCall, recordCalls } from '../support/aws-calls.js';
import { sfnEvent } from '../support/aws-events.js';
import { answerCalls, FakeEcs, FakeStepFunctions } from '../support/fake-aws.js';
import {
  ACCOUNT,
  evaluate,
  type IamRequest,
  keyPolicyOf,
  type PolicyDocument,
  policiesOfRole,
  REGION,
  resolveIntrinsics,
} from '../support/iam.js';
import { ManualClock, put, T0, testRuntime } from '../support/runtime.js';

const arn = (service: string, rest: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${rest}`;
const FUNCTION = arn('lambda', 'function:send-reminder');
const MACHINE = arn('states', 'stateMachine:nightly');
const CLUSTER = arn('ecs', 'cluster/jobs');
const TASK_DEFINITION = arn('ecs', 'task-definition/export:3');
const TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/export-task`;
const EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/export-execution`;
const ORDERS_BUS = arn('events', 'event-bus/orders');
const WORK_QUEUE = arn('sqs', 'work');
const MINUTE = 60_000;

// The secrets of the `secrets` variant: where each lives, as AWS names it (a secret's ARN ends in six
// random characters; one imported by name is read by its partial ARN, which AWS resolves to the full one).
const HOOK_SECRET = arn('secretsmanager', 'secret:billing/hook-Ab12Cd');
const PLAIN_SECRET_NAME = 'billing/plain';
const PLAIN_SECRET = arn('secretsmanager', `secret:${PLAIN_SECRET_NAME}-Xy34Zw`);
const API_PARAMETER = '/billing/api-token';
const SECRET_VALUES: Record<string, string> = {
  [HOOK_SECRET]: 'hook-value-3b9f',
  [PLAIN_SECRET]: 'plain-value-71c2',
  [API_PARAMETER]: 'api-value-c04e',
};
/** The full ARN AWS authorizes a GetSecretValue of `secretId` (an ARN, partial or full) against. */
const secretArnOf = (secretId: string) =>
  secretId === arn('secretsmanager', `secret:${PLAIN_SECRET_NAME}`) ? PLAIN_SECRET : secretId;
const parameterArnOf = (name: string) => arn('ssm', `parameter/${name.replace(/^\//, '')}`);

/** A job id of `prefix` whose shard (of 4) tick group `group` (of 2) sweeps. */
function inGroup(prefix: string, group: number): string {
  for (let n = 0; ; n++) if (shardOf(`${prefix}-${n}`, 4) % 2 === group) return `${prefix}-${n}`;
}

// ── the scenario ──────────────────────────────────────────────────────────────────────────────────

/** Lambda and EventBridge answer every call; Step Functions and ECS are the stateful fakes. */
function fakeAws(clock: ManualClock) {
  const lambda = new LambdaClient({ region: REGION });
  const eventBridge = new EventBridgeClient({ region: REGION });
  answerCalls(lambda, (command) =>
    command === 'Invoke' ? { StatusCode: 200, Payload: new TextEncoder().encode('null') } : undefined,
  );
  answerCalls(eventBridge, (command, input) =>
    command === 'PutEvents'
      ? { FailedEntryCount: 0, Entries: (input.Entries as unknown[]).map((_, i) => ({ EventId: `e${i}` })) }
      : undefined,
  );
  return { lambda, eventBridge, sfn: new FakeStepFunctions(clock.fn), ecs: new FakeEcs(ACCOUNT) };
}

/**
 * Secrets Manager and SSM as the executors' Powertools Parameters providers see them (their calls are
 * recorded into `calls` first). A SecureString read without decryption would come back as ciphertext.
 */
function fakeSecretStores(calls: RecordedCall[]) {
  const secretsManager = new SecretsManagerClient({ region: REGION });
  const parameters = new SSMClient({ region: REGION });
  recordCalls(secretsManager, calls);
  recordCalls(parameters, calls);
  answerCalls(secretsManager, (command, input) => {
    const secretArn = secretArnOf(String(input.SecretId));
    const value = SECRET_VALUES[secretArn];
    if (command !== 'GetSecretValue' || !value) return undefined;
    return {
      ARN: secretArn,
      Name: secretArn.split(':')[6]?.slice(0, -7),
      SecretString: value,
      VersionId: 'v1',
    };
  });
  answerCalls(parameters, (command, input) => {
    const value = SECRET_VALUES[String(input.Name)];
    if (command !== 'GetParameter' || !value) return undefined;
    return {
      Parameter: {
        Name: input.Name,
        Type: 'SecureString',
        Value: input.WithDecryption ? value : 'AQICAHh…ciphertext',
        ARN: parameterArnOf(String(input.Name)),
        Version: 1,
      },
    };
  });
  return { secretsManager, ssm: parameters };
}

/**
 * The executors' secrets as on Lambda: each pool's function reads `PUNCTUAL_SECRETS` as the stack sets it,
 * through Powertools Parameters with its own providers (and its own cache), over the recorded clients.
 */
function executorSecrets(env: string, clients: ReturnType<typeof fakeSecretStores>): SecretResolver {
  const byPool = new Map<string, SecretResolver>();
  const resolver = () => {
    const caller = awsCaller.getStore();
    const pool = caller && 'pool' in caller ? caller.pool : '?';
    let secrets = byPool.get(pool);
    if (!secrets) {
      secrets = secretsFromEnv({ [ENV.secrets]: env }, powertoolsReaders(clients));
      byPool.set(pool, secrets);
    }
    return secrets;
  };
  const names = secretsFromEnv({ [ENV.secrets]: env }, powertoolsReaders(clients)).names;
  return { names, has: (name) => names.includes(name), get: (name) => resolver().get(name) };
}

interface Received {
  headers: IncomingHttpHeaders;
  method: string;
  path: string;
  body: string;
}

/** A receiver of the signed http job: it keeps each request. */
async function startReceiver(): Promise<{ server: Server; url: string; seen: Received[] }> {
  const seen: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({ headers: req.headers, method: req.method ?? '', path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`, seen };
}

interface Scenario {
  calls: RecordedCall[];
  /** The executors' reads of the declared secrets: counted for the variant that declares them only. */
  secretCalls: RecordedCall[];
  /** The requests the signed http job's receiver saw. */
  received: Received[];
  /** The executions and tasks of the runs past maxRunDuration, as the fakes ended them. */
  overrun: Record<string, string>;
  runtime: LocalRuntime;
  /** The emulator's URL of each queue, by the template's ARN it stands for. */
  queueArns: Map<string, string>;
  statuses: Record<string, string>;
}

let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;

/** `secretsEnv`: PUNCTUAL_SECRETS of the `secrets` variant's executors, as its template sets it. */
async function runScenario(secretsEnv: string): Promise<Scenario> {
  const calls: RecordedCall[] = [];
  const secretCalls: RecordedCall[] = [];
  const clock = new ManualClock(T0);
  const aws = fakeAws(clock);
  for (const client of [aws.lambda, aws.eventBridge, aws.sfn.client, aws.ecs.client])
    recordCalls(client, calls);
  receiver = await startReceiver();
  const runtime = await testRuntime({
    secrets: executorSecrets(secretsEnv, fakeSecretStores(secretCalls)),
    clock: clock.fn,
    shards: 4,
    tick: { lookaheadMs: 0, groups: 2 },
    // exampleProps()'s pools, as a jobs file gives them.
    jobs: {
      pools: {
        default: { concurrency: 4, timeout: MINUTE, memorySize: 512 },
        batch: { concurrency: 2, timeout: 10 * MINUTE, memorySize: 1024 },
      },
      jobs: [],
    },
    awsClients: {
      lambda: aws.lambda,
      eventBridge: aws.eventBridge,
      sfn: aws.sfn.client,
      ecs: aws.ecs.client,
    },
  });
  recordCalls(runtime.dynamo, calls);
  recordCalls(runtime.sqs, calls);
  const work = (
    await runtime.sqs.send(new CreateQueueCommand({ QueueName: `work-${randomUUID().slice(0, 8)}` }))
  ).QueueUrl!;
  const schedule = 'rate(10 minutes)';
  const retry = { maxAttempts: 2, backoff: '1s' };
  const ecsTarget = {
    type: 'ecs',
    cluster: 'jobs',
    taskDefinition: 'export:3',
    containerName: 'app',
    launchType: 'FARGATE',
    network: { subnets: ['subnet-0123abcd'] },
  };
  // Past maxRunDuration (3 minutes) the sweep stops the execution / task (StopExecution, StopTask) and
  // asks until AWS says it ended (DescribeExecution; ListTasks, DescribeTasks): one job of each in a
  // shard of each tick group (the tick sweeps group 0, the tick worker group 1).
  const overrunBounds = { heartbeatTimeout: '1m', maxRunDuration: '3m', retry: { maxAttempts: 1 } };
  const overrunJobs = [0, 1].flatMap((group) => [
    {
      id: inGroup('overrun', group),
      target: { type: 'stepfunctions', stateMachineArn: MACHINE },
      ...overrunBounds,
    },
    { id: inGroup('overrun-task', group), target: ecsTarget, ...overrunBounds },
  ]);
  // Every target in both pools: each executor role must allow what any job may make it call.
  const jobs = ['default', 'batch'].flatMap((pool) =>
    [
      { id: 'ok', target: { type: 'handler', name: 'noop' } },
      {
        id: 'signed',
        target: {
          type: 'http',
          url: receiver!.url,
          hmacSecret: 'hook',
          headers: {
            authorization: { secret: 'api', prefix: 'Bearer ' },
            'x-plain': { secret: 'plain' },
          },
        },
      },
      { id: 'broken', target: { type: 'handler', name: 'fail' }, retry },
      { id: 'remind', target: { type: 'lambda', functionName: FUNCTION } },
      { id: 'enqueue', target: { type: 'sqs', queueUrl: work } },
      {
        id: 'announce',
        target: { type: 'eventbridge', eventBusName: ORDERS_BUS, source: 'shop', detailType: 'Tick' },
      },
      { id: 'report', target: { type: 'stepfunctions', stateMachineArn: MACHINE } },
      { id: 'redo', target: { type: 'stepfunctions', stateMachineArn: MACHINE }, retry },
      { id: 'watch', target: { type: 'stepfunctions', stateMachineArn: MACHINE } },
      { id: 'export', target: ecsTarget },
      { id: 'agent', target: { type: 'sqs', queueUrl: work, completion: 'async' } },
      { id: 'agent-fails', target: { type: 'sqs', queueUrl: work, completion: 'async' }, retry },
    ]
      .map((job) => ({ ...job, id: `${job.id}-${pool}`, pool, schedule }))
      .concat(
        // Overlap replace: the next minute's slot stops the running execution / task (the executor's
        // StopExecution, ListTasks, DescribeTasks).
        [
          { id: 'swap', target: { type: 'stepfunctions', stateMachineArn: MACHINE } },
          { id: 'swap-task', target: ecsTarget },
        ].map((job) => ({
          ...job,
          id: `${job.id}-${pool}`,
          pool,
          schedule: 'rate(1 minute)',
          overlap: 'replace',
        })),
      ),
  );
  for (const job of [...jobs, ...overrunJobs.map((job) => ({ ...job, schedule }))])
    await put(runtime, job, T0 - 1000);
  const overrunIds = new Set(overrunJobs.map((job) => job.id));
  const drainPools = async () => {
    await runtime.drain('default');
    await runtime.drain('batch');
  };

  // One StartExecution's answer is lost and the SDK sends it again after the (quick) execution ended:
  // ExecutionAlreadyExists, which the executor verifies with DescribeExecution (its own token).
  let lost = 0;
  aws.sfn.loseAnswer = (command, input) =>
    command === 'StartExecution' && String(input.input).includes('"jobId":"report-default"') && lost++ === 0
      ? () => {
          const parts = String(input.stateMachineArn).split(':');
          const executionArn = [...parts.slice(0, 5), 'execution', parts[6], String(input.name)].join(':');
          aws.sfn.finish(executionArn, 'SUCCEEDED', { output: '{"rows":1}' });
        }
      : undefined;
  await runtime.tick();
  await drainPools();
  // The async workers report through the completions queue (their own calls, not a function's).
  const { Messages = [] } = await runtime.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: work, MaxNumberOfMessages: 10 }),
  );
  for (const message of Messages) {
    const context = JSON.parse(message.Body ?? '{}') as {
      jobId: string;
      runId: string;
      completionToken?: string;
    };
    if (!context.completionToken) continue;
    const report = context.jobId.startsWith('agent-fails')
      ? { type: 'fail', error: 'the agent gave up' }
      : { type: 'complete', output: { ok: true } };
    await runtime.sqs.send(
      new SendMessageCommand({
        QueueUrl: runtime.state.completionsQueueUrl,
        MessageBody: JSON.stringify({ runId: context.runId, token: context.completionToken, ...report }),
      }),
    );
  }
  await runtime.drainCompletions();
  // Step Functions' events, through the events function: report-* succeeded, redo-* failed (retried);
  // watch-* get none, so the sweep asks DescribeExecution.
  const handler = createAwsEventsHandler({
    store: runtime.store,
    dispatcher: runtime.dispatcher,
    signals: runtime.signals,
    pools: runtime.routing,
    log: silentLog,
    clock: clock.fn,
  });
  for (const execution of [...aws.sfn.executions.values()]) {
    const { jobId } = JSON.parse(execution.input) as { jobId: string };
    const status = jobId.startsWith('report') ? 'SUCCEEDED' : jobId.startsWith('redo') ? 'FAILED' : undefined;
    if (!status) continue;
    aws.sfn.finish(execution.executionArn, status, { output: '{"rows":1}' });
    const event = sfnEvent(execution.name, execution.input, status, { output: '{"rows":1}' });
    await awsCaller.run({ fn: 'aws-events' }, () =>
      handler({
        ...event,
        detail: { ...event.detail, stateMachineArn: MACHINE, executionArn: execution.executionArn },
      }),
    );
  }
  // The ecs tasks end without an event reaching punctual: the sweep finds them with ListTasks. Those of
  // the runs past maxRunDuration run on (their executions too) until the sweep stops them.
  const jobOfTask = (task: {
    overrides: { containerOverrides?: { environment?: { name?: string; value?: string }[] }[] };
  }) =>
    task.overrides.containerOverrides?.[0]?.environment?.find((e) => e.name === ECS_ENV.jobId)?.value ?? '';
  for (const task of aws.ecs.tasks.values())
    if (!overrunIds.has(jobOfTask(task))) aws.ecs.exit(task.taskArn, 0);
  // The broken jobs' retries, then their final failures (to the DLQ); the async attempts' heartbeat
  // deadlines pass without an event: the sweep asks ECS and Step Functions; past minute 3 it stops the
  // overrun ones, and the tasks it stopped reach STOPPED a minute later.
  for (let minute = 1; minute <= 8; minute++) {
    clock.advance(MINUTE);
    await runtime.tick();
    await drainPools();
    if (minute >= 4) aws.ecs.settle();
  }
  const overrun: Record<string, string> = {};
  for (const execution of aws.sfn.executions.values()) {
    const { jobId } = JSON.parse(execution.input) as { jobId: string };
    if (overrunIds.has(jobId)) overrun[jobId] = execution.status;
  }
  for (const task of aws.ecs.tasks.values())
    if (overrunIds.has(jobOfTask(task))) overrun[jobOfTask(task)] = `${task.lastStatus} ${task.stopCode}`;
  const firstRuns = new Map<string, string>();
  for (const run of (await runtime.allRuns()).sort((a, b) => a.scheduledAt.localeCompare(b.scheduledAt)))
    if (!firstRuns.has(run.jobId)) firstRuns.set(run.jobId, run.status);
  const statuses = Object.fromEntries(firstRuns);
  const queueArns = new Map<string, string>([[WORK_QUEUE, work]]);
  return { calls, secretCalls, received: receiver.seen, overrun, runtime, queueArns, statuses };
}

// ── calls as IAM requests ─────────────────────────────────────────────────────────────────────────

/** Where the local names point on the stack: the table, each pool's queue and DLQ, the completions queue. */
interface StackNames {
  tableArn: string;
  queueArnOf(localUrl: string): string | undefined;
  keyArn?: string;
  busArn: string;
  tickWorkerArn?: string;
  /** The customer managed key of each declared secret under one, by where the executors read it. */
  secretKeys: Map<string, string>;
}

const DYNAMO_READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'ConditionCheckItem']);
const SQS_ACTIONS: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

function dynamoRequests(call: RecordedCall, names: StackNames): IamRequest[] {
  const input = call.input;
  const on = (table: unknown, index?: unknown) => {
    if (typeof table !== 'string') throw new Error(`${call.command} without a table`);
    return index ? `${names.tableArn}/index/${index}` : names.tableArn;
  };
  let requests: IamRequest[];
  if (call.command === 'TransactWriteItems' || call.command === 'TransactGetItems') {
    const actions: Record<string, string> = {
      Put: 'PutItem',
      Update: 'UpdateItem',
      Delete: 'DeleteItem',
      ConditionCheck: 'ConditionCheckItem',
      Get: 'GetItem',
    };
    requests = (input.TransactItems as Record<string, { TableName?: string }>[]).flatMap((item) =>
      Object.entries(item).map(([kind, op]) => ({
        action: `dynamodb:${actions[kind]}`,
        resource: on(op.TableName),
      })),
    );
  } else if (call.command === 'BatchWriteItem' || call.command === 'BatchGetItem') {
    requests = Object.keys(input.RequestItems as object).map((table) => ({
      action: `dynamodb:${call.command}`,
      resource: on(table),
    }));
  } else {
    requests = [{ action: `dynamodb:${call.command}`, resource: on(input.TableName, input.IndexName) }];
  }
  if (!names.keyArn) return requests;
  // A table under a customer managed key: DynamoDB uses the key as the caller (the key policy DynamoDB
  // documents allows kms:Decrypt for reads, and kms:GenerateDataKey* as well for writes, via DynamoDB).
  const kmsActions = requests.every((r) => DYNAMO_READS.has(r.action.slice('dynamodb:'.length)))
    ? ['kms:Decrypt']
    : ['kms:Decrypt', 'kms:GenerateDataKey'];
  return [...requests, ...kmsActions.map((action) => ({ action, resource: names.keyArn as string }))];
}

function requestsOf(call: RecordedCall, names: StackNames): IamRequest[] {
  const input = call.input;
  switch (call.client) {
    case 'DynamoDBClient':
    case 'DynamoDBDocumentClient':
      return dynamoRequests(call, names);
    case 'SQSClient': {
      const queue = names.queueArnOf(input.QueueUrl as string);
      if (!queue) throw new Error(`${call.command} on a queue the stack does not know: ${input.QueueUrl}`);
      return [{ action: `sqs:${SQS_ACTIONS[call.command] ?? call.command}`, resource: queue }];
    }
    case 'LambdaClient':
      return [{ action: 'lambda:InvokeFunction', resource: input.FunctionName as string }];
    case 'EventBridgeClient':
      return (input.Entries as { EventBusName?: string }[]).map((entry) => ({
        action: 'events:PutEvents',
        resource: entry.EventBusName?.startsWith('arn:')
          ? entry.EventBusName
          : arn('events', `event-bus/${entry.EventBusName ?? 'default'}`),
      }));
    case 'SFNClient':
      return [
        {
          action: `states:${call.command}`,
          resource: (call.command === 'StartExecution'
            ? input.stateMachineArn
            : input.executionArn) as string,
        },
      ];
    case 'ECSClient': {
      const cluster = String(input.cluster).startsWith('arn:')
        ? String(input.cluster)
        : arn('ecs', `cluster/${input.cluster}`);
      const context = { 'ecs:cluster': cluster };
      if (call.command === 'RunTask') {
        const definition = String(input.taskDefinition).startsWith('arn:')
          ? String(input.taskDefinition)
          : arn('ecs', `task-definition/${input.taskDefinition}`);
        // RunTask passes the task definition's roles to ECS.
        const pass = { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' };
        return [
          { action: 'ecs:RunTask', resource: definition, context },
          { action: 'iam:PassRole', resource: TASK_ROLE, context: pass },
          { action: 'iam:PassRole', resource: EXECUTION_ROLE, context: pass },
        ];
      }
      if (call.command === 'ListTasks') return [{ action: 'ecs:ListTasks', resource: '*', context }];
      const tasks = (input.tasks as string[] | undefined) ?? [input.task as string];
      return tasks.map((task) => ({ action: `ecs:${call.command}`, resource: task, context }));
    }
    case 'SecretsManagerClient': {
      // Secrets Manager decrypts the value with the secret's key as the caller, via the service.
      const key = names.secretKeys.get(String(input.SecretId));
      return [
        { action: `secretsmanager:${call.command}`, resource: secretArnOf(String(input.SecretId)) },
        ...(key ? [viaService(key, 'secretsmanager')] : []),
      ];
    }
    case 'SSMClient': {
      // GetParameter WithDecryption: SSM has KMS decrypt the SecureString as the caller.
      const key = input.WithDecryption ? names.secretKeys.get(String(input.Name)) : undefined;
      return [
        { action: `ssm:${call.command}`, resource: parameterArnOf(String(input.Name)) },
        ...(key ? [viaService(key, 'ssm')] : []),
      ];
    }
    default:
      throw new Error(`no IAM mapping for ${call.client} ${call.command}`);
  }
}

/** The kms:Decrypt a service makes with the caller's credentials on a key (a secret's, a parameter's). */
function viaService(keyArn: string, service: 'secretsmanager' | 'ssm'): IamRequest {
  return {
    action: 'kms:Decrypt',
    resource: keyArn,
    context: { 'kms:ViaService': `${service}.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT },
  };
}

/**
 * Calls the Lambda functions make that the local runtime makes otherwise: PowertoolsSignals puts each
 * function's lifecycle events (`Run Failed`, `Job Overdue`, …) on the stack's bus (locally
 * RecordingSignals keeps them), and with shard groups the tick invokes the worker (locally a call).
 */
function lambdaOnlyCalls(names: StackNames): [string, IamRequest][] {
  const putEvents = { action: 'events:PutEvents', resource: names.busArn };
  const functions = [
    'tick',
    'tick-worker',
    'executor:default',
    'executor:batch',
    'completions',
    'aws-events',
  ];
  return [
    ...functions.map((fn): [string, IamRequest] => [fn, putEvents]),
    ...(names.tickWorkerArn
      ? [['tick', { action: 'lambda:InvokeFunction', resource: names.tickWorkerArn }] as [string, IamRequest]]
      : []),
  ];
}

// ── the stacks ────────────────────────────────────────────────────────────────────────────────────

interface Variant {
  name: string;
  props: Partial<SchedulerProps>;
  key?: boolean;
  /** Declares the scenario's secrets (the `secrets` prop): its executors' reads of them count. */
  secrets?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'default (one tick group, on-demand, AWS-owned key)', props: {} },
  { name: 'tickGroups 2', props: { shards: 4, tickGroups: 2 } },
  { name: 'a customer-managed table key', props: {}, key: true },
  { name: "billing: 'provisioned'", props: { billing: 'provisioned' } },
  {
    name: 'handlers: { entry }',
    props: { handlers: { entry: fileURLToPath(new URL('../../examples/app/handlers.ts', import.meta.url)) } },
  },
  {
    name: 'secrets: a Secrets Manager secret and an SSM SecureString under customer managed keys, one by name',
    props: {},
    secrets: true,
  },
];
const SECRETS_VARIANT = VARIANTS.find((variant) => variant.secrets)!;

interface Synthesized {
  stack: Stack;
  template: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  scheduler: Scheduler;
  asyncTargets: AsyncTargets;
  secretKeys: Map<string, string>;
}

function synthesize(variant: Variant): Synthesized {
  const stack = newStack({ bundle: false, name: `Iam${VARIANTS.indexOf(variant)}` });
  const key = variant.key ? new kms.Key(stack, 'TableKey', { enableKeyRotation: true }) : undefined;
  const secretKeys = new Map<string, string>();
  const keyArn = (k: kms.Key) => arn('kms', `key/${logicalId(stack, k as never)}`);
  let secrets: SchedulerProps['secrets'];
  if (variant.secrets) {
    const hookKey = new kms.Key(stack, 'HookKey', { enableKeyRotation: true });
    const apiKey = new kms.Key(stack, 'ApiKey', { enableKeyRotation: true });
    secrets = {
      hook: secretsmanager.Secret.fromSecretAttributes(stack, 'Hook', {
        secretCompleteArn: HOOK_SECRET,
        encryptionKey: hookKey,
      }),
      // By name, under the account's aws/secretsmanager key (whose key policy lets the account's
      // principals decrypt via Secrets Manager: no grant).
      plain: secretsmanager.Secret.fromSecretNameV2(stack, 'Plain', PLAIN_SECRET_NAME),
      api: ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Api', {
        parameterName: API_PARAMETER,
        encryptionKey: apiKey,
      }),
    };
    secretKeys.set(HOOK_SECRET, keyArn(hookKey));
    secretKeys.set(API_PARAMETER, keyArn(apiKey));
  }
  const scheduler = new Scheduler(stack, 'Scheduler', {
    ...exampleProps(),
    shards: 4,
    targetAccess: { functions: [FUNCTION], queues: [WORK_QUEUE], buses: [ORDERS_BUS] },
    ...(key ? { tableEncryptionKey: key } : {}),
    ...(secrets ? { secrets } : {}),
    ...variant.props,
  });
  const taskDefinition = ecs.TaskDefinition.fromTaskDefinitionAttributes(stack, 'Export', {
    taskDefinitionArn: TASK_DEFINITION,
    compatibility: ecs.Compatibility.FARGATE,
    networkMode: ecs.NetworkMode.AWS_VPC,
    taskRole: iam.Role.fromRoleArn(stack, 'TaskRole', TASK_ROLE),
    executionRole: iam.Role.fromRoleArn(stack, 'ExecutionRole', EXECUTION_ROLE),
  });
  const asyncTargets = new AsyncTargets(stack, 'AsyncTargets', {
    scheduler,
    stateMachines: [sfn.StateMachine.fromStateMachineArn(stack, 'Nightly', MACHINE)],
    ecsTasks: [
      {
        cluster: ecs.Cluster.fromClusterAttributes(stack, 'Jobs', {
          clusterName: 'jobs',
          clusterArn: CLUSTER,
          vpc: ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
            vpcId: 'vpc-0123abcd',
            availabilityZones: ['us-east-1a'],
          }),
        }),
        taskDefinition,
      },
    ],
  });
  return {
    stack,
    template: Template.fromStack(stack).toJSON() as never,
    scheduler,
    asyncTargets,
    secretKeys,
  };
}

/** PUNCTUAL_SECRETS as the stack sets it on the executors (every pool's the same), resolved. */
function secretsEnvOf(s: Synthesized): string {
  const values = Object.values(s.scheduler.pools).map((pool) => {
    const fn = s.template.Resources[logicalId(s.stack, pool.executor as never)];
    const environment = fn?.Properties?.Environment as { Variables: Record<string, unknown> } | undefined;
    return resolveIntrinsics(s.template, environment?.Variables[ENV.secrets]) as string;
  });
  if (!values[0] || values.some((value) => value !== values[0]))
    throw new Error(`the executors' ${ENV.secrets} differ or are missing: ${values.join(' / ')}`);
  return values[0];
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } } | undefined): string {
  if (!construct) throw new Error('no construct');
  return stack.getLogicalId(construct.node.defaultChild as never);
}

/** Each function's role, by the caller names the runtime gives; `tick-worker` is the tick without groups. */
function rolesOf(s: Synthesized): Record<string, string> {
  const roles: Record<string, string> = {
    tick: logicalId(s.stack, s.scheduler.tickFunction.role as never),
    'tick-worker': logicalId(
      s.stack,
      (s.scheduler.tickWorkerFunction ?? s.scheduler.tickFunction).role as never,
    ),
    completions: logicalId(s.stack, s.scheduler.completions.consumer.role),
    'aws-events': logicalId(s.stack, s.asyncTargets.eventsFunction.role as never),
  };
  for (const [name, pool] of Object.entries(s.scheduler.pools))
    roles[`executor:${name}`] = logicalId(s.stack, pool.executor.role as never);
  return roles;
}

function stackNames(s: Synthesized, scenario: Scenario): StackNames {
  const resolvedArn = (construct: { node: { defaultChild?: unknown } }, type: 'sqs') =>
    arn(type, logicalId(s.stack, construct));
  const byUrl = new Map<string, string>();
  for (const [name, pool] of Object.entries(s.scheduler.pools)) {
    const local = scenario.runtime.state.pools[name];
    if (!local) throw new Error(`the scenario has no pool ${name}`);
    byUrl.set(local.queueUrl, resolvedArn(pool.queue, 'sqs'));
    byUrl.set(local.dlqUrl, resolvedArn(pool.dlq, 'sqs'));
  }
  byUrl.set(scenario.runtime.state.completionsQueueUrl, resolvedArn(s.scheduler.completions.queue, 'sqs'));
  for (const [stackArn, localUrl] of scenario.queueArns) byUrl.set(localUrl, stackArn);
  const key = s.scheduler.table.encryptionKey;
  return {
    tableArn: arn('dynamodb', `table/${logicalId(s.stack, s.scheduler.table)}`),
    queueArnOf: (url) => byUrl.get(url),
    ...(key ? { keyArn: arn('kms', `key/${logicalId(s.stack, key as never)}`) } : {}),
    busArn: arn('events', `event-bus/${logicalId(s.stack, s.scheduler.eventBus)}`),
    ...(s.scheduler.tickWorkerFunction
      ? { tickWorkerArn: arn('lambda', `function:${logicalId(s.stack, s.scheduler.tickWorkerFunction)}`) }
      : {}),
    secretKeys: s.secretKeys,
  };
}

function callerKey(caller: AwsCaller): string {
  return 'pool' in caller ? `executor:${caller.pool}` : caller.fn;
}

/** A scenario's calls as requests, by role key, deduplicated (the secret reads where the variant declares them). */
function requestsByRole(scenario: Scenario, names: StackNames, variant: Variant): Map<string, IamRequest[]> {
  const out = new Map<string, Map<string, IamRequest>>();
  const add = (key: string, request: IamRequest) => {
    const bucket = out.get(key) ?? new Map<string, IamRequest>();
    bucket.set(JSON.stringify(request), request);
    out.set(key, bucket);
  };
  for (const call of [...scenario.calls, ...(variant.secrets ? scenario.secretCalls : [])]) {
    if (!call.caller) continue; // the operator's own calls (puts, the test's reads)
    for (const request of requestsOf(call, names)) add(callerKey(call.caller), request);
  }
  for (const [key, request] of lambdaOnlyCalls(names)) add(key, request);
  return new Map([...out].map(([key, requests]) => [key, [...requests.values()]]));
}

/**
 * Statements no recorded call uses, each with why it exists: calls the Lambda service makes with the
 * function's role, which no handler makes. Matched on the statement's actions and resource text.
 */
const UNUSED_BY_DESIGN: { actions: RegExp; resource: RegExp; why: string }[] = [
  {
    actions: /^logs:CreateLogStream,logs:PutLogEvents$/,
    resource: /:log-group:/,
    why: "the Lambda runtime writes the function's logs to its own log group",
  },
  {
    actions: /^sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage$/,
    resource: /:(SchedulerTickDlq|AsyncTargetsDlq)/,
    why: "Lambda sends an asynchronous invocation it gave up on to the function's DLQ / on-failure destination",
  },
];

// ── the checks ────────────────────────────────────────────────────────────────────────────────────

let scenario: Scenario;
const synthesized = new Map<Variant, Synthesized>();

beforeAll(async () => {
  for (const variant of VARIANTS) synthesized.set(variant, synthesize(variant));
  scenario = await runScenario(secretsEnvOf(synthesized.get(SECRETS_VARIANT)!));
}, 240_000);

afterAll(async () => {
  receiver?.server.closeAllConnections();
  await new Promise<void>((resolve) => (receiver ? receiver.server.close(() => resolve()) : resolve()));
});

/** The resource policy AWS evaluates with a request, where one decides (a KMS key of the stack: its key policy). */
function resourcePolicyFor(s: Synthesized, request: IamRequest): PolicyDocument | undefined {
  if (!request.action.startsWith('kms:')) return undefined;
  const id = /:key\/([^/]+)$/.exec(request.resource)?.[1];
  if (!id || s.template.Resources[id]?.Type !== 'AWS::KMS::Key') return undefined;
  return keyPolicyOf(s.template, id);
}

const roleArnOf = (roleId: string) => `arn:aws:iam::${ACCOUNT}:role/${roleId}`;

describe('IAM proven against the calls', () => {
  it('the scenario reaches every kind of call: each function, each target, the sweep, the DLQ', () => {
    const kinds = new Set(
      scenario.calls
        .filter((call) => call.caller)
        .map((call) => `${callerKey(call.caller!)} ${call.client} ${call.command}`),
    );
    expect([...kinds].sort()).toEqual(
      expect.arrayContaining([
        'tick DynamoDBClient Query',
        'tick SQSClient SendMessageBatch',
        'tick-worker DynamoDBClient Query',
        'executor:default LambdaClient Invoke',
        'executor:default EventBridgeClient PutEvents',
        'executor:default SFNClient StartExecution',
        'executor:default ECSClient RunTask',
        'executor:default SQSClient SendMessage',
        'executor:default SQSClient ReceiveMessage',
        'executor:default SQSClient DeleteMessage',
        'executor:batch LambdaClient Invoke',
        'executor:batch ECSClient RunTask',
        'executor:batch SQSClient ReceiveMessage',
        'completions SQSClient ReceiveMessage',
        'completions SQSClient SendMessageBatch',
        'aws-events DynamoDBClient UpdateItem',
        'aws-events SQSClient SendMessageBatch',
      ]),
    );
    for (const call of ['ECSClient ListTasks', 'ECSClient DescribeTasks', 'SFNClient DescribeExecution'])
      expect(
        [...kinds].some((kind) => kind === `tick ${call}` || kind === `tick-worker ${call}`),
        `${call} in\n${[...kinds].join('\n')}`,
      ).toBe(true);
    for (const pool of ['default', 'batch']) {
      expect(scenario.statuses).toMatchObject({
        [`ok-${pool}`]: 'succeeded',
        [`broken-${pool}`]: 'failed',
        [`remind-${pool}`]: 'succeeded',
        [`enqueue-${pool}`]: 'succeeded',
        [`announce-${pool}`]: 'succeeded',
        [`report-${pool}`]: 'succeeded',
        [`watch-${pool}`]: 'running',
        [`export-${pool}`]: 'succeeded',
        [`agent-${pool}`]: 'succeeded',
        [`swap-${pool}`]: 'cancelled',
        [`swap-task-${pool}`]: 'cancelled',
      });
    }
    for (const call of ['SFNClient StopExecution', 'ECSClient ListTasks', 'ECSClient DescribeTasks'])
      expect(kinds.has(`executor:default ${call}`), `${call} by an executor`).toBe(true);
    // The runs past maxRunDuration: each group's sweep stopped its execution and its task, and asked
    // until AWS said they ended (then failed(timeout)).
    for (const fn of ['tick', 'tick-worker'])
      for (const call of [
        'SFNClient StopExecution',
        'SFNClient DescribeExecution',
        'ECSClient StopTask',
        'ECSClient ListTasks',
        'ECSClient DescribeTasks',
      ])
        expect(kinds.has(`${fn} ${call}`), `${fn} ${call} in\n${[...kinds].join('\n')}`).toBe(true);
    const overrun = Object.entries(scenario.overrun).sort();
    expect(overrun.map(([, how]) => how).sort()).toEqual([
      'ABORTED',
      'ABORTED',
      'STOPPED UserInitiated',
      'STOPPED UserInitiated',
    ]);
    for (const [jobId] of overrun) expect(scenario.statuses[jobId], jobId).toBe('failed');
  });

  it('the executors read the declared secrets through Powertools Parameters: each value reached its request', () => {
    const reads = new Set(
      scenario.secretCalls.map(
        (call) =>
          `${callerKey(call.caller!)} ${call.command} ${String(call.input.SecretId ?? call.input.Name)}${call.input.WithDecryption ? ' decrypted' : ''}`,
      ),
    );
    const env = JSON.parse(secretsEnvOf(synthesized.get(SECRETS_VARIANT)!)) as Record<string, unknown>;
    expect(env).toEqual({
      hook: { secretsManager: HOOK_SECRET },
      plain: { secretsManager: arn('secretsmanager', `secret:${PLAIN_SECRET_NAME}`) },
      api: { ssm: API_PARAMETER },
    });
    for (const pool of ['default', 'batch'])
      expect([...reads]).toEqual(
        expect.arrayContaining([
          `executor:${pool} GetSecretValue ${HOOK_SECRET}`,
          `executor:${pool} GetSecretValue ${arn('secretsmanager', `secret:${PLAIN_SECRET_NAME}`)}`,
          `executor:${pool} GetParameter ${API_PARAMETER} decrypted`,
        ]),
      );
    // Each pool's function read each value once (Powertools' cache), whatever its runs.
    expect(scenario.secretCalls).toHaveLength(6);
    expect(scenario.statuses).toMatchObject({ 'signed-default': 'succeeded', 'signed-batch': 'succeeded' });
    expect(scenario.received.length).toBeGreaterThanOrEqual(2);
    const origin = new URL(receiver!.url).origin;
    for (const { headers, method, path, body } of scenario.received) {
      expect(headers.authorization).toBe(`Bearer ${SECRET_VALUES[API_PARAMETER]}`);
      expect(headers['x-plain']).toBe(SECRET_VALUES[PLAIN_SECRET]);
      const request = {
        method,
        url: `${origin}${path}`,
        body,
        timestamp: headers['x-punctual-timestamp'] as string,
      };
      const signature = headers['x-punctual-signature-v2'] as string;
      // Signed with the hook secret's value (the scenario's clock is days behind: any timestamp will do).
      expect(
        verifySignature(SECRET_VALUES[HOOK_SECRET]!, request, signature, { toleranceSeconds: 1e9 }),
      ).toBe(true);
    }
  });

  it.each(VARIANTS.map((variant) => [variant.name, variant] as const))(
    '%s: every recorded call is allowed by the role of the function that made it',
    async (_, variant) => {
      const s = synthesized.get(variant)!;
      const roles = rolesOf(s);
      const denied: string[] = [];
      for (const [key, requests] of requestsByRole(scenario, stackNames(s, scenario), variant)) {
        const roleId = roles[key];
        if (!roleId) throw new Error(`no role for ${key}`);
        const policies = policiesOfRole(s.template, roleId);
        for (const request of requests) {
          const result = await evaluate(roleArnOf(roleId), policies, request, resourcePolicyFor(s, request));
          if (result !== 'Allowed')
            denied.push(
              `${key}: ${request.action} ${request.resource} ${JSON.stringify(request.context ?? {})} → ${result}`,
            );
        }
      }
      expect(denied).toEqual([]);
    },
  );

  it.each(VARIANTS.map((variant) => [variant.name, variant] as const))(
    '%s: every statement of those roles allows some recorded call, or says why it exists',
    async (_, variant) => {
      const s = synthesized.get(variant)!;
      const roles = rolesOf(s);
      const requests = requestsByRole(scenario, stackNames(s, scenario), variant);
      // A policy attached to several roles (the AsyncTargets tick policy) is used if any of them uses it.
      const policies = new Map<string, { policy: PolicyDocument; keys: string[] }>();
      for (const [key, roleId] of Object.entries(roles)) {
        for (const { name, policy } of policiesOfRole(s.template, roleId)) {
          const entry = policies.get(name) ?? { policy, keys: [] };
          entry.keys.push(key);
          policies.set(name, entry);
        }
      }
      const unused: string[] = [];
      for (const [name, { policy, keys }] of policies) {
        const mine = keys.flatMap((key) => (requests.get(key) ?? []).map((request) => ({ key, request })));
        for (const statement of policy.Statement) {
          const single = [{ name, policy: { Version: '2012-10-17', Statement: [statement] } }];
          let used = false;
          for (const { key, request } of mine) {
            const result = await evaluate(
              roleArnOf(roles[key] as string),
              single,
              request,
              resourcePolicyFor(s, request),
            );
            if (result === 'Allowed') {
              used = true;
              break;
            }
          }
          const actions = ([] as string[]).concat(statement.Action as string[]).join(',');
          const resource = JSON.stringify(statement.Resource);
          if (!used && !UNUSED_BY_DESIGN.some((u) => u.actions.test(actions) && u.resource.test(resource)))
            unused.push(`${keys.join('+')}: ${actions} on ${resource}`);
        }
      }
      expect(unused).toEqual([]);
    },
  );
});
