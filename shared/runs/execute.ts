/**
 * The executor's work for one SQS message: start the run at most once, run its target under a deadline,
 * record the outcome. Returns what happened; throws only on infrastructure errors (DynamoDB, SQS), which
 * the handler reports as a batch item failure so SQS delivers the message again.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { formatViolation, JobValidationError } from '../errors.js';
import { parseJob } from '../jobs/index.js';
import { isAsyncTarget } from '../jobs/schema.js';
import type { JobDefinition, OverlapPolicy, Target } from '../jobs/types.js';
import { sameJson } from '../json.js';
import { delayFor, MAX_DELAY_SECONDS } from '../queue/dispatcher.js';
import { MESSAGE_FORMAT, newerMessageFormat, parseRunMessage } from '../queue/messages.js';
import {
  assertReadable,
  FormatTooNewError,
  isIsoTime,
  iso,
  isScheduledRun,
  isTerminal,
  LATE_OUTCOMES_KEPT,
  type PreviousRun,
  previousRunOf,
  type RunItem,
  type RunReason,
  type RunStatus,
  sameIncarnation,
  withoutPayload,
} from '../store/model.js';
import type { RawItem } from '../store/store.js';
import type { RunContext, TargetResult } from '../targets/types.js';
import { errorMessage, jitterMs } from '../util.js';
import {
  asyncAttemptFields,
  type CheckExternal,
  endReplaced,
  handedOff,
  isAwaitingReport,
  newCompletionToken,
  stopReplaced,
} from './completion.js';
import {
  appendAttempt,
  attemptsLeft,
  clipError,
  endRun,
  overlapAtStart,
  RUN_SUCCEEDED_LOG,
  type RunDeps,
  scheduleRetry,
  sendAttempt,
} from './lifecycle.js';

export type ExecuteOutcome =
  | 'poisoned'
  | 'unknown-run'
  | 'duplicate'
  | 'succeeded'
  | 'failed'
  | 'retrying'
  | 'skipped'
  | 'queued'
  | 'missed'
  | 'cancelled'
  | 'recovered'
  | 'early'
  /** The attempt ended after the sweep had taken it over: its outcome is kept on the run record. */
  | 'late'
  /** An asynchronous target took the run: it stays `running` until the worker reports its end. */
  | 'handed-off'
  /** Overlap replace: the run held on the job while the run it replaces is stopped; it starts after. */
  | 'replacing';

export type InvokeTarget = (
  target: Target,
  context: RunContext,
  signal: AbortSignal,
) => Promise<TargetResult>;

export interface ExecuteDeps extends RunDeps {
  invoke: InvokeTarget;
  clock: () => number;
  /** Waits; tests that drive a manual clock pass one that moves it. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Target types this executor must not call: the run ends `skipped` with this reason, its target
   * untouched (the local runtime without `--aws-targets`: a laptop's shell credentials are nobody's target).
   */
  refuseTarget?: (target: Target) => RunReason | undefined;
  /** Stops the stepfunctions execution or ecs task of a run a later slot replaces (overlap replace). */
  checkExternal?: CheckExternal;
}

/** Most a message may arrive before its slot: DelaySeconds rounds down by under a second. */
const MAX_EARLY_MS = 1_500;

export interface ExecuteOptions {
  /** The pool this executor serves (its DLQ takes unreadable messages). */
  pool: string;
  /** Time left before the function is stopped, ms (Lambda's getRemainingTimeInMillis). */
  remainingMs: () => number;
  /** Kept free between the target's deadline and the function's own timeout, to record the outcome. */
  safetyMarginMs?: number;
  /** How late a retry message may be before the sweep re-sends it. */
  graceMs?: number;
}

const DEFAULT_SAFETY_MARGIN_MS = 5_000;

/**
 * How long a running attempt's lease outlasts its target's deadline. The sweep takes an attempt over
 * (retry, or failed(lost)) only once its lease has passed by the sweep's own clock, so this margin covers
 * what lies between the target's deadline and the outcome's write — the store's latency with the SDK's
 * retries (the deadline is counted from after the start's write) — and clock skew between the executor
 * and the tick (Lambda hosts keep NTP time, within milliseconds; 30 s is three orders of magnitude of
 * room). An outcome that still arrives after a take-over is recorded on the run (`lateOutcomes`).
 */
export const LEASE_MARGIN_MS = 30_000;

