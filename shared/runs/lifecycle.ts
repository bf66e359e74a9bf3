/**
 * How a run moves once it exists, shared by the executor (normal path) and the tick's sweep (recovery
 * path): send an attempt, schedule a retry, end it. Every step is a conditional write on the run record,
 * so the two paths can race without a run ending twice.
 */
import { randomBytes } from 'node:crypto';
import { jsonBytes } from '../jobs/limits.js';
import type { OverlapPolicy } from '../jobs/types.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import { delayFor, MAX_DELAY_SECONDS } from '../queue/dispatcher.js';
import type { RunMessage } from '../queue/messages.js';
import type { EventType, MetricName, Signals } from '../signals.js';
import {
  ATTEMPTS_KEPT,
  type AttemptRecord,
  ERROR_CHARS,
  iso,
  isScheduledRun,
  OPEN_STATUSES,
  PREVIOUS_OUTPUT_BYTES,
  type PreviousRun,
  type RunItem,
  type RunReason,
  type RunStatus,
} from '../store/model.js';
import { ASYNC_CLEARED } from '../store/runs.js';
import { type RunPatch, Store } from '../store/store.js';
import { deleteIfFinished } from './finish.js';

/** A further condition on a run's write, as `transitionRun` takes it. */
export interface WriteCondition {
  extraCondition: string;
  extraValues: Record<string, unknown>;
}

export interface Log {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/**
 * The message of the log line written for each successful run, with `jobId` beside it: the per-job gap
 * alarms of the CDK construct count these lines with a metric filter.
 */
export const RUN_SUCCEEDED_LOG = 'run succeeded';

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** Where each pool's messages go. */
export interface PoolRouting {
  queueUrl(pool: string): string | undefined;
  dlqUrl(pool: string): string | undefined;
}

export interface RunDeps {
  store: Store;
  dispatcher: Dispatcher;
  signals: Signals;
  pools: PoolRouting;
  log: Log;
  /**
   * Publish a `Run Succeeded` event for every successful run (EventBridge bills each: $1 a million).
   * Off by default: failures, misses, skips and cancellations are always published.
   */
  successEvents?: boolean;
}

const STATUS_METRIC: Partial<Record<RunStatus, MetricName>> = {
  succeeded: 'RunsSucceeded',
  failed: 'RunsFailed',
  missed: 'RunsMissed',
  skipped: 'RunsSkipped',
  cancelled: 'RunsCancelled',
};

const STATUS_EVENT: Partial<Record<RunStatus, EventType>> = {
  succeeded: 'Run Succeeded',
  failed: 'Run Failed',
  missed: 'Run Missed',
  skipped: 'Run Skipped',
  cancelled: 'Run Cancelled',
};

export function runEventDetail(run: RunItem): Record<string, unknown> {
  return {
    jobId: run.jobId,
    runId: run.runId,
    scheduledAt: run.scheduledAt,
    status: run.status,
    reason: run.reason,
    attempt: run.attempt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    lastError: run.lastError,
    pool: run.definition.pool,
  };
}

/**
 * Metric and event of a run that reached a terminal state (the tick counts its own missed records). The
 * success event only when asked for (`successEvents`): the metric counts successes either way.
 */
export function signalTerminal(signals: Signals, run: RunItem, successEvents = false): void {
  const metric = STATUS_METRIC[run.status];
  if (metric) signals.metric(metric, 1);
  const event = STATUS_EVENT[run.status];
  if (event && (run.status !== 'succeeded' || successEvents)) signals.event(event, runEventDetail(run));
}

/**
 * The message for one attempt of a run. `replay`: the replay (1, 2, …) it belongs to — the executor
 * reopens an ended run only for the replay after the run's last one, so a duplicate delivery of a replay
 * message never replays twice.
 */
export function messageFor(run: RunItem, attempt: number, replay?: number): RunMessage {
  return {
    v: 1,
    runId: run.runId,
    jobId: run.jobId,
    scheduledAt: run.scheduledAt,
    attempt,
    ...(replay ? { replay: true, replays: replay } : {}),
  };
}

/** Sends one attempt's message to the run's pool queue. Throws when the pool has no queue. */
export async function sendAttempt(
  deps: RunDeps,
  run: RunItem,
  attempt: number,
  delaySeconds: number,
  replay?: number,
) {
  const queueUrl = deps.pools.queueUrl(run.definition.pool);
  if (!queueUrl) throw new Error(`pool "${run.definition.pool}" has no queue`);
  const { failed } = await deps.dispatcher.send(queueUrl, [
    {
      body: messageFor(run, attempt, replay),
      delaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, delaySeconds)),
    },
  ]);
  if (failed.length) throw new Error(`send failed for ${run.runId}: ${failed[0]?.error}`);
}

