/**
 * The Scheduler's props, checked and normalized before a single resource is created: pools, declared
 * jobs, gap alarms and tick settings. Every violation is collected and thrown at once as an
 * `JobValidationError` whose lines read `path "value": rule` (e.g. `jobs[1].schedule "rate(0 minutes)": …`),
 * so `cdk synth` fails with everything that is wrong, not just the first thing.
 *
 * Pure: no CDK resource is created here, so the rules are cheap to test.
 */

import { Duration, Token } from 'aws-cdk-lib';
import { type CalendarDefinition, checkCalendar } from '../shared/calendars/calendar.js';
import { JobValidationError, type Violation } from '../shared/errors.js';
import {
  DEFAULT_POOL,
  formatDuration,
  type JobDefinition,
  MAX_POOL_BATCH_SIZE,
  POOL_DEFAULTS,
  POOL_NAME_PATTERN,
  parseDuration,
  validateJob,
} from '../shared/jobs/index.js';
import { nextSlot, parseSchedule } from '../shared/schedule/index.js';
import { DEFAULT_RETENTION_DAYS, DEFAULT_SHARDS } from '../shared/store/model.js';
import { builtinHandlers } from '../shared/targets/handlers.js';
import {
  type ResolvedTargetPolicy,
  resolveTargetPolicy,
  STACK_TARGET_POLICY,
  TargetGuard,
  type TargetPolicy,
  TargetPolicyRefusal,
} from '../shared/targets/policy.js';
import { secretNameProblem, undeclaredSecrets } from '../shared/targets/secrets.js';
import { DEFAULT_TICK_CONFIG } from '../shared/tick/tick.js';

/**
 * Lambda's SQS event source mapping refuses a `maximumConcurrency` below 2
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html#events-sqs-max-concurrency).
 */
export const ESM_MIN_CONCURRENCY = 2;
export const ESM_MAX_CONCURRENCY = 1000;
/**
 * Reserved concurrency is set to the pool's concurrency plus this. The event source mapping never runs
 * more than `maximumConcurrency` invocations, but a reservation exactly equal to it leaves no room for a
 * manual test invoke or an environment still finishing its previous invocation: the poller would then be
 * throttled, and a throttled receive still counts towards `maxReceiveCount`, pushing healthy runs to the DLQ.
 */
export const RESERVED_CONCURRENCY_HEADROOM = 1;
/** A Lambda function runs at most 15 minutes. */
const MAX_FUNCTION_TIMEOUT_MS = 15 * 60_000;
/**
 * Most shard groups: the coordinator invokes each further group within its minute, and 64 asynchronous
 * invokes take well under a second; more groups than that means more shards per group instead.
 */
export const MAX_TICK_GROUPS = 64;
/** SQS delays a message 900 s at most, so the tick cannot send a slot further ahead. */
const MAX_LOOKAHEAD_MS = 900_000;
/** Kept free at the end of the tick's 60 s timeout to flush metrics and events (functions/tick.ts keeps 10 s). */
export const TICK_TIMEOUT_MS = 60_000;
/** CloudWatch evaluates an alarm over 7 days at most (1 day when its period is under an hour). */
const MAX_ALARM_RANGE_S = 7 * 86_400;
/** Metric filter datapoints can arrive a minute or two late; a shorter gap window would flap. */
export const MIN_GAP_WINDOW_S = 300;

/**
 * One executor pool: an SQS queue, its DLQ and an executor function consuming it.
 * Same shape as the `pools:` map of a jobs file.
 *
 * @example new Scheduler(stack, 'Scheduler', { pools: { reports: { concurrency: 2, timeout: '10m', memorySize: 1024 } } });
 */
export interface PoolProps {
  /**
   * Most runs of this pool in flight at once: the event source mapping's `maximumConcurrency`. At least 2
   * (the mapping's minimum).
   * @default 2
   */
  readonly concurrency?: number;
  /**
   * The executor's timeout: a `Duration`, a duration text (`5m`) or milliseconds. A job's
   * `target.timeout` must not exceed it. The queue's visibility timeout is 6 times this.
   * @default 5 minutes
   */
  readonly timeout?: Duration | string | number;
  /**
   * The executor's memory, MB (128–10,240).
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Runs one executor invocation takes at once: the event source mapping's batch size (1–10). Above 1
   * the runs of a batch execute side by side in one invocation, so runs in flight ≤ concurrency ×
   * batchSize, and a batch pays one receive, one delete, one invocation and one set of platform log
   * lines (docs/scale.md, "Executor batches"). No batching window: a batch is what is visible at once,
   * so no start waits for one.
   * @default 1
   */
  readonly batchSize?: number;
}

