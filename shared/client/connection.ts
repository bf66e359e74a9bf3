/**
 * Where a `PunctualClient` sends its calls, and the AWS clients it sends them with. Three ways to find a
 * deployment:
 *
 * - a CloudFormation stack, through its outputs (`TableName`, `Pools`, `Shards`, `RetentionDays`; see
 *   docs/deploy.md);
 * - a table and queues named directly (an application Lambda given them in its environment);
 * - the `punctual dev` running in a directory, through its state file `<dir>/.punctual/local.json`
 *   (endpoints of DynamoDB Local and the SQS emulator, table, queues), written once it is ready.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { PunctualError } from '../errors.js';
import type { OpsDeps } from '../ops/jobs.js';
import { SqsDispatcher } from '../queue/dispatcher.js';
import { silentLog } from '../runs/lifecycle.js';
import { RecordingSignals } from '../signals.js';
import { Store } from '../store/store.js';
import { parseTargetAccessPolicy, type TargetAccessPolicy } from '../targets/access.js';
import { type EcsNetworkPolicy, parseEcsNetworkPolicy } from '../targets/ecs-network.js';
import { errorMessage } from '../util.js';
import { type AlarmSource, alarmSource } from './alarms.js';

/** The tick interval of a deployed stack: its EventBridge rule is rate(1 minute). */
export const STACK_TICK_MS = 60_000;

export const STATE_DIR = '.punctual';
export const STATE_FILE = 'local.json';

/** `<dir>/.punctual/local.json`: where `punctual dev` writes its state and the client and CLI read it. */
export function stateFilePath(dir: string): string {
  return join(resolve(dir), STATE_DIR, STATE_FILE);
}

/** A pool's queues. Only `queueUrl` is needed to put, trigger, replay and backfill. */
export interface PoolQueues {
  queueUrl: string;
  /** Needed by `listDlq` and `redriveDlq`. */
  dlqUrl?: string;
  /** Needed by `redriveDlq` (SQS's move task names its source by ARN). */
  dlqArn?: string;
}

/** How the AWS SDK clients are made: the SDK's defaults (environment, profile, role) unless given. */
export interface AwsOptions {
  region?: string;
  /** Credentials or a provider, as the AWS SDK takes them (default: the SDK's chain). */
  credentials?: DynamoDBClientConfig['credentials'];
  /** A named profile of the shared config files. */
  profile?: string;
  /** One endpoint for CloudFormation, DynamoDB, SQS and CloudWatch alike (LocalStack, a VPC endpoint). */
  endpoint?: string;
}

export interface StackOptions extends AwsOptions {
  /** A stack with the Scheduler construct's outputs. */
  stackName: string;
}

export interface TableOptions extends AwsOptions {
  tableName: string;
  /** Each pool's queue URL, or its queues (`Pools` output of the stack: `{ queueUrl, dlqUrl, dlqArn }`). */
  queues: Record<string, string | PoolQueues>;
  /** The shards of the due and open indexes (the construct's `shards`; default 4). */
  shards?: number;
  /** Days the runs it creates are kept (the construct's `runRetention`; default 30). */
  retentionDays?: number;
  /**
   * The names of the secrets the deployment declares (the stack's `SecretNames` output): `putJob` refuses a
   * job naming another. Unknown when omitted (the executor still refuses such a job's runs).
   */
  secretNames?: string[];
  /**
   * What each application's jobs may reach (the stack's `TargetAccess` output): `putJob` refuses a job
   * reaching beyond its list. Unchecked when omitted (the executor still refuses such a job's runs).
   */
  targetAccess?: TargetAccessPolicy;
  /**
   * Where ecs tasks may be placed (the stack's `EcsNetwork` output): `putJob` refuses an ecs target
   * naming another subnet, security group or a public IP. Unchecked when omitted (the executor still refuses).
   */
  ecsNetwork?: EcsNetworkPolicy;
}

/** The state file of `punctual dev` (local/runtime.ts LocalState): the fields a client uses. */
export interface DevState {
  pid: number;
  /** Where the runtime answers that it still runs (local/liveness.ts); absent in older state files. */
  liveness?: DevLiveness;
  dynamoEndpoint: string;
  sqsEndpoint: string;
  region: string;
  tableName: string;
  shards: number;
  pools: Record<string, PoolQueues>;
  /** Where DynamoDB Local keeps its data (`--data-dir`); absent when in memory. */
  dataDir?: string;
  /** The runtime's tick lookahead (absent in state files written before it was recorded). */
  lookaheadMs?: number;
  /** The handler names its executors hold (absent in older state files). */
  handlers?: string[];
  /** The names of the secrets it declares, never their values (absent in older state files). */
  secrets?: string[];
  /** What each application's jobs may reach, when the runtime was given applications. */
  targetAccess?: TargetAccessPolicy;
  /** Where ecs tasks may be placed, when the runtime was given an ecs network. */
  ecsNetwork?: EcsNetworkPolicy;
}

