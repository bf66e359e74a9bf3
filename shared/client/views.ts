/**
 * The public shapes of jobs and runs: what `PunctualClient` returns and what the CLI prints with `--json`.
 * Stable field names, independent of how items are laid out in the table (no pk/sk, no lease). Times are
 * ISO-8601 UTC; a field that does not apply is null, never absent. Change them only by adding fields.
 *
 * Each shape is a zod schema first: the TypeScript types are inferred from it, docs/cli.md lists its
 * fields from its JSON Schema (`z.toJSONSchema`), and the tests check real `--json` outputs against it.
 */
import { z } from 'zod';
import { type SerializedJob, serializeJob } from '../jobs/index.js';
import type { JobDescription } from '../ops/jobs.js';
import { describeSchedule } from '../schedule/index.js';
import { decodeJob } from '../store/decode.js';
import {
  type AttemptRecord,
  type JobItem,
  previousRunOf,
  type RunItem,
  type RunReason,
  type RunStatus,
} from '../store/model.js';

export const RUN_STATUSES = [
  'dispatched',
  'queued',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'missed',
  'skipped',
  'cancelled',
] as const satisfies readonly RunStatus[];

export const RUN_REASONS = [
  'ok',
  'error',
  'timeout',
  'lost',
  'coalesced',
  'catch-up-limit',
  'catch-up-skip',
  'deadline',
  'overlap',
  'paused',
  'job-paused',
  'job-deleted',
  'aws-targets-off',
  'max-runs',
  'calendar',
  'replaced',
] as const satisfies readonly RunReason[];

// Compile-time checks that the lists above name every status and reason of the store's model.
const everyStatus: Exclude<RunStatus, (typeof RUN_STATUSES)[number]> extends never ? true : false = true;
const everyReason: Exclude<RunReason, (typeof RUN_REASONS)[number]> extends never ? true : false = true;
void everyStatus;
void everyReason;

const time = z.iso.datetime();
const nullableTime = (description: string) => time.nullable().describe(description);

export const attemptSchema = z.object({
  attempt: z.number().int().describe('1 for the first attempt'),
  status: z.enum(['running', 'succeeded', 'failed', 'lost']),
  startedAt: time,
  finishedAt: nullableTime('when the attempt ended; null while it runs'),
  durationMs: z.number().nullable(),
  error: z.string().nullable(),
  lateReports: z
    .array(
      z.object({ type: z.enum(['heartbeat', 'complete', 'fail']), at: time, error: z.string().nullable() }),
    )
    .describe('asynchronous completion: reports that came after the attempt had ended (lost, timeout)'),
});

export const runSchema = z
  .object({
    runId: z.string().describe('`jobId@slot` (or `jobId@manual-<time>`): the idempotency key'),
    jobId: z.string(),
    scheduledAt: time.describe('the slot'),
    status: z.enum(RUN_STATUSES),
    reason: z.enum(RUN_REASONS).nullable().describe('why it ended so; null while it is open'),
    calendar: z
      .string()
      .nullable()
      .describe('skipped(calendar): the exclusion calendar that excluded the slot'),
    replacedBy: z
      .string()
      .nullable()
      .describe(
        'overlap replace: the run of a later slot that stopped this one (set while it is being stopped; it ends cancelled(replaced))',
      ),
    attempt: z.number().int().describe('the attempt in progress or last made; 0 before the first start'),
    manual: z.boolean().describe('created by a trigger'),
    backfill: z.boolean().describe('created by a backfill'),
    replays: z.number().int().describe('how often it was replayed'),
    dispatchedAt: nullableTime('when it was sent to its pool'),
    startedAt: nullableTime('first start'),
    finishedAt: nullableTime('when it ended'),
    startLagMs: z.number().nullable().describe('first start − slot'),
    durationMs: z.number().nullable().describe('how long the last attempt ran'),
    lastError: z
      .string()
      .nullable()
      .describe('the error of the last failed attempt (kept after a later success)'),
    attempts: z.array(attemptSchema),
    targetType: z.string().nullable().describe('the target type of the definition the slot was claimed with'),
    pool: z.string().nullable(),
    maxAttempts: z.number().int().nullable().describe('attempts per dispatch or replay'),
    lastHeartbeatAt: nullableTime('asynchronous completion: the last heartbeat of the current attempt'),
    heartbeatDeadline: nullableTime(
      'asynchronous completion: the attempt is lost if no heartbeat comes by then (null once it ended)',
    ),
    runDeadline: nullableTime('asynchronous completion: the attempt fails (timeout) if still running then'),
    output: z.unknown().describe('what the worker reported with `complete`; null otherwise'),
  })
  .meta({ id: 'Run', description: 'A run: the fate of one slot' });