/**
 * A gap alarm: raised when a job has not succeeded for `factor` times its longest interval between slots.
 *
 * @example jobs: [{ id: 'heartbeat', schedule: 'rate(5 minutes)', target: { type: 'handler', name: 'log' }, gapAlarm: { factor: 3 } }]
 */
export interface GapAlarmOptions {
  /**
   * How many periods without a successful run before the alarm. At least 1; 2 or 3 tolerates one failed
   * or skipped run.
   */
  readonly factor: number;
}

export interface ResolvedPool {
  readonly name: string;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly memorySize: number;
  readonly batchSize: number;
}

/** How a gap alarm evaluates: `evaluationPeriods` periods in a row with no success. */
export interface GapWindow {
  /** The whole window, seconds. */
  readonly windowSeconds: number;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
}

export interface ResolvedJob {
  /** The job normalized: what the custom resource hands to `putJob`. */
  readonly definition: JobDefinition;
  readonly gapAlarm?: GapWindow & { factor: number };
}

export interface ResolvedConfig {
  readonly pools: ResolvedPool[];
  readonly jobs: ResolvedJob[];
  /** The declared exclusion calendars, checked; written by the deploy before the jobs. */
  readonly calendars: CalendarDefinition[];
  readonly shards: number;
  readonly retentionDays: number;
  readonly lookaheadMs: number;
  readonly tickBudgetMs: number;
  readonly tickGroups: number;
  /** The executors' target policy, every field filled in (the stack defaults for those not given). */
  readonly targetPolicy: ResolvedTargetPolicy;
}

export interface ConfigInput {
  readonly pools?: Record<string, PoolProps>;
  readonly jobs?: readonly unknown[];
  readonly calendars?: Record<string, unknown>;
  readonly shards?: number;
  readonly runRetention?: Duration;
  readonly lookahead?: Duration;
  readonly tickBudget?: Duration;
  readonly tickGroups?: number;
  /** The handler names the executor bundle holds (default: the builtins). */
  readonly handlerNames?: readonly string[];
  readonly targetPolicy?: TargetPolicy;
  /** The names of the secrets the construct declares (its `secrets` prop): the only ones jobs may name. */
  readonly secretNames?: readonly string[];
}

/**
 * Lambda allows 4 KB of environment variables per function, shared with the table, pools and bus
 * settings; the policy travels there (PUNCTUAL_TARGET_POLICY).
 */
export const MAX_TARGET_POLICY_CHARS = 2048;