/**
 * Whether a run holds its job exclusively from its first start to its end, retries included: scheduled
 * slots of a job with overlap `skip` or `queue` (operator runs — manual, backfill, replay — never do).
 */
export function occupiesJob(run: RunItem): boolean {
  return isScheduledRun(run) && run.definition.overlap !== 'allow';
}

/**
 * Whether the job's `running` set holds a run while it runs: with overlap skip/queue (what the policy
 * needs to know, operator runs included, so a scheduled slot is not started beside them). With allow
 * nothing needs it, and many concurrent runs (a backfill of an asynchronous job) would grow the job item
 * without bound.
 */
export function tracksRun(run: RunItem): boolean {
  return run.definition.overlap !== 'allow';
}

/**
 * The overlap policy a start follows: the one the run was claimed under, unless that was `allow` and the
 * job has been edited to `skip`/`queue`/`replace` since (`jobOverlap`, as the job item says now). Then the job's:
 * its promise holds from the edit on, for runs claimed before it too (and the edit counts the runs
 * already started under `allow` as running: RunRecords.adoptUntracked).
 */
export function overlapAtStart(run: RunItem, jobOverlap: unknown): OverlapPolicy {
  if (run.definition.overlap !== 'allow') return run.definition.overlap;
  return jobOverlap === 'skip' || jobOverlap === 'queue' || jobOverlap === 'replace' ? jobOverlap : 'allow';
}

/** Backoff before attempt n+1 (n ≥ 1): backoff × 2^(n−1), capped at an hour. */
export function retryDelayMs(backoffMs: number, attemptsMade: number): number {
  return Math.min(3_600_000, backoffMs * 2 ** Math.max(0, attemptsMade - 1));
}

/** Attempts left in the current budget (a replay starts a fresh budget). */
export function attemptsLeft(run: RunItem): number {
  return run.definition.retry.maxAttempts - (run.attempt - (run.attemptBase ?? 0));
}

/**
 * Ends a run in a terminal state if it is still in one of `from` (at `attempt`), then tells the job,
 * the metrics and the bus. Returns the ended run, or undefined when someone else moved it first.
 */
export async function endRun(
  deps: RunDeps,
  run: RunItem,
  status: RunStatus,
  reason: RunReason,
  now: number,
  options: {
    from?: readonly RunStatus[];
    error?: string;
    /** A success clears `lastError` (the attempts keep every error). */
    clearError?: boolean;
    attemptStatus?: 'succeeded' | 'failed' | 'lost';
    durationMs?: number;
    /** More fields to write with the end (a late outcome). */
    extra?: RunPatch;
    /** The worker's report that ends the attempt (asynchronous completion), kept on the attempt record. */
    report?: 'complete' | 'fail';
    /** One more condition on the write (the sweep: the heartbeat deadline it judged is still the one). */
    condition?: WriteCondition;
  } = {},
): Promise<RunItem | undefined> {
  const from = options.from ?? OPEN_STATUSES;
  const attempts = options.attemptStatus
    ? closeAttempt(run, options.attemptStatus, now, options.error, options.report)
    : undefined;
  const ended = await deps.store.transitionRun(
    run.runId,
    from,
    Store.terminal(status, reason, now, {
      ...(options.error !== undefined ? { lastError: clipError(options.error) } : {}),
      ...(options.clearError ? { lastError: undefined } : {}),
      ...(attempts ? { attempts } : {}),
      ...options.extra,
    }),
    { attempt: run.attempt, now, ...options.condition },
  );
  if (!ended) return undefined;
  signalTerminal(deps.signals, ended, deps.successEvents);
  const startLagMs = ended.startedAt
    ? Date.parse(ended.startedAt) - Date.parse(ended.scheduledAt)
    : undefined;
  const outcome = await deps.store.recordOutcome(
    ended.jobId,
    {
      runId: ended.runId,
      key: `${ended.runId}#${ended.attempt}`,
      status,
      reason,
      scheduledAt: ended.scheduledAt,
      at: iso(now),
      ...(startLagMs !== undefined ? { startLagMs } : {}),
    },
    {
      failed: status === 'failed',
      terminal: true,
      pauseAfterFailures: ended.definition.pauseAfterFailures,
      now,
      ...lastRunOf(ended, now),
      ...(ended.incarnation ? { incarnation: ended.incarnation } : {}),
    },
  );
  if (outcome?.paused) {
    deps.signals.event('Job Paused', {
      jobId: ended.jobId,
      reason: `${outcome.consecutiveFailures} failed runs in a row`,
      runId: ended.runId,
    });
    deps.log.warn('job paused after failed runs', {
      jobId: ended.jobId,
      consecutiveFailures: outcome.consecutiveFailures,
    });
  }
  if (status === 'failed') await sendToDlq(deps, ended, now);
  if (outcome?.held && outcome.held !== ended.runId) await releaseHeldRun(deps, ended.jobId, outcome.held);
  if (outcome?.scheduleEnded) await deleteIfFinished(deps, ended.jobId, now);
  return ended;
}