export const lastOutcomeSchema = z.object({
  runId: z.string(),
  status: z.enum(RUN_STATUSES),
  reason: z.enum(RUN_REASONS).nullable(),
  scheduledAt: time,
  at: time.describe('when it ended'),
  startLagMs: z.number().nullable(),
});

export const jobSchema = z
  .object({
    id: z.string(),
    schedule: z
      .union([z.string(), z.array(z.string())])
      .nullable()
      .describe('the expression as written, or the list of them'),
    scheduleText: z.string().nullable().describe('the schedule in words (`every 5 minutes`)'),
    timezone: z.string().nullable(),
    tags: z.record(z.string(), z.string()).describe('the labels the job is listed by (`--tag key=value`)'),
    exclude: z
      .array(z.string())
      .describe('the exclusion calendars whose slots it skips (recorded skipped(calendar))'),
    targetType: z.string().nullable().describe('http, lambda, sqs, eventbridge or handler'),
    pool: z.string().nullable(),
    enabled: z.boolean(),
    note: z
      .string()
      .nullable()
      .describe('why it is paused (operator note, failures, `declared disabled`); null when enabled'),
    nextRunAt: nullableTime(
      'the next slot not yet claimed (the tick claims up to a lookahead ahead; see upcomingAt)',
    ),
    upcomingAt: nullableTime('the next slot after now, claimed or not; null when paused or finished'),
    overdueMs: z
      .number()
      .nullable()
      .describe(
        'how long ago its next unclaimed slot passed, when that is more than two periods (`status` calls it overdue); else null',
      ),
    lastOutcome: lastOutcomeSchema.nullable().describe('the last run that ended'),
    consecutiveFailures: z.number().int(),
    invalid: z.string().nullable().describe('why the stored item cannot be scheduled; null when it is valid'),
    counts: z.record(z.string(), z.number()).describe('runs by status'),
  })
  .meta({ id: 'Job', description: 'A job: its schedule, state and last outcome' });

export const jobDetailSchema = jobSchema
  .extend({
    definition: z
      .custom<SerializedJob>()
      .nullable()
      .describe('the definition as in a jobs file (durations as text); null when the item is invalid'),
    state: z.object({
      anchor: time.nullable(),
      cursor: time.nullable().describe('the last slot claimed (slots at or before it are sent to the queue)'),
      version: z.number().int(),
      pausedAt: time.nullable(),
      running: z
        .array(z.string())
        .describe('run ids in progress (overlap allow: from the open index, at most 32)'),
      held: z.string().nullable().describe('the run held by overlap: queue'),
      runsStarted: z
        .number()
        .int()
        .nullable()
        .describe('scheduled runs started, counted for maxRuns (null for a job without maxRuns)'),
      previous: z
        .object({
          runId: z.string(),
          scheduledAt: time,
          status: z.string(),
          reason: z.string().nullable(),
          finishedAt: time,
          output: z.unknown().optional(),
          outputBytes: z.number().int().optional(),
        })
        .nullable()
        .describe(
          "the job's last scheduled run that started and ended: what the next run receives as `previous`",
        ),
      createdAt: time.nullable(),
      updatedAt: time.nullable(),
    }),
    lastRuns: z.array(runSchema).describe('the last 10 runs, newest first'),
    nextSlots: z
      .array(time)
      .describe(
        'the next 10 slots after now that will run, claimed or not (a slot at or before state.cursor is already sent)',
      ),
    excludedSlots: z
      .record(z.string(), z.string())
      .describe(
        'of nextSlots, those an exclusion calendar excludes (recorded skipped(calendar), not run): slot → calendar',
      ),
  })
  .describe('A job with its definition, state, last 10 runs and next 10 slots');