/**
 * The runs a replay message may reopen here: failed ones, whose DLQ entries a redrive moves back. A
 * missed, skipped or cancelled run has no DLQ entry; its replay (`replayRun`) reopens the record before it
 * sends, so a replay message finding one still ended is no redrive but a forged message (whoever may
 * send to a pool queue, a grantManageJobs grantee of another application included): it changes nothing.
 */
const REDRIVABLE: readonly RunStatus[] = ['failed'];

/** Whether a scheduled slot's time came while the job was paused (the pause recorded on resume). */
function inLastPause(job: RawItem, run: RunItem): boolean {
  const pause = job.lastPause as { from?: unknown; to?: unknown } | undefined;
  if (!pause || !isIsoTime(pause.from) || !isIsoTime(pause.to)) return false;
  const slot = Date.parse(run.scheduledAt);
  return slot >= Date.parse(pause.from) && slot < Date.parse(pause.to);
}

export { RUN_SUCCEEDED_LOG } from './lifecycle.js';

const DEFAULT_GRACE_MS = 60_000;

export async function executeMessage(
  deps: ExecuteDeps,
  body: string,
  options: ExecuteOptions,
): Promise<ExecuteOutcome> {
  const newer = newerMessageFormat(body);
  if (newer !== undefined) throw new FormatTooNewError('run message', newer, MESSAGE_FORMAT);
  const parsed = parseRunMessage(body);
  if (!parsed.ok) {
    await quarantine(deps, body, parsed.error, options.pool);
    return 'poisoned';
  }
  const message = parsed.message;
  let run = await deps.store.getRun(message.runId);
  if (!run) {
    deps.log.warn('message names a run that does not exist; dropped', { runId: message.runId });
    return 'unknown-run';
  }
  assertReadable(`run record ${run.runId}`, run);
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  let now = deps.clock();

  if (message.replay) {
    const replays = run.replays ?? 0;
    if (REDRIVABLE.includes(run.status)) {
      // A redrive (or a lost CLI send) is the replay after the run's last one; a message for a replay
      // that has already run is a duplicate delivery and must not run the target again.
      if (message.replays !== undefined && message.replays !== replays + 1) return 'duplicate';
      // Only the run's DLQ entry carries its token: a replay message forged on the pool queue (whoever
      // may send there: any grantManageJobs grantee) reopens nothing.
      if (!run.redriveToken || message.redrive !== run.redriveToken) {
        deps.log.warn(
          'replay message without the failed run’s redrive token; ignored (replay the run with `punctual runs replay`)',
          { runId: run.runId },
        );
        return 'duplicate';
      }
      const reopened = await reopenForReplay(deps, run, now, graceMs);
      if (!reopened) return 'duplicate';
      run = reopened;
    } else if (message.replays !== undefined && message.replays !== replays) {
      return 'duplicate';
    }
  }
  if (isTerminal(run.status)) {
    // Idempotent repair: if the write that told the job this run ended was lost, the run id would stay in
    // the job's `running` set and block every later slot (overlap skip/queue).
    await deps.store.forgetRunning(run.jobId, [run.runId]);
    return 'duplicate';
  }
  if (run.status === 'running') {
    // An asynchronous attempt may have been handed off before its executor stopped: the sweep judges it
    // by its heartbeats and maxRunDuration (sweep.ts), never by the lease.
    if (
      run.leaseUntil &&
      Date.parse(run.leaseUntil) < now &&
      message.attempt === run.attempt &&
      !run.runDeadline
    ) {
      // The executor that started this attempt stopped without recording it (crash, timeout).
      await recoverExpired(deps, run, now, graceMs);
      return 'recovered';
    }
    return 'duplicate';
  }
  if (message.attempt !== run.attempt + 1) return 'duplicate';

  const definition = run.definition;
  // A message can arrive up to a second early (DelaySeconds is whole seconds, rounded down): wait for the
  // slot (plus its jitter), so no run starts before its time.
  const startAt = Date.parse(run.scheduledAt) + jitterMs(run.runId, definition.jitter);
  if (startAt - now > MAX_EARLY_MS) {
    // Far too early (a re-send whose delay was capped at SQS's 15 minutes): send it again for later.
    await sendAttempt(deps, run, message.attempt, delayFor(startAt, now), message.replays);
    return 'early';
  }
  // A timer can fire a millisecond early: wait until the clock says so.
  for (let i = 0; i < 5 && startAt - now > 0; i++) {
    await (deps.sleep ?? sleep)(startAt - now);
    now = deps.clock();
  }
  const job = await deps.store.getJobRaw(run.jobId);
  assertReadable(`job item "${run.jobId}"`, job);
  // A run of a job deleted since (and perhaps created again under its id: another incarnation).
  if (!job || !sameIncarnation(run, job))
    return (await endRun(deps, run, 'cancelled', 'job-deleted', now)) ? 'cancelled' : 'duplicate';
  // A paused job starts nothing of its schedule; a slot whose time came while it was paused stays
  // cancelled after a resume too (the slots after the resume run).
  if (isScheduledRun(run) && (job.enabled === false || inLastPause(job, run))) {
    return (await endRun(deps, run, 'cancelled', 'job-paused', now)) ? 'cancelled' : 'duplicate';
  }
  const firstAttempt = run.attempt === (run.attemptBase ?? 0);
  if (
    firstAttempt &&
    isScheduledRun(run) &&
    now - Date.parse(run.scheduledAt) > definition.startingDeadline
  ) {
    return (await endRun(deps, run, 'missed', 'deadline', now)) ? 'missed' : 'duplicate';
  }

  // A run record is data anyone with write access to the job's items can forge: its definition copy
  // must be one validation accepts, and the definition item it names (content-addressed) must say the
  // same, so that a forged record can raise neither its retry budget nor change its target.
  const forged = await forgedDefinition(deps, run);
  if (forged) {
    deps.log.error('run record refused: its definition is not one the job was given', {
      runId: run.runId,
      forged,
    });
    return (await endRun(deps, run, 'failed', 'error', now, {
      error: `not started: the run record's definition ${forged}`,
    }))
      ? 'failed'
      : 'duplicate';
  }

  const refused = deps.refuseTarget?.(definition.target);
  if (refused) {
    return (await endRun(deps, run, 'skipped', refused, now)) ? 'skipped' : 'duplicate';
  }

  const budget = Math.max(
    1_000,
    options.remainingMs() - (options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS),
  );
  const deadlineMs = Math.min(definition.target.timeout, budget);
  const leaseUntil = now + deadlineMs + LEASE_MARGIN_MS;
  // Read before the start: a store error here is an infrastructure error (the message comes again), not
  // a failed attempt.
  const payload = await payloadOf(deps, run);
  // Asynchronous completion: the attempt gets its own token; its hash and the attempt's bounds go on the
  // run with the start, before the hand-off, so a worker that reports at once finds them.
  const completionToken = isAsyncTarget(definition.target) ? newCompletionToken() : undefined;
  const asyncFields = completionToken ? asyncAttemptFields(definition, completionToken, now) : undefined;
  const attemptRecord = {
    attempt: message.attempt,
    startedAt: iso(now),
    status: 'running' as const,
    ...(asyncFields ? { tokenHash: asyncFields.completionTokenHash } : {}),
  };
  const history = appendAttempt(run, attemptRecord);
  // The policy as the job item says it now (an edit from allow to skip/queue holds for runs claimed
  // before it too): skip/queue track the run in the job's `running` set, and a scheduled run holds the
  // job alone from its first start to its end, retries included.
  let overlap = overlapAtStart(run, (job.definition as { overlap?: unknown } | undefined)?.overlap);
  let exclusive = false;
  let started: Awaited<ReturnType<typeof deps.store.startRun>> = { ok: false, refused: 'job' };
  let healed = false;
  for (let tries = 0; tries < 4; tries++) {
    exclusive = isScheduledRun(run) && overlap !== 'allow';
    started = await deps.store.startRun(run, ['dispatched', 'retrying', 'queued'], {
      ...(firstAttempt && isScheduledRun(run) && definition.maxRuns !== undefined
        ? { countStart: definition.maxRuns }
        : {}),
      exclusive,
      track: overlap !== 'allow',
      requireEnabled: isScheduledRun(run),
      leaseUntil,
      now,
      attempt: message.attempt,
      history,
      ...(asyncFields ? { extra: asyncFields } : {}),
    });
    if (started.ok) break;
    // The job was edited from allow to skip/queue since we read it: start by its policy now.
    if (started.refused === 'policy') overlap = overlapAtStart(run, started.overlap);
    // That edit's runs in flight are not counted yet (its put stopped before it counted them): count them.
    else if (started.refused === 'untracked') {
      if ((await deps.store.adoptUntracked(run.jobId)).state === 'busy') {
        started = { ok: false, refused: 'job' };
        break;
      }
    } else if (started.refused !== 'job' || healed || !(await healRunning(deps, run))) break;
    else healed = true;
  }
  if (!started.ok) {
    if (started.refused === 'run') return 'duplicate';
    if (started.refused === 'no-job')
      return (await endRun(deps, run, 'cancelled', 'job-deleted', now)) ? 'cancelled' : 'duplicate';
    if (started.refused === 'paused')
      return (await endRun(deps, run, 'cancelled', 'job-paused', now)) ? 'cancelled' : 'duplicate';
    if (started.refused === 'max-runs')
      return (await endRun(deps, run, 'skipped', 'max-runs', now)) ? 'skipped' : 'duplicate';
    // A retry waits while another run holds the job (only an operator run can: scheduled slots are
    // skipped or queued while this run holds it), and so does an operator run that found the job's
    // `running` set full (RUNNING_MAX); a scheduled first attempt follows the overlap policy.
    if (!firstAttempt || !exclusive) return waitForJob(deps, run, message.attempt, now, graceMs);
    return handleOverlap(deps, run, overlap, now);
  }

  const startedAt = now;
  const running: RunItem = {
    ...run,
    status: 'running',
    attempt: message.attempt,
    startedAt: run.startedAt ?? iso(startedAt),
    leaseUntil: iso(leaseUntil),
    ...history,
    ...asyncFields,
  };
  if (firstAttempt) deps.signals.metric('StartLag', startedAt - Date.parse(run.scheduledAt), 'Milliseconds');
  deps.log.debug('run started', { jobId: run.jobId, runId: run.runId, attempt: message.attempt });

  // The target's deadline counts from now, after the start's write: the lease then outlasts it by the
  // full margin whatever that write cost.
  const result = await runTarget(
    deps,
    running,
    { payload, completionToken, previous: previousRunOf(job.lastRun, run.jobId) },
    Math.max(1, deadlineMs - (deps.clock() - startedAt)),
  );
  now = deps.clock();
  if (result.ok && completionToken) {
    // The run goes on elsewhere: its duration is measured when it ends (shared/runs/completion.ts).
    await handedOff(deps, running, now);
    deps.log.info('run handed off', { jobId: run.jobId, runId: run.runId, detail: result.detail });
    return 'handed-off';
  }
  deps.signals.metric('RunDuration', now - startedAt, 'Milliseconds');
  if (result.ok) {
    const ended = await endRun(deps, running, 'succeeded', 'ok', now, {
      from: ['running'],
      attemptStatus: 'succeeded',
      clearError: true,
    });
    if (!ended) return recordLateOutcome(deps, running, { status: 'succeeded' }, now);
    deps.log.info(RUN_SUCCEEDED_LOG, {
      jobId: run.jobId,
      runId: run.runId,
      detail: result.detail,
      durationMs: now - startedAt,
    });
    return 'succeeded';
  }
  deps.log.warn('attempt failed', {
    jobId: run.jobId,
    runId: run.runId,
    attempt: message.attempt,
    error: result.error,
  });
  // An asynchronous hand-off that failed here (say, a timed-out call) may still have reached the worker:
  // once its heartbeat is accepted, the attempt is the worker's, and this outcome is only kept (late).
  // A run a later slot replaced meanwhile (overlap replace) is not retried either: the sweep ends it.
  const unreported = completionToken
    ? {
        condition: {
          extraCondition: 'attribute_not_exists(lastHeartbeatAt) AND attribute_not_exists(replacedBy)',
          extraValues: {},
        },
      }
    : {};
  if (result.retryable && attemptsLeft(running) > 0) {
    const retrying = await scheduleRetry(deps, running, now, {
      error: result.error,
      attemptStatus: 'failed',
      from: ['running'],
      graceMs,
      ...unreported,
    });
    if (!retrying) return recordLateOutcome(deps, running, { status: 'failed', error: result.error }, now);
    return 'retrying';
  }
  const failed = await endRun(deps, running, 'failed', result.timedOut ? 'timeout' : 'error', now, {
    from: ['running'],
    attemptStatus: 'failed',
    error: result.error,
    ...unreported,
  });
  if (!failed) return recordLateOutcome(deps, running, { status: 'failed', error: result.error }, now);
  return 'failed';
}

