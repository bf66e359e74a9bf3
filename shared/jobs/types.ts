/**
 * The job model after validation: defaults applied, durations in milliseconds. Parsing a normalized job
 * again yields the same job (the schema accepts a duration as `30s`/`5m` text or as a number of ms).
 */
import type { CalendarDefinition } from '../calendars/calendar.js';
import type { CatchUpPolicy } from '../schedule/types.js';
import type { SecretHeader } from '../targets/secrets.js';
import type { EcsTarget, StepFunctionsTarget } from './aws-targets.js';

export type { SecretHeader } from '../targets/secrets.js';
export type {
  EcsCapacityProvider,
  EcsLaunchType,
  EcsNetwork,
  EcsTarget,
  StepFunctionsTarget,
} from './aws-targets.js';

/**
 * What a slot does while the job's previous run is still going: run beside it, be recorded
 * `skipped(overlap)`, or wait for it.
 *
 * @example const overlap: OverlapPolicy = 'skip';
 */
export type OverlapPolicy = 'allow' | 'skip' | 'queue' | 'replace';

/**
 * When a run of a target ends: `sync` (default) when the invocation returns; `async` when the worker the
 * target handed the run to reports `complete` or `fail` with the run context's `completionToken`
 * (docs/jobs.md "Runs that outlive a Lambda").
 *
 * @example const completion: CompletionMode = 'async';
 */
export type CompletionMode = 'sync' | 'async';