export const violationSchema = z.object({
  path: z.string().describe('the field, dotted (`jobs[2].target.url`)'),
  value: z.unknown().describe('the value given'),
  message: z.string().describe('the rule it breaks'),
  line: z.number().int().optional().describe('the line of the field in the file it was read from'),
});

export const putJobResultSchema = z.object({
  job: jobSchema,
  created: z.boolean(),
  changes: z.array(z.string()).describe('the fields that changed (`schedule`, `target`, …)'),
  warnings: z.array(z.string()),
});

export const backfillResultSchema = z.object({
  slots: z.number().int().describe('slots in the window'),
  created: z.number().int().describe('runs created'),
  existing: z.number().int().describe('slots that had a run already (kept)'),
  excluded: z
    .number()
    .int()
    .describe(
      "slots the job's exclusion calendars exclude, recorded skipped(calendar) instead of run (ignoreCalendars runs them)",
    ),
});

export const completionResultSchema = z
  .object({
    outcome: z
      .enum(['heartbeat', 'succeeded', 'retrying', 'failed', 'duplicate', 'cancelled'])
      .describe(
        'what the report did; `duplicate`: the same report had already ended the attempt; `cancelled`: AWS reported the end of a replaced run (a worker’s report about one is refused instead)',
      ),
    run: runSchema,
  })
  .meta({ id: 'CompletionResult', description: 'What a heartbeat, complete or fail report did' });

export type CompletionResult = z.infer<typeof completionResultSchema>;
export type Attempt = z.infer<typeof attemptSchema>;
/** A run record as the client returns it. */
export type Run = z.infer<typeof runSchema>;
export type RunStatusName = (typeof RUN_STATUSES)[number];
/** A job as `listJobs`, `pauseJob` and `resumeJob` return it. */
export type Job = z.infer<typeof jobSchema>;
/** A job as `getJob` returns it. */
export type JobDetail = z.infer<typeof jobDetailSchema>;
export type PutJobResult = z.infer<typeof putJobResultSchema>;
export type BackfillResult = z.infer<typeof backfillResultSchema>;

export function startLagOf(run: Pick<RunItem, 'startedAt' | 'scheduledAt'>): number | null {
  return run.startedAt ? Date.parse(run.startedAt) - Date.parse(run.scheduledAt) : null;
}

/** How long the last attempt ran (a run's first start and its end may be retries and a replay apart). */
function lastAttemptDuration(run: RunItem): number | null {
  const last = run.attempts?.[run.attempts.length - 1];
  if (last?.durationMs !== undefined) return last.durationMs;
  if (last?.finishedAt) return Date.parse(last.finishedAt) - Date.parse(last.startedAt);
  return null;
}

export function runView(run: RunItem): Run {
  return {
    runId: run.runId,
    jobId: run.jobId,
    scheduledAt: run.scheduledAt,
    status: run.status,
    reason: run.reason ?? null,
    calendar: run.calendar ?? null,
    replacedBy: run.replacedBy ?? null,
    attempt: run.attempt ?? 0,
    manual: Boolean(run.manual),
    backfill: Boolean(run.backfill),
    replays: run.replays ?? 0,
    dispatchedAt: run.dispatchedAt ?? null,
    startedAt: run.startedAt ?? null,
    finishedAt: run.finishedAt ?? null,
    startLagMs: startLagOf(run),
    durationMs: lastAttemptDuration(run),
    lastError: run.lastError ?? null,
    attempts: (run.attempts ?? []).map((attempt: AttemptRecord) => ({
      attempt: attempt.attempt,
      status: attempt.status,
      startedAt: attempt.startedAt,
      finishedAt: attempt.finishedAt ?? null,
      durationMs: attempt.durationMs ?? null,
      error: attempt.error ?? null,
      lateReports: (attempt.lateReports ?? []).map((late) => ({
        type: late.type,
        at: late.at,
        error: late.error ?? null,
      })),
    })),
    targetType: run.definition?.target?.type ?? null,
    pool: run.definition?.pool ?? null,
    maxAttempts: run.definition?.retry?.maxAttempts ?? null,
    lastHeartbeatAt: run.lastHeartbeatAt ?? null,
    heartbeatDeadline: run.heartbeatDeadline ?? null,
    runDeadline: run.runDeadline ?? null,
    output: run.output ?? null,
  };
}