export interface Connection {
  kind: 'local' | 'stack' | 'table';
  /** `local runtime (/path/.punctual/local.json, pid 123)`, `stack Punctual (eu-west-1)`: for messages. */
  label: string;
  store: Store;
  sqs: SQSClient;
  pools: Record<string, PoolQueues>;
  deps: OpsDeps;
  /** The tick interval when the deployment fixes it (rate(1 minute) for a stack). */
  tickMs?: number;
  /** How far ahead the tick claims, when the deployment says (the local runtime does). */
  lookaheadMs?: number;
  /** The handlers its executors hold, when the deployment says (the local runtime does): puts are checked. */
  handlerNames?: string[];
  /** The secrets it declares (names), when the deployment says (the stack's `SecretNames` output, the local runtime): puts are checked. */
  secretNames?: string[];
  /** What each application's jobs may reach, when the deployment declares applications: puts are checked. */
  targetAccess?: TargetAccessPolicy;
  /** Where ecs tasks may be placed, when the deployment says: puts are checked. */
  ecsNetwork?: EcsNetworkPolicy;
  /** Where its CloudWatch alarms are read (a stack with the `AlarmTopicArn` output). */
  alarms?: AlarmSource;
  /** Read capacity units DynamoDB reported for this connection's reads so far. */
  consumed: { read: number };
  close(): void;
}

const READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand']);

/**
 * Asks DynamoDB for the capacity each read consumed (`ReturnConsumedCapacity: TOTAL`, free of charge) and
 * adds it up, so the console can show what a page view read. `DynamoDBDocumentClient.from(client)` shares
 * the client's middleware stack, so the store's reads are counted.
 */
function meterReads(dynamo: DynamoDBClient, consumed: { read: number }): void {
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const read = READS.has(context.commandName ?? '');
      if (read) (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      if (read) {
        const output = result.output as { ConsumedCapacity?: unknown };
        for (const entry of ([] as { CapacityUnits?: number }[]).concat(
          (output.ConsumedCapacity as never) ?? [],
        ))
          consumed.read += entry.CapacityUnits ?? 0;
      }
      return result;
    },
    { step: 'initialize', name: 'punctualMeterReads', override: true },
  );
}

/** A loopback port on which a running `punctual dev` greets with its nonce. */
export interface DevLiveness {
  port: number;
  nonce: string;
}

/** What the liveness socket of `punctual dev` writes to whoever connects. */
export function livenessGreeting(nonce: string): string {
  return `punctual-dev ${nonce}\n`;
}

/** How long a probe waits for the greeting: a runtime that holds its socket answers at once. */
const LIVENESS_PROBE_MS = 2000;

/** Whether the liveness socket answers with `liveness.nonce` (refused, silent or another nonce: gone). */
function answers(liveness: DevLiveness): Promise<boolean> {
  const expected = livenessGreeting(liveness.nonce);
  return new Promise((resolve) => {
    let received = '';
    const socket = connect({ host: '127.0.0.1', port: liveness.port });
    const done = (alive: boolean) => {
      socket.destroy();
      clearTimeout(timer);
      resolve(alive);
    };
    const timer = setTimeout(() => done(false), LIVENESS_PROBE_MS);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.length >= expected.length) done(received.startsWith(expected));
    });
    socket.on('end', () => done(received === expected));
    socket.on('error', () => done(false));
  });
}

/** Whether process `pid` exists and is not a zombie (a zombie has ended: only its exit status is left). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; comm may hold spaces and parentheses, the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false; // no /proc (macOS): kill(pid, 0) is all there is
  }
}

/**
 * Whether the `punctual dev` a state file describes still runs: its liveness socket answers with the
 * file's nonce. A state file written before the socket existed falls back on the pid.
 */
export async function devRuns(state: Pick<DevState, 'pid' | 'liveness'>): Promise<boolean> {
  if (state.liveness && typeof state.liveness.port === 'number') return answers(state.liveness);
  return typeof state.pid === 'number' && isAlive(state.pid);
}