/** @example const method: HttpMethod = 'POST'; */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Calls a URL with the run context as the JSON body (durations in ms once normalized).
 *
 * Secrets are named, never written: `hmacSecret` and a header's `{ secret }` name a secret the operator
 * declared (the construct's `secrets`, `punctual dev --secret`); docs/security.md "Secrets".
 *
 * @example { type: 'http', url: 'https://example.com/hook', method: 'POST', hmacSecret: 'billing-hook', headers: { authorization: { secret: 'billing-api', prefix: 'Bearer ' } }, timeout: 30_000 }
 */
export interface HttpTarget {
  type: 'http';
  url: string;
  method: HttpMethod;
  /** Plain text, or `{ secret, prefix? }` for a declared secret (credential-like names must use the latter). */
  headers?: Record<string, string | SecretHeader>;
  /**
   * A declared secret's name: the request is signed with it (HMAC-SHA256, `x-punctual-signature`).
   */
  hmacSecret?: string;
  /**
   * @deprecated Use `hmacSecret`. Kept for one release: it must name a declared secret (never an
   * environment variable) and works as `hmacSecret`, with a warning.
   */
  hmacSecretEnv?: string;
  /** `async`: the run ends when the worker reports (lambda: an asynchronous `Event` invoke). */
  completion?: CompletionMode;
  timeout: number;
}
/** @example { type: 'lambda', functionName: 'arn:aws:lambda:eu-west-1:123456789012:function:report', timeout: 60_000 } */
export interface LambdaTarget {
  type: 'lambda';
  functionName: string;
  /** `async`: the run ends when the worker reports (lambda: an asynchronous `Event` invoke). */
  completion?: CompletionMode;
  timeout: number;
}
/** @example { type: 'sqs', queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/work', timeout: 10_000 } */
export interface SqsTarget {
  type: 'sqs';
  queueUrl: string;
  /** `async`: the run ends when the worker reports (lambda: an asynchronous `Event` invoke). */
  completion?: CompletionMode;
  timeout: number;
}
/** @example { type: 'eventbridge', eventBusName: 'app', source: 'my.app', detailType: 'Tick', timeout: 10_000 } */
export interface EventBridgeTarget {
  type: 'eventbridge';
  eventBusName: string;
  source: string;
  detailType: string;
  /** `async`: the run ends when the worker reports (lambda: an asynchronous `Event` invoke). */
  completion?: CompletionMode;
  timeout: number;
}
/** @example { type: 'handler', name: 'daily-report', timeout: 30_000 } */
export interface HandlerTarget {
  type: 'handler';
  /** A function registered in the executor bundle (see shared/targets/handlers.ts). */
  name: string;
  timeout: number;
}
/**
 * Where a run goes. In a job as written (a jobs file, the construct's `jobs`) `timeout` may be text (`30s`).
 *
 * @example const target: Target = { type: 'handler', name: 'noop', timeout: 10_000 };
 */
export type Target =
  | HttpTarget
  | LambdaTarget
  | SqsTarget
  | EventBridgeTarget
  | HandlerTarget
  | StepFunctionsTarget
  | EcsTarget;
/** @example const type: TargetType = 'http'; */
export type TargetType = Target['type'];

/** @example { maxAttempts: 3, backoff: 60_000 } */
export interface RetryPolicy {
  /** Attempts in all, including the first; 1 = no retry. */
  maxAttempts: number;
  /** Delay before the second attempt; doubles for each further attempt (capped at 15 minutes by SQS). */
  backoff: number;
}

/**
 * A job after validation: every default applied, durations in ms. Write jobs as in a jobs file (SPEC §3);
 * `validateJobs` and the construct turn them into this.
 *
 * @example
 * const { jobs } = await validateJobs({ jobs: [{ id: 'ping', schedule: 'rate(5 minutes)', target: { type: 'handler', name: 'noop' } }] });
 * // the definition of `ping` has timezone 'UTC', pool 'default', catchUp 'latest', retry { maxAttempts: 1, … }
 */
export interface JobDefinition {
  id: string;
  description?: string;
  /** Labels to list jobs by: at most 10, keys 1–64 of `[A-Za-z0-9_.:/-]`, values 1–128 characters. */
  tags?: Record<string, string>;
  /**
   * The job ends after this many scheduled runs have started (manual runs, backfills and replays do not
   * count); its later slots are not owed, and a slot claimed before the limit was reached is recorded
   * skipped(max-runs).
   */
  maxRuns?: number;
  /**
   * `delete`: once the schedule has ended (`at()`, `endAt`, `maxRuns`) and its last run has a final fate,
   * the job is deleted (its run records stay until they expire). Default (absent) `keep`.
   */
  afterLastRun?: 'delete' | 'keep';
  /**
   * Exclusion calendars by name (at most 5): a slot one of them excludes is recorded skipped(calendar),
   * with the calendar's name, and never run.
   */
  exclude?: string[];
  /** One expression, or a list of them: the job's slots are the union, deduplicated. */
  schedule: string | string[];
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
  /**
   * With an asynchronous target: an attempt with no heartbeat for this long is lost (ms; 5 minutes when
   * not given).
   */
  heartbeatTimeout?: number;
  /** With an asynchronous target: an attempt still running after this is failed(timeout) (ms; 24 h when not given). */
  maxRunDuration?: number;
  /** ISO-8601 UTC. */
  startAt?: string;
  endAt?: string;
  enabled: boolean;
}

/** @example { concurrency: 2, timeout: 300_000, memorySize: 512 } */
export interface PoolDefinition {
  /** Most runs of this pool in flight at once (the event source mapping's maximumConcurrency). */
  concurrency: number;
  /** Executor timeout, ms; a target's deadline is kept below it. */
  timeout: number;
  memorySize: number;
  /**
   * Runs one executor invocation takes at once (the event source mapping's batch size, 1–10; 1 when not
   * given). Above 1 the runs of a batch execute side by side in one invocation: runs in flight ≤
   * concurrency × batchSize, and a batch pays one receive, one delete, one invocation and one set of
   * platform log lines. No batching window: a batch is what is visible at once, so no start waits.
   */
  batchSize?: number;
}

/** A parsed jobs file. @example const file: JobsFile = { jobs: [], pools: { default: { concurrency: 2, timeout: 300_000, memorySize: 512 } } }; */
export interface JobsFile {
  jobs: JobDefinition[];
  pools: Record<string, PoolDefinition>;
  /** The file's `calendars:` map (exclusion calendars by name), when it has one. */
  calendars?: Record<string, CalendarDefinition>;
}