/**
 * Whether a slot of the job's schedule is already claimed, sent to the queue to start at its second: it comes
 * before `nextRunAt`, the next slot not yet claimed (none left once the last slot of an `at()` or an `endAt`
 * is claimed). The CLI and the console mark such a next slot "sent".
 */
export function slotSent(job: Pick<Job, 'nextRunAt'>, slot: string): boolean {
  return job.nextRunAt === null || Date.parse(slot) < Date.parse(job.nextRunAt);
}

/** `upcoming` is the job's next slot after now (shared/ops/jobs.ts upcomingSlot). */
export function jobView(job: JobItem, upcoming: string | undefined, overdueMs?: number): Job {
  const decoded = decodeJob(job as unknown as Record<string, unknown>);
  const definition = decoded.ok ? decoded.job.definition : undefined;
  const last = job.lastOutcome;
  return {
    id: job.jobId,
    schedule: definition?.schedule ?? null,
    scheduleText: decoded.ok ? describeSchedule(decoded.job.schedule) : null,
    timezone: definition?.timezone ?? null,
    tags: { ...(definition?.tags ?? {}) },
    exclude: [...(definition?.exclude ?? [])],
    targetType: definition?.target.type ?? null,
    pool: definition?.pool ?? null,
    enabled: job.enabled === true,
    note: job.enabled === true ? null : (job.note ?? null),
    nextRunAt: job.nextRunAt ?? null,
    upcomingAt: upcoming ?? null,
    overdueMs: overdueMs ?? null,
    lastOutcome: last
      ? {
          runId: last.runId,
          status: last.status,
          reason: last.reason ?? null,
          scheduledAt: last.scheduledAt,
          at: last.at,
          startLagMs: last.startLagMs ?? null,
        }
      : null,
    consecutiveFailures: typeof job.consecutiveFailures === 'number' ? job.consecutiveFailures : 0,
    invalid: job.invalid?.error ?? (decoded.ok ? null : decoded.error),
    counts: { ...(job.counts ?? {}) } as Record<string, number>,
  };
}

function previousView(job: JobItem): JobDetail['state']['previous'] {
  const previous = previousRunOf(job.lastRun, job.jobId);
  if (!previous) return null;
  return {
    runId: previous.runId,
    scheduledAt: previous.scheduledAt,
    status: previous.status,
    reason: previous.reason ?? null,
    finishedAt: previous.finishedAt,
    ...(previous.output !== undefined ? { output: previous.output } : {}),
    ...(previous.outputBytes !== undefined ? { outputBytes: previous.outputBytes } : {}),
  };
}

export function jobDetailView(
  description: JobDescription,
  upcoming: string | undefined,
  overdueMs?: number,
): JobDetail {
  const { job } = description;
  return {
    ...jobView(job, upcoming, overdueMs),
    definition: description.definition ? serializeJob(description.definition) : null,
    state: {
      anchor: job.anchor ?? null,
      cursor: job.cursor ?? null,
      version: job.version,
      pausedAt: job.enabled ? null : (job.pausedAt ?? null),
      running: [...description.running].sort(),
      held: job.held ?? null,
      runsStarted: description.definition?.maxRuns !== undefined ? (job.runsStarted ?? 0) : null,
      previous: previousView(job),
      createdAt: job.createdAt ?? null,
      updatedAt: job.updatedAt ?? null,
    },
    lastRuns: description.lastRuns.map(runView),
    nextSlots: description.nextSlots,
    excludedSlots: { ...description.excludedSlots },
    counts: { ...description.counts } as Record<string, number>,
  };
}