/**
 * An attempt ended after the sweep had taken it over (its lease passed: the executor was slow or its
 * clock behind). The outcome is not dropped: a success of an attempt whose retry has not started yet
 * ends the run `succeeded` (the work is done; the pending retry message finds the run ended); any other
 * late outcome is kept in the run's `lateOutcomes` and changes nothing else.
 */
export async function recordLateOutcome(
  deps: RunDeps,
  attempt: RunItem,
  outcome: { status: 'succeeded' | 'failed'; error?: string },
  now: number,
): Promise<ExecuteOutcome> {
  const late = {
    attempt: attempt.attempt,
    status: outcome.status,
    at: iso(now),
    ...(outcome.error !== undefined ? { error: clipError(outcome.error) } : {}),
  };
  deps.log.warn('attempt ended after its lease was taken over; outcome kept on the run', {
    runId: attempt.runId,
    ...late,
  });
  for (let i = 0; i < 3; i++) {
    const current = await deps.store.getRun(attempt.runId);
    if (!current) return 'late';
    const lateOutcomes = [...(current.lateOutcomes ?? []), late].slice(-LATE_OUTCOMES_KEPT);
    if (
      outcome.status === 'succeeded' &&
      current.status === 'retrying' &&
      current.attempt === attempt.attempt
    ) {
      const ended = await endRun(deps, current, 'succeeded', 'ok', now, {
        from: ['retrying'],
        clearError: true,
        extra: { lateOutcomes },
      });
      if (ended) return 'succeeded';
      continue;
    }
    const kept = await deps.store.transitionRun(
      current.runId,
      [current.status],
      { lateOutcomes },
      {
        attempt: current.attempt,
        now,
        extraCondition: 'updatedAt = :seen',
        extraValues: { ':seen': current.updatedAt },
      },
    );
    if (kept) return 'late';
  }
  return 'late';
}