/**
 * What the job keeps of a run for the next one (`previous` in its run context): only a scheduled run that
 * started (a slot recorded missed, skipped or cancelled never ran; a manual run, backfill or replay is
 * not the schedule's), with its output when it fits PREVIOUS_OUTPUT_BYTES.
 */
function lastRunOf(ended: RunItem, now: number): { lastRun?: PreviousRun } {
  if (!isScheduledRun(ended) || !ended.startedAt) return {};
  const bytes = ended.output === undefined ? 0 : jsonBytes(ended.output);
  return {
    lastRun: {
      runId: ended.runId,
      scheduledAt: ended.scheduledAt,
      status: ended.status,
      ...(ended.reason ? { reason: ended.reason } : {}),
      finishedAt: ended.finishedAt ?? iso(now),
      ...(ended.output === undefined
        ? {}
        : bytes <= PREVIOUS_OUTPUT_BYTES
          ? { output: ended.output }
          : { outputBytes: bytes }),
    },
  };
}

/** An error as a run record keeps it: at most ERROR_CHARS characters. */
export function clipError(error: string): string {
  return error.length > ERROR_CHARS ? `${error.slice(0, ERROR_CHARS - 1)}…` : error;
}

/**
 * The attempt history with one more attempt, bounded: the first attempt and the last ATTEMPTS_KEPT − 1
 * are kept, the ones in between are counted in `attemptsDropped`. With the definition's own limit this is
 * what keeps a run record far below DynamoDB's 400 KB item limit however often it is retried or replayed.
 */
export function appendAttempt(
  run: Pick<RunItem, 'attempts' | 'attemptsDropped'>,
  record: AttemptRecord,
): Pick<RunItem, 'attempts' | 'attemptsDropped'> {
  const attempts = [...(run.attempts ?? []), record];
  let dropped = run.attemptsDropped ?? 0;
  while (attempts.length > ATTEMPTS_KEPT) {
    attempts.splice(1, 1);
    dropped += 1;
  }
  return { attempts, ...(dropped ? { attemptsDropped: dropped } : {}) };
}

/** Marks the open attempt of a run with its outcome; returns the new attempts list. */
export function closeAttempt(
  run: RunItem,
  status: 'succeeded' | 'failed' | 'lost',
  now: number,
  error?: string,
  report?: 'complete' | 'fail',
) {
  const attempts = [...(run.attempts ?? [])];
  const last = attempts[attempts.length - 1];
  if (last && last.status === 'running' && last.attempt === run.attempt) {
    attempts[attempts.length - 1] = {
      ...last,
      status,
      finishedAt: iso(now),
      durationMs: now - Date.parse(last.startedAt),
      ...(error !== undefined ? { error: clipError(error) } : {}),
      ...(report ? { report } : {}),
    };
  }
  return attempts;
}

/**
 * A failed run's message goes to its pool's DLQ, readable (run id, job, last error, attempts) and
 * redrivable: the body is a replay message, so moving it back to the queue runs the run once more.
 */
