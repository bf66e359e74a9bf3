/**
 * Operations on runs (SPEC §4): show, list, replay, backfill.
 */
import { excludedBy } from '../calendars/calendar.js';
import { JobNotFoundError, PunctualError, RunNotFoundError } from '../errors.js';
import {
  type CompletionReport,
  type ReportResult,
  refusalError,
  reportCompletion,
} from '../runs/completion.js';
import { reopenForReplay } from '../runs/execute.js';
import { sendAttempt, signalTerminal } from '../runs/lifecycle.js';
import { type Schedule, type SingleSchedule, slotsBetween } from '../schedule/index.js';
import { decodeJob } from '../store/decode.js';
import { iso, parseRunId, type RunItem, type RunStatus, runDefinition, runIdFor } from '../store/model.js';
import type { Store } from '../store/store.js';
import { calendarSource } from '../tick/calendars.js';
import { mapLimit } from '../util.js';
import { listJobs, type OpsDeps } from './jobs.js';

const TYPED_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/;

/**
 * A run id as an operator types it, in the form the table keys it: the slot's seconds and milliseconds
 * may be left out (`nightly@2026-12-01T02:00Z` is `nightly@2026-12-01T02:00:00.000Z`). Throws naming
 * the form when it is not a run id.
 */
export function canonicalRunId(runId: string): string {
  if (parseRunId(runId)) return runId;
  const at = runId.lastIndexOf('@');
  const manual = runId.slice(at + 1).startsWith('manual-');
  const slot = runId.slice(at + 1 + (manual ? 'manual-'.length : 0));
  if (at > 0 && TYPED_UTC.test(slot) && !Number.isNaN(Date.parse(slot))) {
    const canonical = `${runId.slice(0, at)}@${manual ? 'manual-' : ''}${new Date(slot).toISOString()}`;
    if (parseRunId(canonical)) return canonical;
  }
  throw notARunId(runId, ' (the slot in UTC; seconds and milliseconds may be left out)');
}

function notARunId(runId: string, hint = ''): PunctualError {
  return new PunctualError(
    `"${runId}" is not a run id: run ids look like nightly-report@2026-12-01T02:00:00.000Z${hint}`,
  );
}

export async function showRun(store: Store, runId: string): Promise<RunItem> {
  const run = await store.getRun(canonicalRunId(runId));
  if (!run) throw new RunNotFoundError(runId);
  return run;
}

export interface RunFilter {
  jobId?: string;
  status?: RunStatus;
  /** ISO time: runs scheduled at or after it. */
  since?: string;
  /** ISO time: runs scheduled before it. */
  until?: string;
  limit?: number;
  /**
   * `happened`: runs that started or ended, newest first; `upcoming`: slots claimed and sent that have not
   * started (dispatched, queued), soonest first; absent: both, newest first. A `status` decides alone.
   */
  phase?: RunPhase;
}

export type RunPhase = 'happened' | 'upcoming';

const UPCOMING: readonly RunStatus[] = ['dispatched', 'queued'];

function inPhase(run: RunItem, filter: RunFilter): boolean {
  if (filter.status) return run.status === filter.status;
  if (filter.phase === 'upcoming') return UPCOMING.includes(run.status);
  if (filter.phase === 'happened') return !UPCOMING.includes(run.status);
  return true;
}

/** Runs newest first, across jobs when no job is named (one query per job: jobs are few). */
export async function listRuns(store: Store, filter: RunFilter): Promise<RunItem[]> {
  const limit = filter.limit ?? 50;
  const jobIds = filter.jobId ? [filter.jobId] : (await listJobs(store)).map((job) => job.jobId);
  if (filter.jobId && !(await store.getJobRaw(filter.jobId))) {
    // Runs outlive a deleted job until their TTL: still list them, but say so if there are none.
    const { items } = await store.queryRuns(filter.jobId, { limit: 1 });
    if (!items.length) throw new JobNotFoundError(filter.jobId);
  }
  const perJob = await mapLimit(jobIds, 8, async (jobId) => {
    const out: RunItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await store.queryRuns(jobId, {
        limit: 100,
        newestFirst: true,
        ...(filter.since ? { since: filter.since } : {}),
        ...(filter.until ? { until: filter.until } : {}),
        ...(start ? { start } : {}),
      });
      for (const run of page.items) if (inPhase(run, filter)) out.push(run);
      start = page.next;
    } while (start && out.length < limit);
    return out;
  });
  return perJob
    .flat()
    .sort((a, b) => b.scheduledAt.localeCompare(a.scheduledAt))
    .slice(0, limit)
    .sort((a, b) =>
      !filter.status && filter.phase === 'upcoming'
        ? a.scheduledAt.localeCompare(b.scheduledAt)
        : b.scheduledAt.localeCompare(a.scheduledAt),
    );
}

