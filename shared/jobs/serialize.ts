/**
 * A normalized job written back the way people write it: durations as text (`5m`), for display and for
 * `jobs get` output that can be pasted into a jobs file. `parseJob(serializeJob(job))` deep-equals `job`.
 */

import type { CatchUpPolicy } from '../schedule/types.js';
import { formatDuration } from './duration.js';
import type { HttpMethod, JobDefinition, OverlapPolicy, PoolDefinition, Target } from './types.js';

type WithTextTimeout<T> = T extends { timeout: number } ? Omit<T, 'timeout'> & { timeout: string } : never;

/** A target with its timeout as text. */
export type SerializedTarget = WithTextTimeout<Target>;

/** A job as a plain JSON object, durations as text. */
export interface SerializedJob {
  id: string;
  description?: string;
  tags?: Record<string, string>;
  maxRuns?: number;
  afterLastRun?: 'delete' | 'keep';
  exclude?: string[];
  schedule: string | string[];
  timezone: string;
  target: SerializedTarget;
  payload?: unknown;
  pool: string;
  catchUp: CatchUpPolicy;
  maxCatchUp: number;
  startingDeadline: string;
  overlap: OverlapPolicy;
  retry: { maxAttempts: number; backoff: string };
  jitter: string;
  pauseAfterFailures: number;
  startAt?: string;
  endAt?: string;
  enabled: boolean;
}

export interface SerializedPool {
  concurrency: number;
  timeout: string;
  memorySize: number;
  batchSize?: number;
}

function serializeTarget(target: Target): SerializedTarget {
  const timeout = formatDuration(target.timeout);
  switch (target.type) {
    case 'http': {
      const method: HttpMethod = target.method;
      return {
        type: 'http',
        url: target.url,
        method,
        ...(target.headers === undefined ? {} : { headers: structuredClone(target.headers) }),
        ...(target.hmacSecret === undefined ? {} : { hmacSecret: target.hmacSecret }),
        ...(target.hmacSecretEnv === undefined ? {} : { hmacSecretEnv: target.hmacSecretEnv }),
        timeout,
      };
    }
    case 'lambda':
      return { type: 'lambda', functionName: target.functionName, timeout };
    case 'sqs':
      return { type: 'sqs', queueUrl: target.queueUrl, timeout };
    case 'eventbridge':
      return {
        type: 'eventbridge',
        eventBusName: target.eventBusName,
        source: target.source,
        detailType: target.detailType,
        timeout,
      };
    case 'handler':
      return { type: 'handler', name: target.name, timeout };
    case 'stepfunctions':
    case 'ecs':
      // Plain JSON already (no durations but the timeout); copied so the result shares nothing with the job.
      return { ...structuredClone(target), timeout };
  }
}

/**
 * The job as a plain JSON object in the field order of SPEC §3, durations as text; optional fields that
 * are unset are left out.
 *
 * @example serializeJob(job).startingDeadline // '10m'
 */
export function serializeJob(job: JobDefinition): SerializedJob {
  return {
    id: job.id,
    ...(job.description === undefined ? {} : { description: job.description }),
    ...(job.tags === undefined ? {} : { tags: { ...job.tags } }),
    schedule: typeof job.schedule === 'string' ? job.schedule : [...job.schedule],
    timezone: job.timezone,
    target: serializeTarget(job.target),
    ...(job.payload === undefined ? {} : { payload: structuredClone(job.payload) }),
    pool: job.pool,
    catchUp: job.catchUp,
    maxCatchUp: job.maxCatchUp,
    startingDeadline: formatDuration(job.startingDeadline),
    overlap: job.overlap,
    retry: { maxAttempts: job.retry.maxAttempts, backoff: formatDuration(job.retry.backoff) },
    jitter: formatDuration(job.jitter),
    pauseAfterFailures: job.pauseAfterFailures,
    ...(job.startAt === undefined ? {} : { startAt: job.startAt }),
    ...(job.endAt === undefined ? {} : { endAt: job.endAt }),
    ...(job.maxRuns === undefined ? {} : { maxRuns: job.maxRuns }),
    ...(job.afterLastRun === undefined ? {} : { afterLastRun: job.afterLastRun }),
    ...(job.exclude === undefined ? {} : { exclude: [...job.exclude] }),
    enabled: job.enabled,
  };
}

/** A pool as a plain JSON object, its timeout as text. */
export function serializePool(pool: PoolDefinition): SerializedPool {
  return {
    concurrency: pool.concurrency,
    timeout: formatDuration(pool.timeout),
    memorySize: pool.memorySize,
    ...(pool.batchSize !== undefined && pool.batchSize > 1 ? { batchSize: pool.batchSize } : {}),
  };
}