export async function sendToDlq(deps: RunDeps, run: RunItem, now: number): Promise<void> {
  const dlqUrl = deps.pools.dlqUrl(run.definition.pool);
  if (!dlqUrl) {
    deps.log.error('no DLQ for pool; failed run not copied there', {
      runId: run.runId,
      pool: run.definition.pool,
    });
    return;
  }
  // The token a redrive of this body shows the executor (RunItem.redriveToken): recorded on the failed
  // run first, so a replay message without it, forged on the pool queue, cannot reopen the run. When the
  // write fails the entry goes without a token; its run is then replayed with `runs replay`.
  const token = randomBytes(16).toString('base64url');
  let marked = false;
  try {
    marked = Boolean(
      await deps.store.transitionRun(
        run.runId,
        ['failed'],
        { redriveToken: token },
        { attempt: run.attempt, now },
      ),
    );
  } catch (error) {
    deps.log.error('could not record the redrive token of a failed run', {
      runId: run.runId,
      error: String(error),
    });
  }
  const body: RunMessage = {
    // A redrive of this body is the run's next replay.
    ...messageFor(run, run.attempt + 1, (run.replays ?? 0) + 1),
    ...(marked ? { redrive: token } : {}),
    failedAt: iso(now),
    lastError: (run.lastError ?? '').slice(0, 4000),
    attempts: run.attempt,
    poolName: run.definition.pool,
  };
  try {
    await deps.dispatcher.sendRaw(dlqUrl, JSON.stringify(body));
  } catch (error) {
    deps.log.error('could not copy failed run to DLQ', { runId: run.runId, error: String(error) });
  }
}

/** Sends the held run (overlap `queue`) now that the run before it has ended. */
export async function releaseHeldRun(deps: RunDeps, jobId: string, heldRunId: string): Promise<void> {
  if (!(await deps.store.releaseHeld(jobId, heldRunId))) return;
  const held = await deps.store.getRun(heldRunId);
  // `dispatched`: held, but not yet marked queued (its executor is between the two writes); sending now
  // is safe, a second start of the same attempt is refused.
  if (held?.status !== 'queued' && held?.status !== 'dispatched') return;
  try {
    await sendAttempt(deps, held, held.attempt + 1, 0);
  } catch (error) {
    // The sweep finds it at its deadline (openUntil) if this send is lost.
    deps.log.warn('could not release held run', { runId: heldRunId, error: String(error) });
  }
}

/**
 * After a failed attempt with attempts left: the run waits in `retrying` and a new message is sent with
 * the backoff as its delay (up to SQS's 15 minutes; a longer backoff is re-sent by the sweep when due).
 * A new message, not a visibility change, so retries never count towards the queue's maxReceiveCount.
 */
export async function scheduleRetry(
  deps: RunDeps,
  run: RunItem,
  now: number,
  options: {
    error: string;
    attemptStatus: 'failed' | 'lost';
    from: readonly RunStatus[];
    graceMs: number;
    report?: 'complete' | 'fail';
    condition?: WriteCondition;
  },
): Promise<RunItem | undefined> {
  const waitMs = retryDelayMs(run.definition.retry.backoff, run.attempt - (run.attemptBase ?? 0));
  const nextAttemptAt = now + waitMs;
  const updated = await deps.store.transitionRun(
    run.runId,
    options.from,
    {
      status: 'retrying',
      lastError: clipError(options.error),
      attempts: closeAttempt(run, options.attemptStatus, now, options.error, options.report),
      nextAttemptAt: iso(nextAttemptAt),
      leaseUntil: undefined,
      ...ASYNC_CLEARED,
      openShard: deps.store.openShard(run.jobId),
      // A backoff beyond SQS's 15-minute delay is sent by the sweep, 15 minutes before it is due.
      openUntil: iso(
        waitMs > MAX_DELAY_SECONDS * 1000
          ? nextAttemptAt - MAX_DELAY_SECONDS * 1000
          : nextAttemptAt + options.graceMs,
      ),
    },
    { attempt: run.attempt, now, ...options.condition },
  );
  if (!updated) return undefined;
  // A run that holds its job exclusively (overlap skip/queue) keeps holding it while it waits for its
  // retry: the next slot is skipped or queued, not started beside the retry. Any other run leaves the
  // job's `running` set until its retry starts (an untracked one, overlap allow, was never in it).
  if (!occupiesJob(run) && tracksRun(run)) {
    await deps.store.recordOutcome(
      run.jobId,
      { runId: run.runId, status: 'retrying', scheduledAt: run.scheduledAt, at: iso(now) },
      {
        failed: false,
        terminal: false,
        pauseAfterFailures: 0,
        now,
        ...(run.incarnation ? { incarnation: run.incarnation } : {}),
      },
    );
  }
  if (waitMs <= MAX_DELAY_SECONDS * 1000) {
    try {
      await sendAttempt(deps, updated, updated.attempt + 1, delayFor(nextAttemptAt, now));
    } catch (error) {
      deps.log.warn('retry message not sent; the sweep re-sends it', {
        runId: run.runId,
        error: String(error),
      });
    }
  }
  return updated;
}