/** The state file's content, or undefined when there is none. */
export async function readDevState(file: string): Promise<DevState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PunctualError(`cannot read the local state file ${file}: ${errorMessage(error)}`);
  }
  let state: DevState;
  try {
    state = JSON.parse(text) as DevState;
  } catch (error) {
    throw new PunctualError(
      `the local state file ${file} is not JSON (${errorMessage(error)}); delete it and restart \`punctual dev\``,
    );
  }
  for (const field of ['dynamoEndpoint', 'sqsEndpoint', 'tableName'] as const) {
    if (typeof state[field] !== 'string') {
      throw new PunctualError(
        `the local state file ${file} has no ${field}; delete it and restart \`punctual dev\``,
      );
    }
  }
  return state;
}

/** The message when `dir` has no running `punctual dev`. */
export function noLocalRuntime(dir: string): PunctualError {
  return new PunctualError(
    `no local runtime: ${stateFilePath(dir)} does not exist. Start one with \`punctual dev\` in ${dir} ` +
      '(or pass the directory it runs in: --local DIR)',
  );
}

function connection(
  kind: Connection['kind'],
  label: string,
  dynamo: DynamoDBClient,
  sqs: SQSClient,
  store: Store,
  pools: Record<string, PoolQueues>,
  tickMs?: number,
): Connection {
  const consumed = { read: 0 };
  meterReads(dynamo, consumed);
  return {
    kind,
    consumed,
    label,
    store,
    sqs,
    pools,
    deps: {
      store,
      dispatcher: new SqsDispatcher(sqs),
      // Operations from a client send messages and write records; they publish no lifecycle events.
      signals: new RecordingSignals(),
      pools: { queueUrl: (pool) => pools[pool]?.queueUrl, dlqUrl: (pool) => pools[pool]?.dlqUrl },
      log: silentLog,
    },
    ...(tickMs !== undefined ? { tickMs } : {}),
    close: () => {
      dynamo.destroy();
      sqs.destroy();
    },
  };
}

/** The connection to the `punctual dev` whose state file is `file`. */
export async function connectLocal(file: string, state: DevState): Promise<Connection> {
  if (!(await devRuns(state))) {
    throw new PunctualError(
      `the local state file ${file} names \`punctual dev\` pid ${state.pid}, which is not running ` +
        '(it did not stop cleanly); start `punctual dev` again, or delete the file',
    );
  }
  const { localDynamoClient, localSqsClient } = await import('./local-clients.js');
  const dynamo = localDynamoClient(state.dynamoEndpoint);
  const sqs = localSqsClient(state.sqsEndpoint);
  const store = new Store(dynamo, { tableName: state.tableName, shards: state.shards });
  return {
    ...connection(
      'local',
      `local runtime (${file}, pid ${state.pid})`,
      dynamo,
      sqs,
      store,
      state.pools ?? {},
    ),
    ...(typeof state.lookaheadMs === 'number' ? { lookaheadMs: state.lookaheadMs } : {}),
    ...(Array.isArray(state.handlers) ? { handlerNames: state.handlers } : {}),
    ...(Array.isArray(state.secrets) ? { secretNames: state.secrets } : {}),
    ...(state.targetAccess
      ? {
          targetAccess: policyOf(
            JSON.stringify(state.targetAccess),
            `local state file ${file}: targetAccess`,
          ),
        }
      : {}),
    ...(state.ecsNetwork ? { ecsNetwork: parseEcsNetworkPolicy(JSON.stringify(state.ecsNetwork)) } : {}),
  };
}

function sdkConfig(options: AwsOptions) {
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  };
}

function poolQueues(queues: Record<string, string | PoolQueues>): Record<string, PoolQueues> {
  return Object.fromEntries(
    Object.entries(queues).map(([pool, value]) => [
      pool,
      typeof value === 'string' ? { queueUrl: value } : value,
    ]),
  );
}

/** The connection to a table and queues named directly. */
export function connectTable(options: TableOptions): Connection {
  const config = sdkConfig(options);
  const dynamo = new DynamoDBClient(config);
  const sqs = new SQSClient(config);
  const store = new Store(dynamo, {
    tableName: options.tableName,
    ...(options.shards !== undefined ? { shards: options.shards } : {}),
    ...(options.retentionDays !== undefined ? { retentionDays: options.retentionDays } : {}),
  });
  const label = `table ${options.tableName}${options.region ? ` (${options.region})` : ''}`;
  return {
    ...connection('table', label, dynamo, sqs, store, poolQueues(options.queues), STACK_TICK_MS),
    ...(options.secretNames ? { secretNames: [...options.secretNames] } : {}),
    ...(options.targetAccess ? { targetAccess: options.targetAccess } : {}),
    ...(options.ecsNetwork ? { ecsNetwork: options.ecsNetwork } : {}),
  };
}