export interface RunsPage {
  runs: RunItem[];
  /** Where the next page starts (the query's LastEvaluatedKey); undefined after the last page. */
  next?: Record<string, unknown>;
}

/**
 * One page of a job's runs whose slot is in [from, to), oldest first: the query behind a window of a job
 * (the console's timeline and charts). A page holds at most `limit` runs (at most 1000).
 */
export async function runsInWindow(
  store: Store,
  jobId: string,
  window: { from: string; to: string },
  options: { limit?: number; start?: Record<string, unknown> } = {},
): Promise<RunsPage> {
  if (!(Date.parse(window.from) < Date.parse(window.to)))
    throw new PunctualError(`from ${window.from} must be before to ${window.to}`);
  const limit = options.limit ?? 1000;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new PunctualError(`limit ${limit}: must be a whole number from 1 to 1000`);
  const page = await store.queryRuns(jobId, {
    limit,
    newestFirst: false,
    since: window.from,
    until: window.to,
    summary: true,
    ...(options.start ? { start: options.start } : {}),
  });
  return { runs: page.items, ...(page.next ? { next: page.next } : {}) };
}

const REPLAYABLE: readonly RunStatus[] = ['missed', 'skipped', 'failed', 'cancelled'];

/** Replays an ended run under its own id; the record keeps the history of its attempts. */
export async function replayRun(deps: OpsDeps, runId: string, now: number): Promise<RunItem> {
  const run = await showRun(deps.store, runId);
  if (!REPLAYABLE.includes(run.status)) {
    throw new PunctualError(
      `run ${runId} is ${run.status}; only ${REPLAYABLE.join(', ')} runs can be replayed`,
    );
  }
  const reopened = await reopenForReplay(deps, run, now, 60_000);
  if (!reopened)
    throw new PunctualError(
      `run ${runId} changed while it was being replayed; look again with \`punctual runs show\``,
    );
  await sendAttempt(deps, reopened, reopened.attempt + 1, 0, reopened.replays);
  return reopened;
}

export interface BackfillResult {
  slots: number;
  created: number;
  existing: number;
  /**
   * Slots the job's exclusion calendars exclude, recorded skipped(calendar) (naming it) instead of run, as the
   * tick records them; `ignoreCalendars` runs them instead. A slot that had a record is counted in `existing`.
   */
  excluded: number;
}

/** Most slots one backfill may create unless the caller raises it. */
export const DEFAULT_BACKFILL_LIMIT = 1000;

/**
 * Runs every slot of a past window [from, to) as an ordinary run (`jobId@slot`). Idempotent: a slot that already
 * has a record keeps it. Bounded: a window with more than `limit` slots is refused before anything is written.
 * A backfill honours the job's exclusion calendars (as they are now): an excluded slot is recorded
 * skipped(calendar) naming the calendar, never run (counted in `excluded`); with `ignoreCalendars` it runs.
 * Such a record, like any, is kept by a later backfill: replay it (`runs replay`) to run it after all.
 */