/** Declared http jobs the policy would refuse at every run: caught at synth rather than at the first run. */
function checkDeclaredTargets(
  jobs: readonly ResolvedJob[],
  policy: ResolvedTargetPolicy,
  violations: Violation[],
) {
  const guard = new TargetGuard(policy);
  jobs.forEach((job, index) => {
    const target = job.definition.target;
    if (target.type !== 'http') return;
    try {
      guard.checkUrl(new URL(target.url));
    } catch (error) {
      if (!(error instanceof TargetPolicyRefusal)) throw error;
      violations.push({ path: `jobs[${index}].target.url`, value: target.url, message: error.message });
    }
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function durationMs(value: Duration | string | number): number {
  return value instanceof Duration ? value.toMilliseconds({ integral: false }) : parseDuration(value);
}

function shown(value: unknown): unknown {
  return value instanceof Duration ? value.toHumanString() : value;
}

function checkInteger(
  violations: Violation[],
  path: string,
  value: number,
  min: number,
  max: number,
  why = '',
): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    violations.push({ path, value, message: `must be a whole number from ${min} to ${max}${why}` });
  }
}

export function resolvePools(
  pools: Record<string, PoolProps> | undefined,
  violations: Violation[],
): ResolvedPool[] {
  const declared: Record<string, PoolProps> = { [DEFAULT_POOL]: {}, ...(pools ?? {}) };
  const resolved: ResolvedPool[] = [];
  for (const [name, raw] of Object.entries(declared)) {
    const path = `pools.${name}`;
    if (!POOL_NAME_PATTERN.test(name)) {
      violations.push({
        path,
        value: name,
        message:
          'is not a valid pool name: 1 to 32 of a-z, 0-9, "-" and "_", starting with a letter or a digit ' +
          '(it becomes part of a queue and a function name)',
      });
      continue;
    }
    if (!isRecord(raw as unknown)) {
      violations.push({
        path,
        value: raw,
        message: 'must be an object { concurrency, timeout, memorySize, batchSize }',
      });
      continue;
    }
    const before = violations.length;
    const known = ['concurrency', 'timeout', 'memorySize', 'batchSize'];
    for (const key of Object.keys(raw)) {
      if (!known.includes(key))
        violations.push({
          path: `${path}.${key}`,
          value: undefined,
          message: `is not a pool setting (known: ${known.join(', ')})`,
        });
    }
    const concurrency = raw.concurrency ?? POOL_DEFAULTS.concurrency;
    checkInteger(
      violations,
      `${path}.concurrency`,
      concurrency,
      ESM_MIN_CONCURRENCY,
      ESM_MAX_CONCURRENCY,
      ` (Lambda's SQS event source mapping caps a pool with maximumConcurrency, whose minimum is ${ESM_MIN_CONCURRENCY})`,
    );
    const memorySize = raw.memorySize ?? POOL_DEFAULTS.memorySize;
    checkInteger(violations, `${path}.memorySize`, memorySize, 128, 10_240, ' (MB, Lambda limits)');
    const batchSize = raw.batchSize ?? 1;
    checkInteger(
      violations,
      `${path}.batchSize`,
      batchSize,
      1,
      MAX_POOL_BATCH_SIZE,
      ' (Lambda takes more than 10 SQS records a batch only with a batching window, which would delay starts)',
    );
    let timeoutMs = POOL_DEFAULTS.timeout;
    if (raw.timeout !== undefined) {
      try {
        timeoutMs = durationMs(raw.timeout);
        if (timeoutMs < 1_000 || timeoutMs > MAX_FUNCTION_TIMEOUT_MS || timeoutMs % 1_000 !== 0) {
          violations.push({
            path: `${path}.timeout`,
            value: shown(raw.timeout),
            message: 'must be whole seconds from 1s to 15m (a Lambda function runs 15 minutes at most)',
          });
        }
      } catch (error) {
        violations.push({
          path: `${path}.timeout`,
          value: shown(raw.timeout),
          message: (error as Error & { rule?: string }).rule ?? (error as Error).message,
        });
      }
    }
    if (violations.length === before) resolved.push({ name, concurrency, timeoutMs, memorySize, batchSize });
  }
  return resolved;
}

/**
 * The longest interval between two consecutive slots of a recurring schedule, ms, or undefined for a
 * one-shot `at()`. Cron is scanned over a year from a fixed instant (so synth is deterministic and DST
 * gaps are seen), up to 10,000 slots.
 */
export function longestInterval(definition: JobDefinition): number | undefined {
  const reference = Date.UTC(2026, 0, 1);
  const schedule = parseSchedule(definition.schedule, { timezone: definition.timezone, anchor: reference });
  if (schedule.kind === 'rate') return schedule.periodMs;
  if (schedule.kind === 'at') return undefined;
  let longest = 0;
  let previous = nextSlot(schedule, reference);
  for (let i = 0; previous !== undefined && i < 10_000 && previous < reference + 366 * 86_400_000; i++) {
    const next = nextSlot(schedule, previous);
    if (next === undefined) break;
    longest = Math.max(longest, next - previous);
    previous = next;
  }
  return longest || undefined;
}

/** The alarm's evaluation for a gap of `factor` × the job's longest interval. */
export function gapWindow(intervalMs: number, factor: number): GapWindow | string {
  const windowSeconds = Math.max(MIN_GAP_WINDOW_S, Math.ceil((factor * intervalMs) / 60_000) * 60);
  if (windowSeconds <= 86_400) return { windowSeconds, periodSeconds: windowSeconds, evaluationPeriods: 1 };
  // Over a day: hourly periods, every one of them without a success (periods of an hour or more may
  // span 7 days in all).
  const evaluationPeriods = Math.ceil(windowSeconds / 3_600);
  if (evaluationPeriods * 3_600 > MAX_ALARM_RANGE_S) {
    return (
      `gives a window of ${formatDuration(windowSeconds * 1000)}, longer than the 7 days a CloudWatch alarm can ` +
      'look back: lower the factor, or rely on the OverdueJobs alarm for this job'
    );
  }
  return { windowSeconds: evaluationPeriods * 3_600, periodSeconds: 3_600, evaluationPeriods };
}

/** The paths of the unresolved CDK tokens in a job. */
function tokenPaths(value: unknown, path: string): string[] {
  if (typeof value === 'string' || typeof value === 'number') return Token.isUnresolved(value) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => tokenPaths(item, `${path}[${i}]`));
  if (isRecord(value))
    return Object.entries(value).flatMap(([key, item]) => tokenPaths(item, `${path}.${key}`));
  return [];
}

