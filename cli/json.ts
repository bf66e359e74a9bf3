/**
 * The `--json` shapes: stable field names, independent of how items are laid out in the table (no pk/sk,
 * no lease). Times are ISO-8601 UTC; a field that does not apply is null, never absent. docs/cli.md
 * documents each shape; change them only by adding fields.
 */
import { type SerializedJob, serializeJob } from '../shared/jobs/index.js';
import type { JobDescription } from '../shared/ops/jobs.js';
import { describeSchedule } from '../shared/schedule/index.js';
import { decodeJob } from '../shared/store/decode.js';
import type { AttemptRecord, JobItem, RunItem } from '../shared/store/model.js';

export interface RunJson {
  runId: string;
  jobId: string;
  scheduledAt: string;
  status: string;
  reason: string | null;
  attempt: number;
  manual: boolean;
  backfill: boolean;
  replays: number;
  dispatchedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Start of the first attempt − slot. */
  startLagMs: number | null;
  /** How long the last attempt ran. */
  durationMs: number | null;
  /** The error of the last failed attempt (kept after a later success). */
  lastError: string | null;
  attempts: {
    attempt: number;
    status: string;
    startedAt: string;
    finishedAt: string | null;
    durationMs: number | null;
    error: string | null;
  }[];
}

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

export function runJson(run: RunItem): RunJson {
  return {
    runId: run.runId,
    jobId: run.jobId,
    scheduledAt: run.scheduledAt,
    status: run.status,
    reason: run.reason ?? null,
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
    })),
  };
}

export interface JobSummaryJson {
  id: string;
  /** The expression as written. */
  schedule: string | null;
  /** The schedule in plain words (`every 5 minutes`). */
  scheduleText: string | null;
  timezone: string | null;
  targetType: string | null;
  pool: string | null;
  enabled: boolean;
  /** Why the job is paused (operator note, failures, `declared disabled`); null when running. */
  note: string | null;
  nextRunAt: string | null;
  lastOutcome: {
    runId: string;
    status: string;
    reason: string | null;
    scheduledAt: string;
    at: string;
    startLagMs: number | null;
  } | null;
  consecutiveFailures: number;
  /** Why the stored item cannot be scheduled; null when it is valid. */
  invalid: string | null;
  counts: Record<string, number>;
}

export function jobSummaryJson(job: JobItem): JobSummaryJson {
  const decoded = decodeJob(job as unknown as Record<string, unknown>);
  const definition = decoded.ok ? decoded.job.definition : undefined;
  const last = job.lastOutcome;
  return {
    id: job.jobId,
    schedule: definition?.schedule ?? null,
    scheduleText: decoded.ok ? describeSchedule(decoded.job.schedule) : null,
    timezone: definition?.timezone ?? null,
    targetType: definition?.target.type ?? null,
    pool: definition?.pool ?? null,
    enabled: job.enabled === true,
    note: job.enabled === true ? null : (job.note ?? null),
    nextRunAt: job.nextRunAt ?? null,
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

export interface JobDetailJson extends JobSummaryJson {
  /** The definition as in a jobs file (durations as text): paste it into one. */
  definition: SerializedJob | null;
  state: {
    anchor: string | null;
    cursor: string | null;
    version: number;
    pausedAt: string | null;
    running: string[];
    held: string | null;
    createdAt: string | null;
    updatedAt: string | null;
  };
  lastRuns: RunJson[];
  nextSlots: string[];
}

export function jobDetailJson(description: JobDescription): JobDetailJson {
  const { job } = description;
  return {
    ...jobSummaryJson(job),
    definition: description.definition ? serializeJob(description.definition) : null,
    state: {
      anchor: job.anchor ?? null,
      cursor: job.cursor ?? null,
      version: job.version,
      pausedAt: job.enabled ? null : (job.pausedAt ?? null),
      running: [...(job.running ?? [])].sort(),
      held: job.held ?? null,
      createdAt: job.createdAt ?? null,
      updatedAt: job.updatedAt ?? null,
    },
    lastRuns: description.lastRuns.map(runJson),
    nextSlots: description.nextSlots,
    counts: { ...description.counts } as Record<string, number>,
  };
}
