/**
 * Configuration of the Lambda functions, read from the environment the CDK construct sets.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsDispatcher } from '../../shared/queue/dispatcher.js';
import type { PoolRouting } from '../../shared/runs/lifecycle.js';
import { Store } from '../../shared/store/store.js';
import { stackTag } from '../../shared/targets/names.js';
import {
  parseTargetPolicy,
  type ResolvedTargetPolicy,
  STACK_TARGET_POLICY,
} from '../../shared/targets/policy.js';
import type { ReservedDestinations } from '../../shared/targets/reserved.js';
import { DEFAULT_TICK_CONFIG, type TickConfig } from '../../shared/tick/tick.js';

export const ENV = {
  table: 'PUNCTUAL_TABLE',
  shards: 'PUNCTUAL_SHARDS',
  retentionDays: 'PUNCTUAL_RETENTION_DAYS',
  pools: 'PUNCTUAL_POOLS',
  bus: 'PUNCTUAL_EVENT_BUS',
  pool: 'PUNCTUAL_POOL',
  lookahead: 'PUNCTUAL_LOOKAHEAD_MS',
  budget: 'PUNCTUAL_TICK_BUDGET_MS',
  tickGroups: 'PUNCTUAL_TICK_GROUPS',
  /** The tick-worker function the coordinator invokes for shard groups 1…n−1. */
  tickWorker: 'PUNCTUAL_TICK_WORKER',
  successEvents: 'PUNCTUAL_SUCCESS_EVENTS',
  /** The executors' target policy, JSON (the construct's `targetPolicy`, resolved); the stack default without it. */
  targetPolicy: 'PUNCTUAL_TARGET_POLICY',
  /** The completions queue's URL, for the executors: one of the destinations no job may write to. */
  completionsQueue: 'PUNCTUAL_COMPLETIONS_QUEUE',
  /** The completions queue's DLQ, for the completions function: where a malformed report goes without its token. */
  completionsDlq: 'PUNCTUAL_COMPLETIONS_DLQ',
  /**
   * The declared secrets, JSON `{ name: { secretsManager: arn } | { ssm: parameterName } }` (the construct's
   * `secrets`): where each value is read, never the value itself.
   */
  secrets: 'PUNCTUAL_SECRETS',
  /**
   * Where ecs tasks may be placed, JSON `{ subnets, securityGroups, allowPublicIp }` (AsyncTargets'
   * `ecsNetwork`); nothing declared without it, so a job may name no network.
   */
  ecsNetwork: 'PUNCTUAL_ECS_NETWORK',
  /**
   * What each application's jobs may reach, JSON `{ shared, applications: [{ jobIdPrefix, access }] }`
   * (the construct's `targetAccess` and `applications`, shared/targets/access.ts); set only when
   * applications are declared.
   */
  targetAccess: 'PUNCTUAL_TARGET_ACCESS',
} as const;

export interface PoolQueues {
  queueUrl: string;
  dlqUrl: string;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set (the Scheduler construct sets it)`);
  return value;
}

export function poolRouting(pools: Record<string, PoolQueues>): PoolRouting {
  return {
    queueUrl: (pool) => pools[pool]?.queueUrl,
    dlqUrl: (pool) => pools[pool]?.dlqUrl,
  };
}

export interface AwsClients {
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  eventBridge: EventBridgeClient;
  lambda: LambdaClient;
  /** stepfunctions targets (executor) and the sweep's DescribeExecution (tick). */
  sfn: SFNClient;
  /** ecs targets (executor) and the sweep's ListTasks/DescribeTasks (tick). */
  ecs: ECSClient;
}

export function createClients(): AwsClients {
  return {
    dynamo: new DynamoDBClient({}),
    sqs: new SQSClient({}),
    eventBridge: new EventBridgeClient({}),
    lambda: new LambdaClient({}),
    sfn: new SFNClient({}),
    ecs: new ECSClient({}),
  };
}

/**
 * The target policy the construct wrote, checked again (a hand-edited variable must not widen it by a
 * typo): https and public addresses only when the variable is absent.
 */
export function targetPolicyFromEnv(env: NodeJS.ProcessEnv): ResolvedTargetPolicy {
  const text = env[ENV.targetPolicy];
  if (!text) return STACK_TARGET_POLICY;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`environment variable ${ENV.targetPolicy} is not JSON (the Scheduler construct sets it)`);
  }
  return parseTargetPolicy(value, STACK_TARGET_POLICY, `target policy (${ENV.targetPolicy})`);
}

/** punctual's own queues (every pool's queue and DLQ, the completions queue) and bus, from the environment. */
export function reservedFromEnv(env: NodeJS.ProcessEnv): ReservedDestinations {
  const pools = JSON.parse(required(env, ENV.pools)) as Record<string, PoolQueues>;
  const queueUrls = Object.values(pools).flatMap((pool) => [pool.queueUrl, pool.dlqUrl]);
  const completions = env[ENV.completionsQueue];
  return {
    queueUrls: completions ? [...queueUrls, completions] : queueUrls,
    ...(env[ENV.bus] ? { busName: env[ENV.bus] } : {}),
  };
}

export function configFromEnv(env: NodeJS.ProcessEnv, clients: AwsClients) {
  const pools = JSON.parse(required(env, ENV.pools)) as Record<string, PoolQueues>;
  const tableName = required(env, ENV.table);
  const store = new Store(clients.dynamo, {
    tableName,
    shards: Number(env[ENV.shards] ?? 4),
    retentionDays: Number(env[ENV.retentionDays] ?? 30),
  });
  const tick: TickConfig = {
    ...DEFAULT_TICK_CONFIG,
    ...(env[ENV.lookahead] ? { lookaheadMs: Number(env[ENV.lookahead]) } : {}),
    ...(env[ENV.budget] ? { budgetMs: Number(env[ENV.budget]) } : {}),
    ...(env[ENV.tickGroups] ? { groups: Number(env[ENV.tickGroups]) } : {}),
  };
  return {
    store,
    dispatcher: new SqsDispatcher(clients.sqs),
    pools: poolRouting(pools),
    busName: env[ENV.bus],
    pool: env[ENV.pool] ?? 'default',
    successEvents: env[ENV.successEvents] === 'true',
    tick,
    tickWorker: env[ENV.tickWorker],
    /** The stack's tag in the names of the executions and tasks it starts (shared/targets/names.ts). */
    stack: stackTag(tableName),
  };
}