/**
 * A retry that found another run holding the job (a manual run of an overlap skip/queue job), or an
 * operator run that found the job's `running` set full: it stays as it is (`retrying`, `dispatched`) and
 * tries again after its backoff (at least 5 s), so the two never run at once and the set stays bounded.
 */
async function waitForJob(
  deps: ExecuteDeps,
  run: RunItem,
  attempt: number,
  now: number,
  graceMs: number,
): Promise<ExecuteOutcome> {
  const waitMs = Math.min(MAX_DELAY_SECONDS * 1000, Math.max(5_000, run.definition.retry.backoff));
  const waiting = await deps.store.transitionRun(
    run.runId,
    [run.status],
    { nextAttemptAt: iso(now + waitMs), openUntil: iso(now + waitMs + graceMs) },
    { attempt: run.attempt, now },
  );
  if (!waiting) return 'duplicate';
  await sendAttempt(deps, waiting, attempt, delayFor(now + waitMs, now));
  return 'retrying';
}

type TargetOutcome =
  | { ok: true; detail?: string }
  | { ok: false; error: string; retryable: boolean; timedOut: boolean };

/**
 * Why the definition a run record carries is not one the job was given, or undefined: it fails job
 * validation (limits, target rules), or differs from the definition item the record names.
 */
async function forgedDefinition(deps: ExecuteDeps, run: RunItem): Promise<string | undefined> {
  let carried: JobDefinition;
  try {
    carried = withoutPayload(parseJob(run.definition));
  } catch (error) {
    return `is not a valid job definition (${error instanceof JobValidationError ? error.violations.map(formatViolation).join('; ') : errorMessage(error)})`;
  }
  // Compared as parsed (defaults filled in, as the tick's claim wrote it).
  const same = (given: unknown) => {
    try {
      return sameJson(withoutPayload(parseJob(given)), carried);
    } catch {
      return false;
    }
  };
  if (run.definitionId) {
    const item = await deps.store.getDefinition(run.jobId, run.definitionId);
    if (item && !same(item)) return `differs from definition item ${run.definitionId} it names`;
  }
  // A job without a definition item (no payload) has nothing content-addressed to compare with: the job
  // item's version moves with every advance, so an edit since the claim cannot be told from a forgery.
  // Validation alone applies then (docs/security.md).
  return undefined;
}

