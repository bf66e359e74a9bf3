/**
 * Which punctual the CLI talks to. Two kinds:
 *
 * - local: the `punctual dev` running in a directory, found through its state file
 *   `<dir>/.punctual/local.json` (endpoints of DynamoDB Local and the SQS emulator, table, queues).
 * - stack: a deployed CloudFormation stack, found through its outputs (`TableName`, `Pools`, `Shards`;
 *   see docs/deploy.md).
 *
 * Order: `--local [DIR]` if given; else `--stack NAME` or $PUNCTUAL_STACK; else a state file in the
 * current directory. When nothing is found the error names everything that was tried.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { PunctualError } from '../shared/errors.js';
import { localDynamoClient, localSqsClient } from '../shared/local/emulators.js';
import type { OpsDeps } from '../shared/ops/jobs.js';
import { SqsDispatcher } from '../shared/queue/dispatcher.js';
import { silentLog } from '../shared/runs/lifecycle.js';
import { RecordingSignals } from '../shared/signals.js';
import { Store } from '../shared/store/store.js';
import { errorMessage } from '../shared/util.js';

/** A bad combination of flags: exit code 2, like commander's own usage errors. */
export class UsageError extends PunctualError {
  override readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The tick interval of a deployed stack: its EventBridge rule is rate(1 minute). */
export const STACK_TICK_MS = 60_000;

export const STATE_DIR = '.punctual';
export const STATE_FILE = 'local.json';

/** `<dir>/.punctual/local.json`: where `punctual dev` writes its state and `--local` reads it. */
export function stateFilePath(dir: string): string {
  return join(resolve(dir), STATE_DIR, STATE_FILE);
}

export interface TargetOptions {
  /** `--local` (true) or `--local DIR`. */
  local?: string | boolean;
  stack?: string;
  region?: string;
  profile?: string;
  endpointUrl?: string;
}

export interface PoolInfo {
  queueUrl: string;
  dlqUrl: string;
  dlqArn: string;
}

export interface Target {
  kind: 'local' | 'stack';
  /** `local runtime in /path (pid 123)` or `stack Punctual (eu-west-1)`: for messages. */
  label: string;
  store: Store;
  sqs: SQSClient;
  pools: Record<string, PoolInfo>;
  deps: OpsDeps;
  /** The tick interval when the target fixes it (rate(1 minute) for a stack); locally the heartbeat says. */
  tickMs?: number;
  close(): void;
}

/** The fields of the runtime's LocalState (shared/local/runtime.ts) the CLI uses. */
export interface DevState {
  pid: number;
  dynamoEndpoint: string;
  sqsEndpoint: string;
  region: string;
  tableName: string;
  shards: number;
  pools: Record<string, PoolInfo>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readState(file: string): Promise<DevState | undefined> {
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

function deps(store: Store, sqs: SQSClient, pools: Record<string, PoolInfo>): OpsDeps {
  return {
    store,
    dispatcher: new SqsDispatcher(sqs),
    // Operations from the CLI send messages and write records; they publish no lifecycle events.
    signals: new RecordingSignals(),
    pools: { queueUrl: (pool) => pools[pool]?.queueUrl, dlqUrl: (pool) => pools[pool]?.dlqUrl },
    log: silentLog,
  };
}

function localTarget(file: string, state: DevState): Target {
  if (typeof state.pid === 'number' && !isAlive(state.pid)) {
    throw new PunctualError(
      `the local state file ${file} names \`punctual dev\` pid ${state.pid}, which is not running ` +
        '(it did not stop cleanly); start `punctual dev` again, or delete the file',
    );
  }
  const dynamo = localDynamoClient(state.dynamoEndpoint);
  const sqs = localSqsClient(state.sqsEndpoint);
  const store = new Store(dynamo, { tableName: state.tableName, shards: state.shards });
  const pools = state.pools ?? {};
  return {
    kind: 'local',
    label: `local runtime (${file}, pid ${state.pid})`,
    store,
    sqs,
    pools,
    deps: deps(store, sqs, pools),
    close: () => {
      dynamo.destroy();
      sqs.destroy();
    },
  };
}

async function stackTarget(name: string, options: TargetOptions, env: NodeJS.ProcessEnv): Promise<Target> {
  const region = options.region ?? env.PUNCTUAL_REGION;
  const config = {
    ...(region ? { region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
  };
  const cfn = new CloudFormationClient(config);
  let outputs: Record<string, string>;
  try {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: name }));
    outputs = Object.fromEntries(
      (Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']),
    );
  } catch (error) {
    const message = errorMessage(error);
    const where = region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'the profile’s region';
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
  let pools: Record<string, PoolInfo>;
  try {
    pools = JSON.parse(outputs.Pools ?? '{}') as Record<string, PoolInfo>;
  } catch (error) {
    throw new PunctualError(`stack "${name}": output Pools is not JSON (${errorMessage(error)})`);
  }
  const dynamo = new DynamoDBClient(config);
  const sqs = new SQSClient(config);
  const store = new Store(dynamo, {
    tableName: outputs.TableName ?? '',
    shards: Number(outputs.Shards ?? 4),
    // Runs the CLI creates (trigger, backfill) expire like the tick's: the stack's retention.
    ...(outputs.RetentionDays ? { retentionDays: Number(outputs.RetentionDays) } : {}),
  });
  return {
    kind: 'stack',
    label: `stack ${name}${region ? ` (${region})` : ''}`,
    store,
    sqs,
    pools,
    deps: deps(store, sqs, pools),
    tickMs: STACK_TICK_MS,
    close: () => {
      dynamo.destroy();
      sqs.destroy();
    },
  };
}

/** Finds the deployment the options (and the environment) name. */
export async function resolveTarget(
  options: TargetOptions,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<Target> {
  if (options.local && options.stack)
    throw new UsageError('--local and --stack name two different targets; give one');
  if (options.local) {
    const dir = typeof options.local === 'string' ? resolve(cwd, options.local) : cwd;
    const file = stateFilePath(dir);
    const state = await readState(file);
    if (!state) {
      throw new PunctualError(
        `no local runtime: ${file} does not exist. Start one with \`punctual dev --jobs FILE\` in ${dir} ` +
          '(or pass the directory it runs in: --local DIR)',
      );
    }
    return localTarget(file, state);
  }
  const stack = options.stack ?? env.PUNCTUAL_STACK;
  if (stack) return stackTarget(stack, options, env);
  const file = stateFilePath(cwd);
  const state = await readState(file);
  if (state) return localTarget(file, state);
  throw new PunctualError(
    'no punctual deployment found. Tried:\n' +
      '  - --stack NAME: not given\n' +
      '  - $PUNCTUAL_STACK: not set\n' +
      `  - the local runtime's state file ${file}: does not exist\n` +
      'Start a local runtime here with `punctual dev --jobs FILE`, or name a deployed stack with --stack NAME.',
  );
}