export function resolveJobs(
  jobs: readonly unknown[] | undefined,
  pools: readonly ResolvedPool[],
  violations: Violation[],
  handlerNames: readonly string[] = builtinHandlers().names(),
): ResolvedJob[] {
  const resolved: ResolvedJob[] = [];
  const poolByName = new Map(pools.map((pool) => [pool.name, pool]));
  const firstIndexOfId = new Map<string, number>();
  (jobs ?? []).forEach((entry, index) => {
    const prefix = `jobs[${index}]`;
    // `gapAlarm` is a construct option, not part of the job: it is taken off before validation.
    let input: unknown = entry;
    let gapAlarm: unknown;
    if (isRecord(entry) && 'gapAlarm' in entry) {
      const { gapAlarm: option, ...rest } = entry;
      gapAlarm = option;
      input = rest;
    }
    const tokens = tokenPaths(input, prefix);
    if (tokens.length > 0) {
      // A token's value is known at deploy time only; the job would be validated against its placeholder.
      for (const path of tokens) {
        violations.push({
          path,
          value: undefined,
          message:
            'is a CDK token, unresolved at synth: declared jobs are validated and written as given, so use a ' +
            'concrete value (e.g. give the target resource a physical name and use that name)',
        });
      }
      return;
    }
    const own: Violation[] = [];
    const result = validateJob(input);
    if (!result.ok) {
      for (const v of result.violations) own.push({ ...v, path: v.path ? `${prefix}.${v.path}` : prefix });
    }
    const id = isRecord(input) ? input.id : undefined;
    if (typeof id === 'string') {
      const first = firstIndexOfId.get(id);
      if (first === undefined) firstIndexOfId.set(id, index);
      else
        own.push({
          path: `${prefix}.id`,
          value: id,
          message: `is already the id of jobs[${first}]: job ids must be unique`,
        });
    }
    if (result.ok) {
      const job = result.job;
      const pool = poolByName.get(job.pool);
      if (!pool) {
        own.push({
          path: `${prefix}.pool`,
          value: job.pool,
          message: `is not a pool of this Scheduler (pools: ${pools.map((p) => p.name).join(', ')}); declare it under the pools prop`,
        });
      } else if (job.target.timeout > pool.timeoutMs) {
        own.push({
          path: `${prefix}.target.timeout`,
          value: formatDuration(job.target.timeout),
          message: `is longer than the timeout of pool "${pool.name}" (${formatDuration(pool.timeoutMs)}): shorten it or raise pools.${pool.name}.timeout (up to 15m)`,
        });
      }
      if (job.target.type === 'handler' && !handlerNames.includes(job.target.name)) {
        own.push({
          path: `${prefix}.target.name`,
          value: job.target.name,
          message: `is not a handler bundled into the executor (bundled: ${handlerNames.join(', ')})`,
        });
      }
    }
    let gap: (GapWindow & { factor: number }) | undefined;
    if (gapAlarm !== undefined) {
      const factor = isRecord(gapAlarm) ? gapAlarm.factor : undefined;
      if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
        own.push({
          path: `${prefix}.gapAlarm.factor`,
          value: factor,
          message: 'must be a number of at least 1 (periods without a success)',
        });
      } else if (result.ok) {
        const interval = longestInterval(result.job);
        if (interval === undefined) {
          own.push({
            path: `${prefix}.gapAlarm`,
            value: undefined,
            message: `needs a recurring schedule; ${JSON.stringify(result.job.schedule)} runs once`,
          });
        } else {
          const window = gapWindow(interval, factor);
          if (typeof window === 'string')
            own.push({ path: `${prefix}.gapAlarm.factor`, value: factor, message: window });
          else gap = { ...window, factor };
        }
      }
    }
    if (own.length > 0 || !result.ok) violations.push(...own);
    else resolved.push({ definition: result.job, ...(gap ? { gapAlarm: gap } : {}) });
  });
  return resolved;
}

/**
 * Checks and normalizes the props the Scheduler needs before it builds anything.
 *
 * @throws JobValidationError listing every violation of the pools, the jobs and the tick settings.
 */