/**
 * The payload a run delivers: on the run record (records of older versions), or in the definition item
 * it references (read once per warm executor: definition items never change).
 */
async function payloadOf(deps: ExecuteDeps, run: RunItem): Promise<unknown> {
  if (run.definition.payload !== undefined || !run.definitionId) return run.definition.payload ?? null;
  const definition = await deps.store.getDefinition(run.jobId, run.definitionId);
  if (!definition) throw new Error(`definition ${run.definitionId} of job "${run.jobId}" is missing`);
  return definition.payload ?? null;
}

async function runTarget(
  deps: ExecuteDeps,
  run: RunItem,
  given: { payload: unknown; completionToken: string | undefined; previous: PreviousRun | undefined },
  deadlineMs: number,
): Promise<TargetOutcome> {
  const { payload, completionToken, previous } = given;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${deadlineMs}ms`)), deadlineMs);
  try {
    const context: RunContext = {
      jobId: run.jobId,
      runId: run.runId,
      scheduledAt: run.scheduledAt,
      attempt: run.attempt,
      manual: run.manual ?? false,
      payload,
      ...(completionToken ? { completionToken } : {}),
      ...(previous ? { previous } : {}),
    };
    // A target that ignores the abort signal must not keep the executor past its deadline (the lease
    // would lapse and the sweep start another attempt beside it): stop waiting for it at the deadline.
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    const result = await Promise.race([
      deps.invoke(run.definition.target, context, controller.signal),
      aborted,
    ]);
    if (controller.signal.aborted)
      return { ok: false, error: `timed out after ${deadlineMs}ms`, retryable: true, timedOut: true };
    return { ok: true, ...(result.detail ? { detail: result.detail } : {}) };
  } catch (error) {
    const timedOut = controller.signal.aborted || (error as { timedOut?: boolean })?.timedOut === true;
    const retryable = (error as { retryable?: boolean })?.retryable !== false;
    return {
      ok: false,
      error: timedOut ? `timed out after ${deadlineMs}ms` : errorMessage(error).slice(0, 2000),
      retryable: timedOut || retryable,
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The job's `running` set names runs that have ended (their end was recorded on the run but not on the
 * job: a lost write). Drops them; true when any was dropped, so the start can be tried again.
 */
async function healRunning(deps: ExecuteDeps, run: RunItem): Promise<boolean> {
  const job = await deps.store.getJob(run.jobId);
  const others = [...(job?.running ?? [])].filter((id) => id !== run.runId);
  const stale: string[] = [];
  for (const id of others) {
    const other = await deps.store.getRun(id);
    // A run waiting for its retry still holds the job (overlap skip/queue): not stale.
    if (!other || (other.status !== 'running' && other.status !== 'retrying')) stale.push(id);
  }
  if (!stale.length) return false;
  deps.log.warn("dropped runs that had ended from the job's running set", {
    jobId: run.jobId,
    runIds: stale,
  });
  await deps.store.forgetRunning(run.jobId, stale);
  return true;
}

/** Another run of the job is running and the job does not allow overlap. */
async function handleOverlap(
  deps: ExecuteDeps,
  run: RunItem,
  policy: OverlapPolicy,
  now: number,
): Promise<ExecuteOutcome> {
  if ((policy === 'queue' || policy === 'replace') && (await deps.store.holdRun(run.jobId, run.runId, now))) {
    const held = await deps.store.transitionRun(
      run.runId,
      ['dispatched', 'queued'],
      {
        status: 'queued',
        openShard: deps.store.openShard(run.jobId),
        // Held at most until its starting deadline; the sweep records it missed(deadline) after that.
        openUntil: iso(Date.parse(run.scheduledAt) + run.definition.startingDeadline),
      },
      { attempt: run.attempt, now },
    );
    if (!held) {
      await deps.store.releaseHeld(run.jobId, run.runId);
      return 'duplicate';
    }
    if (policy === 'replace') await replaceRunning(deps, held, now);
    // The running one may have ended between our start attempt and the hold, and its releaser may have
    // found nothing held yet: if nothing runs now, send ourselves (a duplicate start is refused anyway).
    // (Runs of an edit from allow still to be counted occupy it too: their ends release the held run.)
    const job = await deps.store.getJob(run.jobId);
    if (job && (!job.running || job.running.size === 0) && job.untrackedRuns === undefined) {
      await deps.store.releaseHeld(run.jobId, run.runId);
      await sendAttempt(deps, held, held.attempt + 1, 0);
    }
    return policy === 'replace' ? 'replacing' : 'queued';
  }
  return (await endRun(deps, run, 'skipped', 'overlap', now, { from: ['dispatched', 'queued'] }))
    ? 'skipped'
    : 'duplicate';
}

/**
 * Overlap replace: `held` (this slot's run, held on the job as with queue) replaces the runs that hold
 * the job. One waiting for its retry has nothing in the target: it ends cancelled(replaced) now. One
 * running gets `replacedBy` (once: conditional on none yet) and is stopped (stopReplaced); it ends
 * cancelled(replaced) once AWS or its worker says so, and that end releases `held`. A run whose attempt
 * ends by itself (synchronous: a definition from before an edit to replace) is left to end, `held`
 * waiting for it as with queue. A slot that comes while a replacement waits is skipped(overlap).
 */
async function replaceRunning(deps: ExecuteDeps, held: RunItem, now: number): Promise<void> {
  const job = await deps.store.getJob(held.jobId);
  for (const id of [...(job?.running ?? [])].filter((other) => other !== held.runId)) {
    const other = await deps.store.getRun(id);
    if (!other) continue;
    if (other.status === 'retrying') {
      // Nothing of it is in the target: it ends now (its retry message then finds it ended).
      await endReplaced(deps, other, now, `it was waiting for attempt ${other.attempt + 1}`, {
        replacedBy: held.runId,
      });
      continue;
    }
    if (!isAwaitingReport(other)) continue;
    const marked =
      other.replacedBy !== undefined
        ? other
        : await deps.store.transitionRun(
            other.runId,
            ['running'],
            { replacedBy: held.runId, stopRequestedAt: other.stopRequestedAt ?? iso(now) },
            {
              attempt: other.attempt,
              now,
              extraCondition: 'attribute_not_exists(replacedBy)',
              extraValues: {},
            },
          );
    if (!marked) continue;
    deps.log.info('replacing a running run (overlap replace)', {
      jobId: held.jobId,
      runId: marked.runId,
      replacedBy: marked.replacedBy,
    });
    await stopReplaced(deps, marked, now);
  }
}

/** A run left `running` past its lease: its executor is gone. Retry if attempts are left, else failed(lost). */
export async function recoverExpired(
  deps: RunDeps,
  run: RunItem,
  now: number,
  graceMs: number,
): Promise<boolean> {
  const error = `executor stopped during attempt ${run.attempt} (lease expired at ${run.leaseUntil})`;
  if (attemptsLeft(run) > 0) {
    return Boolean(
      await scheduleRetry(deps, run, now, { error, attemptStatus: 'lost', from: ['running'], graceMs }),
    );
  }
  return Boolean(
    await endRun(deps, run, 'failed', 'lost', now, { from: ['running'], attemptStatus: 'lost', error }),
  );
}

/** A replay (CLI or DLQ redrive) reopens an ended run under its own id with a fresh retry budget. */
export async function reopenForReplay(
  deps: RunDeps,
  run: RunItem,
  now: number,
  graceMs: number,
): Promise<RunItem | undefined> {
  return deps.store.transitionRun(
    run.runId,
    [run.status],
    {
      status: 'dispatched',
      reason: undefined,
      // A replayed skipped(calendar) run is an operator's act: it runs, and no longer names the calendar.
      calendar: undefined,
      finishedAt: undefined,
      // Spent: a second redrive of the same DLQ entry, or a copy of it, finds no token to match.
      redriveToken: undefined,
      dispatchedAt: iso(now),
      replays: (run.replays ?? 0) + 1,
      attemptBase: run.attempt,
      openShard: deps.store.openShard(run.jobId),
      openUntil: iso(now + graceMs),
    },
    { attempt: run.attempt, now },
  );
}

/** An unreadable message goes to the pool's DLQ with the reason, and is acknowledged (SPEC §7). */
async function quarantine(deps: ExecuteDeps, body: string, error: string, pool: string): Promise<void> {
  const dlqUrl = deps.pools.dlqUrl(pool);
  deps.signals.metric('PoisonMessages', 1);
  deps.log.error('unreadable message moved to the DLQ', { pool, error, body: body.slice(0, 500) });
  if (!dlqUrl) throw new Error(`${error} (and pool "${pool}" has no DLQ configured)`);
  await deps.dispatcher.sendRaw(
    dlqUrl,
    JSON.stringify({
      v: 1,
      poison: true,
      error,
      body: body.slice(0, 200_000),
      receivedAt: iso(deps.clock()),
    }),
  );
}