export async function backfill(
  deps: OpsDeps,
  jobId: string,
  window: { from: number; to: number },
  now: number,
  options: {
    limit?: number;
    /** Run the slots the job's calendars exclude too. */
    ignoreCalendars?: boolean;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<BackfillResult> {
  if (!(window.from < window.to))
    throw new PunctualError(`--from ${iso(window.from)} must be before --to ${iso(window.to)}`);
  if (window.to > now)
    throw new PunctualError(`--to ${iso(window.to)} is in the future; backfill covers past slots only`);
  const raw = await deps.store.getJobRaw(jobId);
  if (!raw) throw new JobNotFoundError(jobId);
  const decoded = decodeJob(raw);
  if (!decoded.ok) throw new PunctualError(`job "${jobId}" is invalid (${decoded.error})`);
  const limit = options.limit ?? DEFAULT_BACKFILL_LIMIT;
  const schedule = gridBefore(decoded.job.schedule, window.from);
  // The window is half-open, [from, to): a slot exactly at `to` belongs to the next window.
  const slots = slotsBetween(schedule, window.from - 1, window.to - 1, limit + 1);
  if (slots.length > limit) {
    throw new PunctualError(
      `the window holds more than ${limit} slots of "${jobId}"; narrow it or raise --limit`,
    );
  }
  const result: BackfillResult = { slots: slots.length, created: 0, existing: 0, excluded: 0 };
  const exclude = options.ignoreCalendars ? [] : (decoded.job.definition.exclude ?? []);
  const calendars = exclude.length ? await calendarSource(deps.store)() : new Map();
  const missing = exclude.find((name) => !calendars.has(name));
  if (missing !== undefined)
    throw new PunctualError(
      `job "${jobId}" excludes calendar "${missing}", which does not exist: put it back, or backfill with --ignore-calendars`,
    );
  let done = 0;
  await mapLimit(slots, 8, async (slot) => {
    const calendar = exclude.length ? excludedBy(exclude, calendars, slot) : undefined;
    if (calendar !== undefined) {
      const skipped = deps.store.newRun(
        {
          runId: runIdFor(jobId, slot),
          jobId,
          scheduledAt: iso(slot),
          backfill: true,
          status: 'skipped',
          reason: 'calendar',
          calendar,
          ...runDefinition(decoded.job.item, decoded.job.definition),
          jobVersion: decoded.job.item.version,
          finishedAt: iso(now),
        },
        now,
      );
      if (await deps.store.createRun(skipped)) {
        result.excluded += 1;
        signalTerminal(deps.signals, skipped);
      } else result.existing += 1;
      done += 1;
      options.onProgress?.(done, slots.length);
      return;
    }
    const run = deps.store.newRun(
      {
        runId: runIdFor(jobId, slot),
        jobId,
        scheduledAt: iso(slot),
        backfill: true,
        status: 'dispatched',
        ...runDefinition(decoded.job.item, decoded.job.definition),
        jobVersion: decoded.job.item.version,
        dispatchedAt: iso(now),
        openShard: deps.store.openShard(jobId),
        openUntil: iso(now + 60_000),
      },
      now,
    );
    if (await deps.store.createRun(run)) {
      await sendAttempt(deps, run, 1, 0);
      result.created += 1;
    } else result.existing += 1;
    done += 1;
    options.onProgress?.(done, slots.length);
  });
  return result;
}

/**
 * A worker's report about the run it was handed (`heartbeat`, `complete`, `fail`), applied at once.
 * Throws `RunNotFoundError` for a run that does not exist and `CompletionRefusedError` for a refusal.
 */
export async function reportRun(
  deps: OpsDeps,
  report: CompletionReport & { token: string },
  now: number,
): Promise<Extract<ReportResult, { ok: true }>> {
  // A worker reports the exact id it was handed: no operator shorthand here.
  if (!parseRunId(report.runId)) throw notARunId(report.runId);
  const result = await reportCompletion(deps, report, now);
  if (result.ok) return result;
  if (result.refused === 'unknown-run') throw new RunNotFoundError(report.runId);
  throw refusalError(report.runId, result);
}

/**
 * A rate job's cadence extends before its creation: backfill the same grid, anchor − k × period (each rate
 * of a list of schedules likewise).
 */
function gridBefore(schedule: Schedule, from: number): Schedule {
  if (schedule.startAt !== undefined) return schedule;
  if (schedule.kind === 'union') {
    return { ...schedule, parts: schedule.parts.map((part) => gridBefore(part, from) as SingleSchedule) };
  }
  if (schedule.kind !== 'rate' || from >= schedule.anchor) return schedule;
  const periods = Math.ceil((schedule.anchor - from) / schedule.periodMs);
  return { ...schedule, anchor: schedule.anchor - periods * schedule.periodMs };
}