export function resolveConfig(input: ConfigInput, subject = 'Scheduler props'): ResolvedConfig {
  const violations: Violation[] = [];
  const pools = resolvePools(input.pools, violations);
  const jobs = resolveJobs(input.jobs, pools, violations, input.handlerNames);
  const calendars = resolveCalendars(input.calendars, jobs, violations);

  const shards = input.shards ?? DEFAULT_SHARDS;
  checkInteger(violations, 'shards', shards, 1, 100, ' (shards of the due and open indexes)');

  const retentionDays = input.runRetention
    ? input.runRetention.toDays({ integral: false })
    : DEFAULT_RETENTION_DAYS;
  checkInteger(violations, 'runRetention', retentionDays, 1, 3_650, ' days (how long run records are kept)');

  const lookaheadMs = input.lookahead
    ? input.lookahead.toMilliseconds({ integral: false })
    : DEFAULT_TICK_CONFIG.lookaheadMs;
  if (lookaheadMs < 60_000 || lookaheadMs > MAX_LOOKAHEAD_MS) {
    violations.push({
      path: 'lookahead',
      value: shown(input.lookahead),
      message: 'must be from 60s (the tick runs every minute) to 900s (the longest SQS message delay)',
    });
  }
  const tickBudgetMs = input.tickBudget
    ? input.tickBudget.toMilliseconds({ integral: false })
    : DEFAULT_TICK_CONFIG.budgetMs;
  if (tickBudgetMs < 5_000 || tickBudgetMs > TICK_TIMEOUT_MS - 10_000) {
    violations.push({
      path: 'tickBudget',
      value: shown(input.tickBudget),
      message: 'must be from 5s to 50s: the tick times out at 60s and keeps 10s to flush metrics and events',
    });
  }

  const tickGroups = input.tickGroups ?? DEFAULT_TICK_CONFIG.groups;
  checkInteger(
    violations,
    'tickGroups',
    tickGroups,
    1,
    Math.max(1, Math.min(shards, MAX_TICK_GROUPS)),
    ` (each group owns at least one of the ${shards} shards; the coordinator invokes at most ${MAX_TICK_GROUPS - 1} workers)`,
  );

  const policyStart = violations.length;
  const targetPolicy = resolveTargetPolicy(input.targetPolicy, STACK_TARGET_POLICY, violations);
  if (violations.length === policyStart) {
    const size = JSON.stringify(targetPolicy).length;
    if (size > MAX_TARGET_POLICY_CHARS) {
      violations.push({
        path: 'targetPolicy',
        value: undefined,
        message:
          `is ${size} characters as JSON, over ${MAX_TARGET_POLICY_CHARS} (it goes into the executors' ` +
          'environment, 4 KB in all): allow ranges with cidrs or subdomains with *.example.internal instead of listing each',
      });
    }
    checkDeclaredTargets(jobs, targetPolicy, violations);
  }

  const secretNames = input.secretNames ?? [];
  for (const name of secretNames) {
    const problem = secretNameProblem(name);
    if (problem) violations.push({ path: `secrets.${name}`, value: name, message: problem });
  }
  jobs.forEach((job, index) => {
    violations.push(...undeclaredSecrets(job.definition.target, secretNames, `jobs[${index}]`));
  });

  if (violations.length > 0) throw new JobValidationError(violations, subject);
  return {
    pools,
    jobs,
    calendars,
    shards,
    retentionDays,
    lookaheadMs,
    tickBudgetMs,
    tickGroups,
    targetPolicy,
  };
}

/**
 * The declared calendars, each checked; a declared job may exclude only a declared calendar (the deploy
 * writes the calendars, then the jobs).
 */
export function resolveCalendars(
  input: Record<string, unknown> | undefined,
  jobs: readonly ResolvedJob[],
  violations: Violation[],
): CalendarDefinition[] {
  const calendars: CalendarDefinition[] = [];
  for (const [name, raw] of Object.entries(input ?? {})) {
    const checked = checkCalendar(name, raw);
    if (checked.ok) calendars.push(checked.calendar);
    else violations.push(...checked.violations);
  }
  const declared = Object.keys(input ?? {});
  jobs.forEach((job, index) => {
    job.definition.exclude?.forEach((name, i) => {
      if (declared.includes(name)) return;
      violations.push({
        path: `jobs[${index}].exclude[${i}]`,
        value: name,
        message: `is not a calendar of this Scheduler (calendars: ${declared.join(', ') || 'none'}); declare it under the calendars prop`,
      });
    });
  });
  return calendars;
}
