/**
 * The job model after validation: defaults applied, durations in milliseconds. Parsing a normalized job
 * again yields the same job (the schema accepts a duration as `30s`/`5m` text or as a number of ms).
 */
import type { CatchUpPolicy } from '../schedule/types.js';

export type OverlapPolicy = 'allow' | 'skip' | 'queue';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpTarget {
  type: 'http';
  url: string;
  method: HttpMethod;
  headers?: Record<string, string>;
  /** Name of an environment variable (or secret) holding the HMAC key; signs the body when set. */
  hmacSecretEnv?: string;
  timeout: number;
}
export interface LambdaTarget {
  type: 'lambda';
  functionName: string;
  timeout: number;
}
export interface SqsTarget {
  type: 'sqs';
  queueUrl: string;
  timeout: number;
}
export interface EventBridgeTarget {
  type: 'eventbridge';
  eventBusName: string;
  source: string;
  detailType: string;
  timeout: number;
}
export interface HandlerTarget {
  type: 'handler';
  /** A function registered in the executor bundle (see shared/targets/handlers.ts). */
  name: string;
  timeout: number;
}
export type Target = HttpTarget | LambdaTarget | SqsTarget | EventBridgeTarget | HandlerTarget;
export type TargetType = Target['type'];

export interface RetryPolicy {
  /** Attempts in all, including the first; 1 = no retry. */
  maxAttempts: number;
  /** Delay before the second attempt; doubles for each further attempt (capped at 15 minutes by SQS). */
  backoff: number;
}

export interface JobDefinition {
  id: string;
  description?: string;
  schedule: string;
  timezone: string;
  target: Target;
  payload?: unknown;
  pool: string;
  catchUp: CatchUpPolicy;
  maxCatchUp: number;
  startingDeadline: number;
  overlap: OverlapPolicy;
  retry: RetryPolicy;
  jitter: number;
  pauseAfterFailures: number;
  /** ISO-8601 UTC. */
  startAt?: string;
  endAt?: string;
  enabled: boolean;
}

export interface PoolDefinition {
  /** Most runs of this pool in flight at once (the event source mapping's maximumConcurrency). */
  concurrency: number;
  /** Executor timeout, ms; a target's deadline is kept below it. */
  timeout: number;
  memorySize: number;
}

export interface JobsFile {
  jobs: JobDefinition[];
  pools: Record<string, PoolDefinition>;
}