/** The `EcsNetwork` output: JSON `{ subnets, securityGroups, allowPublicIp }`. */
function ecsNetworkOutput(stack: string, text: string): EcsNetworkPolicy {
  try {
    return parseEcsNetworkPolicy(text);
  } catch (error) {
    throw new PunctualError(`stack "${stack}": output EcsNetwork is not JSON (${errorMessage(error)})`);
  }
}

/** A target access policy read from a deployment (state file, stack output), or a clear error. */
function policyOf(text: string, source: string): TargetAccessPolicy | undefined {
  try {
    return parseTargetAccessPolicy(text, source);
  } catch (error) {
    throw new PunctualError(errorMessage(error));
  }
}

/** The `SecretNames` output: a JSON list of the declared secrets' names. */
function secretNamesOutput(stack: string, text: string): string[] {
  let names: unknown;
  try {
    names = JSON.parse(text);
  } catch (error) {
    throw new PunctualError(`stack "${stack}": output SecretNames is not JSON (${errorMessage(error)})`);
  }
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string'))
    throw new PunctualError(`stack "${stack}": output SecretNames is not a JSON list of names`);
  return names;
}

/** The connection to a deployed stack, found through its outputs. */
export async function connectStack(options: StackOptions): Promise<Connection> {
  const name = options.stackName;
  const config = sdkConfig(options);
  const cfn = new CloudFormationClient(config);
  let outputs: Record<string, string>;
  try {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: name }));
    outputs = Object.fromEntries(
      (Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']),
    );
  } catch (error) {
    const message = errorMessage(error);
    const where =
      options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'the profile’s region';
    if (/does not exist/.test(message)) {
      throw new PunctualError(
        `stack "${name}" not found in ${where}; check --stack/PUNCTUAL_STACK and --region/PUNCTUAL_REGION`,
      );
    }
    if (/region is missing/i.test(message)) {
      throw new PunctualError(
        `no AWS region for stack "${name}": pass --region or set PUNCTUAL_REGION (or AWS_REGION)`,
      );
    }
    throw new PunctualError(`cannot read the outputs of stack "${name}" in ${where}: ${message}`);
  } finally {
    cfn.destroy();
  }
  const missing = ['TableName', 'Pools'].filter((key) => !outputs[key]);
  if (missing.length) {
    throw new PunctualError(
      `stack "${name}" has no ${missing.join(' or ')} output: is it a punctual stack? ` +
        `(its outputs: ${Object.keys(outputs).join(', ') || 'none'})`,
    );
  }
  let pools: Record<string, PoolQueues>;
  try {
    pools = JSON.parse(outputs.Pools ?? '{}') as Record<string, PoolQueues>;
  } catch (error) {
    throw new PunctualError(`stack "${name}": output Pools is not JSON (${errorMessage(error)})`);
  }
  const table = connectTable({
    ...options,
    tableName: outputs.TableName ?? '',
    queues: pools,
    shards: Number(outputs.Shards ?? 4),
    // Runs the client creates (trigger, backfill) expire like the tick's: the stack's retention.
    ...(outputs.RetentionDays ? { retentionDays: Number(outputs.RetentionDays) } : {}),
    // A stack deployed before the output existed does not say: its puts are not checked.
    ...(outputs.SecretNames !== undefined
      ? { secretNames: secretNamesOutput(name, outputs.SecretNames) }
      : {}),
    // A stack deployed before the output existed does not say: its ecs networks are checked by the executor only.
    ...(outputs.EcsNetwork !== undefined ? { ecsNetwork: ecsNetworkOutput(name, outputs.EcsNetwork) } : {}),
    // Present only when the stack declares applications.
    ...(outputs.TargetAccess !== undefined
      ? { targetAccess: policyOf(outputs.TargetAccess, `stack "${name}": output TargetAccess`) }
      : {}),
  });
  const label = `stack ${name}${options.region ? ` (${options.region})` : ''}`;
  if (!outputs.AlarmTopicArn) return { ...table, kind: 'stack', label };
  // Every alarm of the stack notifies its topic: status reads their state through it.
  const alarms = alarmSource(outputs.AlarmTopicArn, config);
  return {
    ...table,
    kind: 'stack',
    label,
    alarms,
    close: () => {
      table.close();
      alarms.cloudwatch.destroy();
    },
  };
}
