/**
 * Asynchronous completion (docs/jobs.md "Runs that outlive a Lambda"): a target with `completion: async` (and
 * the stepfunctions and ecs targets) hands its run off and leaves it `running`; the worker then reports
 * `heartbeat`, `complete` or `fail`, and the sweep ends an attempt whose heartbeats stop (`lost`) or that
 * outlives `maxRunDuration` (`timeout`). Everything an attempt needs for that is on the run record itself
 * (token hash, heartbeat timeout, deadlines), so neither the reports nor the sweep read the definition.
 *
 * Each report is a conditional write on the run's status and attempt, so a report racing the sweep, the
 * executor or another report changes the run at most once. The end of an attempt goes through the
 * executor's own path (`scheduleRetry`, `endRun`: retry with a new attempt and token, or fail to the DLQ).
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { type CompletionRefusal, CompletionRefusedError } from '../errors.js';
import { formatDuration } from '../jobs/duration.js';
import { jsonBytes } from '../jobs/limits.js';
import { JOB_DEFAULTS } from '../jobs/schema.js';
import { joinPath } from '../jobs/violations.js';
import { preview, tooDeep } from '../json.js';
import { type AttemptRecord, iso, LATE_REPORTS_KEPT, type LateReport, type RunItem } from '../store/model.js';
import type { RunPatch } from '../store/runs.js';
import { tokenHash } from '../targets/names.js';
import {
  attemptsLeft,
  clipError,
  endRun,
  RUN_SUCCEEDED_LOG,
  type RunDeps,
  scheduleRetry,
} from './lifecycle.js';

/**
 * One report about an attempt. By `token` (the run context's `completionToken`): from a worker, through
 * the CLI, the client or the completions queue. By `attempt` and `source`: from AWS's own events about a
 * stepfunctions execution or an ECS task, routed by the stack's event rules (trusted: only the stack's
 * function can send them).
 */
export type CompletionReport = {
  runId: string;
  type: 'heartbeat' | 'complete' | 'fail';
  /** With `complete`: what the work produced (JSON, at most `MAX_OUTPUT_BYTES`), kept on the run. */
  output?: unknown;
  /** With `fail`: why. */
  error?: string;
} & ({ token: string } | { attempt: number; source: 'stepfunctions' | 'ecs' });

/** What a report did, or why it was refused. */
export type ReportResult =
  | {
      ok: true;
      /** `duplicate`: the same report had already ended the attempt (nothing changed). */
      /** `cancelled`: AWS's word about a replaced run's execution or task ended it cancelled(replaced). */
      outcome: 'heartbeat' | 'succeeded' | 'retrying' | 'failed' | 'duplicate' | 'cancelled';
      run: RunItem;
    }
  | {
      ok: false;
      refused: CompletionRefusal;
      message: string;
      /** The report was kept in the attempt's history (it came after the attempt was declared lost). */
      kept: boolean;
    };

/**
 * The sweep's look at a stepfunctions/ecs attempt before it declares it lost or timed out: the report AWS
 * gives of it, nothing (not found), or `foreign` (found under its name, with another token: ignored).
 * With `stop`, what still runs of the attempt is stopped (shared/targets/external.ts).
 */
export type CheckExternal = (
  run: RunItem,
  now: number,
  options?: { stop?: string; stopError?: string },
) => Promise<CompletionReport | { foreign: string } | undefined>;

export interface CompletionDeps extends RunDeps {
  /** How late a retry message may be before the sweep re-sends it (as the executor's option). */
  graceMs?: number;
  /** Asks AWS about an attempt that does not heartbeat itself (DescribeExecution, DescribeTasks). */
  checkExternal?: CheckExternal;
}

/** Most bytes of JSON a `complete` report's output may have: it is kept on the run record. */
export const MAX_OUTPUT_BYTES = 16 * 1024;
/** Most levels of nesting of an output (as a payload's): it sits one level down in the run record. */
export const MAX_OUTPUT_DEPTH = 16;
const DEFAULT_GRACE_MS = 60_000;

/** A new completion token: 32 random bytes, base64url (43 characters). */
export function newCompletionToken(): string {
  return randomBytes(32).toString('base64url');
}

export { tokenHash };

/**
 * The fields an asynchronous attempt starts with: its token's hash, its heartbeat timeout and its
 * deadlines. The first heartbeat is due `heartbeatTimeout` after the hand-off (see `handedOff`); until the
 * hand-off is recorded the executor's lease covers the attempt.
 */
export function asyncAttemptFields(
  bounds: { heartbeatTimeout?: number; maxRunDuration?: number },
  token: string,
  now: number,
): RunPatch & { completionTokenHash: string } {
  const heartbeatTimeout = bounds.heartbeatTimeout ?? JOB_DEFAULTS.heartbeatTimeout;
  return {
    completionTokenHash: tokenHash(token),
    heartbeatTimeout,
    heartbeatDeadline: iso(now + heartbeatTimeout),
    runDeadline: iso(now + (bounds.maxRunDuration ?? JOB_DEFAULTS.maxRunDuration)),
    lastHeartbeatAt: undefined,
    stopRequestedAt: undefined,
  };
}

/** Whether a run's current attempt is asynchronous (its end comes from a report). */
export function isAwaitingReport(run: RunItem): boolean {
  return run.status === 'running' && run.runDeadline !== undefined;
}

/**
 * The executor handed the attempt off: the executor's lease ends, the sweep now watches the heartbeat
 * deadline (the hand-off counts as the first heartbeat) and the run deadline. False when the run moved on
 * meanwhile (a quick worker already reported its end): nothing to do then.
 */
export async function handedOff(deps: RunDeps, run: RunItem, now: number): Promise<boolean> {
  const heartbeatTimeout = run.heartbeatTimeout ?? JOB_DEFAULTS.heartbeatTimeout;
  const heartbeatDeadline = now + heartbeatTimeout;
  const runDeadline = run.runDeadline ? Date.parse(run.runDeadline) : heartbeatDeadline;
  const updated = await deps.store.transitionRun(
    run.runId,
    ['running'],
    {
      leaseUntil: undefined,
      heartbeatDeadline: iso(heartbeatDeadline),
      openUntil: iso(Math.min(heartbeatDeadline, runDeadline)),
    },
    { attempt: run.attempt, now },
  );
  return Boolean(updated);
}

function refuse(refused: CompletionRefusal, message: string, kept = false): ReportResult {
  return { ok: false, refused, message, kept };
}

/** The client's and the CLI's form of a refusal. */
export function refusalError(runId: string, result: ReportResult): CompletionRefusedError | undefined {
  if (result.ok) return undefined;
  return new CompletionRefusedError(result.message, result.refused, runId, result.kept);
}

/** The attempt a report is about, or why it names none of the run's. */
function attemptOf(run: RunItem, report: CompletionReport): number | ReportResult {
  if ('token' in report) {
    const hash = tokenHash(report.token);
    if (run.completionTokenHash === hash) return run.attempt;
    const record = (run.attempts ?? []).find((attempt) => attempt.tokenHash === hash);
    if (record) return record.attempt;
    return refuse(
      'wrong-token',
      `run ${report.runId}: the token is not one of this run's (a token is valid for one attempt of one run; use the completionToken of the run context the worker received)`,
    );
  }
  if (!Number.isInteger(report.attempt) || report.attempt < 1 || report.attempt > run.attempt) {
    return refuse(
      'wrong-attempt',
      `run ${report.runId}: attempt ${report.attempt} (from ${report.source}) does not exist; the run is at attempt ${run.attempt}`,
    );
  }
  return report.attempt;
}

/**
 * What a run keeps of an output over `MAX_OUTPUT_BYTES` that AWS reported (a Step Functions execution's
 * output may have 256 KiB): its first bytes as JSON text, marked, with the whole size. The run still
 * succeeds: the work is done, only the record of its result is shortened.
 */
export interface TruncatedOutput {
  truncated: true;
  /** Bytes of the whole output, as JSON (of the output cut at MAX_OUTPUT_DEPTH levels if it nested deeper). */
  bytes: number;
  /** The start of the output's JSON text. */
  head: string;
}

/** Room the marker and the escaping of `head` may take inside MAX_OUTPUT_BYTES. */
const TRUNCATION_ROOM = 512;

export function truncateOutput(output: unknown): unknown {
  // Past MAX_OUTPUT_DEPTH (DynamoDB refuses an item past 32 levels; JSON.stringify overflows the stack
  // some thousands down) the output is kept marked too: the text, and its bytes, of the output cut there.
  const deep = tooDeep(output, MAX_OUTPUT_DEPTH) !== undefined;
  const text = JSON.stringify(deep ? cutAt(output, MAX_OUTPUT_DEPTH) : output) ?? 'null';
  const bytes = Buffer.byteLength(text, 'utf8');
  if (!deep && bytes <= MAX_OUTPUT_BYTES) return output;
  // Cut by characters, then shorten until the marked form (escapes included) fits.
  let head = text.slice(0, MAX_OUTPUT_BYTES - TRUNCATION_ROOM);
  const marked = (): TruncatedOutput => ({ truncated: true, bytes, head });
  while (jsonBytes(marked()) > MAX_OUTPUT_BYTES) head = head.slice(0, Math.floor(head.length * 0.9));
  return marked();
}

/** `value` with whatever lies past `levels` levels replaced by a marker (the recursion stops there). */
function cutAt(value: unknown, levels: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (levels === 0) return `(nested deeper than ${MAX_OUTPUT_DEPTH} levels)`;
  if (Array.isArray(value)) return value.map((item) => cutAt(item, levels - 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, cutAt(item, levels - 1)]));
}

function invalidReport(report: CompletionReport): string | undefined {
  // AWS's own word about an execution is not refused for its size or depth: its output is kept truncated.
  if (report.type === 'complete' && report.output !== undefined && !('source' in report)) {
    // Before anything walks it: the size below (JSON.stringify) and DynamoDB's marshaller recurse, and
    // DynamoDB refuses an item past 32 levels with a ValidationException (a raw AWS error, retried forever).
    const deep = tooDeep(report.output, MAX_OUTPUT_DEPTH);
    if (deep)
      return `${joinPath('output', deep)}: nests deeper than ${MAX_OUTPUT_DEPTH} levels; an output may nest at most ${MAX_OUTPUT_DEPTH} (DynamoDB allows 32 in a whole item): flatten it, or keep the result elsewhere (S3) and report its key`;
    let bytes: number;
    try {
      bytes = jsonBytes(report.output);
    } catch {
      return `output: must be JSON`;
    }
    if (bytes > MAX_OUTPUT_BYTES)
      return `output: is ${bytes} bytes as JSON; the limit is ${MAX_OUTPUT_BYTES} bytes: keep the result elsewhere (S3) and report its key`;
  }
  return undefined;
}

/**
 * Applies one report to its run at `now`. Refusals are results, not exceptions (the completions queue's
 * function acknowledges them; the client turns them into `CompletionRefusedError`); infrastructure errors
 * throw.
 *
 * @example
 * const result = await reportCompletion(deps, { runId, token, type: 'complete', output: { rows: 42 } }, Date.now());
 * if (!result.ok) console.error(result.message);
 */
export async function reportCompletion(
  deps: CompletionDeps,
  report: CompletionReport,
  now: number,
): Promise<ReportResult> {
  const invalid = invalidReport(report);
  if (invalid) return refuse('invalid-report', `run ${report.runId}: ${invalid}`);
  // A write refused because the run moved between the read and the write is retried on the new record.
  for (let round = 0; round < 3; round++) {
    const run = await deps.store.getRun(report.runId);
    if (!run) return refuse('unknown-run', `run ${report.runId} does not exist`);
    const attempt = attemptOf(run, report);
    if (typeof attempt !== 'number') return attempt;
    if (attempt === run.attempt && run.status === 'running') {
      if (!isAwaitingReport(run)) {
        return refuse(
          'not-async',
          `run ${run.runId}: attempt ${attempt} is not asynchronous; it ends when its invocation returns`,
        );
      }
      const applied = await applyReport(deps, run, report, now);
      if (applied) return applied;
      continue;
    }
    const settled = await settleEnded(deps, run, attempt, report, now);
    if (settled) return settled;
  }
  return refuse('conflict', `run ${report.runId} kept changing while the report was applied; send it again`);
}

async function applyReport(
  deps: CompletionDeps,
  run: RunItem,
  report: CompletionReport,
  now: number,
): Promise<ReportResult | undefined> {
  // Overlap replace: whatever the worker or AWS says next ends the run cancelled(replaced) (AWS's "still
  // running" excepted: the stop is under way).
  if (run.replacedBy && !('source' in report && report.type === 'heartbeat')) {
    return applyToReplaced(deps, run, report, now);
  }
  if (report.type === 'heartbeat') {
    const updated = await heartbeat(deps, run, now, false);
    if (!updated) return undefined;
    // The dashboard's "runs in progress by age": each heartbeat says how old its attempt is.
    const since = currentAttempt(run)?.startedAt;
    if (since) deps.signals.metric('RunInProgressAge', now - Date.parse(since), 'Milliseconds');
    return { ok: true, outcome: 'heartbeat', run: updated };
  }
  const startedAt = currentAttempt(run)?.startedAt;
  if (report.type === 'complete') {
    const ended = await endRun(deps, run, 'succeeded', 'ok', now, {
      from: ['running'],
      attemptStatus: 'succeeded',
      clearError: true,
      report: 'complete',
      extra: report.output !== undefined ? { output: truncateOutput(report.output) } : {},
    });
    if (!ended) return undefined;
    const durationMs = startedAt ? now - Date.parse(startedAt) : undefined;
    if (durationMs !== undefined) deps.signals.metric('RunDuration', durationMs, 'Milliseconds');
    deps.log.info(RUN_SUCCEEDED_LOG, { jobId: run.jobId, runId: run.runId, detail: 'completed', durationMs });
    return { ok: true, outcome: 'succeeded', run: ended };
  }
  const error = clipError(report.error?.trim() || 'the worker reported a failure');
  // The end of an execution or task the sweep stopped past maxRunDuration: the attempt timed out.
  const stopped = 'source' in report && run.stopRequestedAt !== undefined;
  const outcome = await endAttempt(
    deps,
    run,
    now,
    stopped
      ? {
          kind: 'timeout',
          error: clipError(`${timeoutText(run)}; stopped at ${run.stopRequestedAt}: ${error}`),
        }
      : { kind: 'failed', error, report: 'fail' },
  );
  if (!outcome) return undefined;
  if (startedAt) deps.signals.metric('RunDuration', now - Date.parse(startedAt), 'Milliseconds');
  return { ok: true, ...outcome };
}

function replacedText(run: Pick<RunItem, 'runId' | 'replacedBy'>): string {
  return `run ${run.runId} was replaced by run ${run.replacedBy} (overlap replace)`;
}

/**
 * Ends a run whose replacement was recorded (`replacedBy`) `cancelled(replaced)`, its attempt closed with
 * `how` it ended; the job's `running` set lets it go and the replacement it holds is released (endRun).
 * Undefined when the run moved meanwhile.
 */
export async function endReplaced(
  deps: RunDeps,
  run: RunItem,
  now: number,
  how: string,
  options: {
    condition?: { extraCondition: string; extraValues: Record<string, unknown> };
    /** The replacement's run id, when it is not on the record yet (a run waiting for its retry). */
    replacedBy?: string;
  } = {},
): Promise<RunItem | undefined> {
  const replacedBy = options.replacedBy ?? run.replacedBy;
  return endRun(deps, run, 'cancelled', 'replaced', now, {
    from: [run.status === 'retrying' ? 'retrying' : 'running'],
    attemptStatus: 'failed',
    error: `${replacedText({ ...run, replacedBy })}: ${how}`,
    ...(options.condition ? { condition: options.condition } : {}),
    ...(options.replacedBy ? { extra: { replacedBy } } : {}),
  });
}

/**
 * A report about a run being replaced. The worker's heartbeat is its cancel notice: the run ends
 * cancelled(replaced) and the answer (refused `cancelled`) tells the worker to stop. A `complete` or
 * `fail` of the worker ends it the same (the report is kept on the attempt and changes nothing else);
 * AWS's end of the execution or task (ABORTED after the stop, or an end that came first) too.
 */
async function applyToReplaced(
  deps: CompletionDeps,
  run: RunItem,
  report: CompletionReport,
  now: number,
): Promise<ReportResult | undefined> {
  const fromAws = 'source' in report;
  const said =
    report.type === 'complete'
      ? 'succeeded'
      : `failed${report.error?.trim() ? ` (${clipError(report.error.trim())})` : ''}`;
  const how = fromAws
    ? `its ${report.source === 'ecs' ? 'task' : 'execution'} ended: ${said}`
    : report.type === 'heartbeat'
      ? 'its worker was told at its heartbeat'
      : `its worker's ${report.type} (${said}) came after the replacement was recorded and was not taken`;
  const ended = await endReplaced(deps, run, now, how);
  if (!ended) return undefined;
  deps.log.info('replaced run ended', { runId: run.runId, replacedBy: run.replacedBy, how });
  if (fromAws) return { ok: true, outcome: 'cancelled', run: ended };
  return refuse(
    'cancelled',
    `${replacedText(run)}: stop the work; this ${report.type} ended it cancelled(replaced)${report.type === 'heartbeat' ? '' : ' and changed nothing else'}`,
    report.type !== 'heartbeat',
  );
}

/** A heartbeat: the next one is due `heartbeatTimeout` from now. The sweep also moves `openUntil`. */
async function heartbeat(
  deps: RunDeps,
  run: RunItem,
  now: number,
  fromSweep: boolean,
): Promise<RunItem | undefined> {
  const heartbeatDeadline = now + (run.heartbeatTimeout ?? JOB_DEFAULTS.heartbeatTimeout);
  // A worker's heartbeat leaves the open index alone (a GSI write per heartbeat would double its cost);
  // the sweep moves `openUntil` when it finds the old one passed and the heartbeat deadline not.
  const runDeadline = run.runDeadline ? Date.parse(run.runDeadline) : heartbeatDeadline;
  return deps.store.transitionRun(
    run.runId,
    ['running'],
    {
      lastHeartbeatAt: iso(now),
      heartbeatDeadline: iso(heartbeatDeadline),
      ...(fromSweep ? { openUntil: iso(Math.min(heartbeatDeadline, runDeadline)) } : {}),
    },
    { attempt: run.attempt, now },
  );
}

function currentAttempt(run: RunItem): AttemptRecord | undefined {
  const last = run.attempts?.[run.attempts.length - 1];
  return last?.attempt === run.attempt ? last : undefined;
}

/**
 * Ends the current attempt of a running run as a failure: a new attempt (new token) after the backoff if
 * the retry budget allows, else the run fails (and goes to the DLQ). The executor's path, unchanged.
 */
async function endAttempt(
  deps: CompletionDeps,
  run: RunItem,
  now: number,
  end: {
    kind: 'failed' | 'lost' | 'timeout';
    error: string;
    report?: 'fail';
    condition?: { extraCondition: string; extraValues: Record<string, unknown> };
    /** False: the run fails even with attempts left (the attempt may still run: no retry beside it). */
    retry?: boolean;
  },
): Promise<{ outcome: 'retrying' | 'failed'; run: RunItem } | undefined> {
  const attemptStatus: 'lost' | 'failed' = end.kind === 'lost' ? 'lost' : 'failed';
  const common = {
    from: ['running'] as const,
    attemptStatus,
    error: end.error,
    ...(end.report ? { report: end.report } : {}),
    ...(end.condition ? { condition: end.condition } : {}),
  };
  if (end.retry !== false && attemptsLeft(run) > 0) {
    const retrying = await scheduleRetry(deps, run, now, {
      ...common,
      graceMs: deps.graceMs ?? DEFAULT_GRACE_MS,
    });
    return retrying ? { outcome: 'retrying', run: retrying } : undefined;
  }
  const reason = end.kind === 'failed' ? 'error' : end.kind;
  const failed = await endRun(deps, run, 'failed', reason, now, common);
  return failed ? { outcome: 'failed', run: failed } : undefined;
}

/**
 * A report about an attempt that is no longer running: a repeat of the report that ended it is
 * idempotent; anything else after the attempt ended otherwise (lost, timed out) is kept in the attempt's
 * history and refused. Undefined when the run moved while the history was written (read it again).
 */
async function settleEnded(
  deps: RunDeps,
  run: RunItem,
  attempt: number,
  report: CompletionReport,
  now: number,
): Promise<ReportResult | undefined> {
  const attempts = [...(run.attempts ?? [])];
  const index = attempts.findIndex((record) => record.attempt === attempt);
  const record = attempts[index];
  if (!record) {
    return refuse(
      'attempt-ended',
      `run ${run.runId}: attempt ${attempt} ended long ago (its record is no longer kept); the run is at attempt ${run.attempt}, ${run.status}`,
    );
  }
  if (record.report && record.report === reportKind(report.type)) {
    return { ok: true, outcome: 'duplicate', run };
  }
  const when = record.finishedAt ? ` at ${record.finishedAt}` : '';
  const why = record.error ? ` (${record.error})` : '';
  const ended = `attempt ${attempt} of run ${run.runId} ended ${record.status}${when}${why}`;
  const newer = attempt < run.attempt ? `; attempt ${run.attempt} is the current one` : '';
  if (record.report || record.status === 'running') {
    // Ended by the worker's own report (a heartbeat or a contrary report after it), or a report by
    // attempt about a run that is not running: nothing to keep.
    return refuse('attempt-ended', `${ended}${newer}; this ${report.type} changed nothing`);
  }
  // Declared lost or timed out by the sweep (or failed by its hand-off): keep the report for the record,
  // once per kind, so a worker that goes on heartbeating does not grow the item.
  const late = record.lateReports ?? [];
  if (!late.some((seen) => seen.type === report.type)) {
    const entry: LateReport = {
      type: report.type,
      at: iso(now),
      ...(report.type === 'fail' && report.error ? { error: clipError(report.error) } : {}),
    };
    attempts[index] = { ...record, lateReports: [...late, entry].slice(-LATE_REPORTS_KEPT) };
    const kept = await deps.store.transitionRun(
      run.runId,
      [run.status],
      { attempts },
      {
        attempt: run.attempt,
        now,
        extraCondition: 'updatedAt = :seen',
        extraValues: { ':seen': run.updatedAt },
      },
    );
    if (!kept) return undefined;
    deps.log.warn('report after its attempt had ended; kept in the attempt history', {
      runId: run.runId,
      attempt,
      type: report.type,
    });
  }
  // A replaced run's worker goes on reporting: it is told so (its cancel notice), as at its first report.
  const replaced = run.reason === 'replaced' && attempt === run.attempt;
  return refuse(
    replaced ? 'cancelled' : 'attempt-ended',
    `${replaced ? `${replacedText(run)}: stop the work; ` : ''}${ended}${newer}; this ${report.type} was kept in the attempt's history and changed nothing`,
    true,
  );
}

function reportKind(type: CompletionReport['type']): AttemptRecord['report'] | undefined {
  return type === 'heartbeat' ? undefined : type;
}

export type AsyncSweepOutcome = 'waiting' | 'stopping' | 'reported' | 'retried' | 'failed' | 'moved';

/** What the sweep learnt from AWS about an attempt: its report, nothing (not found), or that it could not ask. */
type ExternalAnswer = { report?: CompletionReport } | { failed: string };

/** How soon the sweep looks again at an attempt it asked AWS to stop (the tick runs every minute). */
const STOP_CHECK_MS = 60_000;
/**
 * How long a stopped execution or task may take to end before the sweep gives up waiting: StopExecution
 * ends an execution at once; ECS stops a task's containers after their stopTimeout (at most 120 s on
 * Fargate). Past this the attempt fails `timeout` and is not retried.
 */
export const STOP_PATIENCE_MS = 10 * 60_000;

/** Whether the sweep can stop this attempt in AWS (a stepfunctions or ecs attempt, with a look at AWS). */
function stoppable(deps: CompletionDeps, run: RunItem): boolean {
  const type = run.definition.target.type;
  return deps.checkExternal !== undefined && (type === 'stepfunctions' || type === 'ecs');
}

function timeoutText(run: RunItem): string {
  return `attempt ${run.attempt} ran past maxRunDuration (deadline ${run.runDeadline})`;
}

async function askExternal(
  deps: CompletionDeps,
  run: RunItem,
  now: number,
  options: { stop?: string; stopError?: string } = {},
): Promise<ExternalAnswer> {
  if (!deps.checkExternal) return {};
  try {
    const found = await deps.checkExternal(run, now, options);
    if (found && 'foreign' in found) {
      // An execution or task under this attempt's name that carries another token (another stack's, or
      // an old run's): it never settles this attempt, which then counts as not found.
      deps.signals.metric('ExternalTokenMismatch', 1);
      deps.log.warn('AWS answered with an execution or task that is not this attempt’s; ignored', {
        runId: run.runId,
        attempt: run.attempt,
        reason: found.foreign,
      });
      return {};
    }
    return found ? { report: found } : {};
  } catch (error) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    // Counted and logged, never a stop: the attempt still ends by its deadlines.
    deps.signals.metric('ExternalCheckFailed', 1);
    deps.log.warn('could not ask AWS how an attempt stands; looked at again later', {
      runId: run.runId,
      attempt: run.attempt,
      target: run.definition.target.type,
      error: text,
    });
    return { failed: text };
  }
}

/**
 * The attempt stays as it is and the sweep looks again at `next` (never after the run deadline unless
 * `next` says so): what AWS said could not be acted on now.
 */
async function lookAgain(
  deps: CompletionDeps,
  run: RunItem,
  now: number,
  next = Math.min(
    now + (run.heartbeatTimeout ?? JOB_DEFAULTS.heartbeatTimeout),
    Date.parse(run.runDeadline ?? iso(now)),
  ),
  patch: RunPatch = {},
): Promise<AsyncSweepOutcome> {
  const moved = await deps.store.transitionRun(
    run.runId,
    ['running'],
    { ...patch, openUntil: iso(Math.max(next, now + 1)) },
    {
      attempt: run.attempt,
      now,
      extraCondition: 'openUntil = :openBefore',
      extraValues: { ':openBefore': run.openUntil },
    },
  );
  return moved ? 'waiting' : 'moved';
}

/**
 * The sweep's look at an asynchronous attempt whose `openUntil` has passed: still within both deadlines →
 * move `openUntil` to the nearer one; else ask `checkExternal` (stepfunctions, ecs) and apply what it
 * says; else end the attempt: past `runDeadline` → failed(timeout), past the heartbeat deadline → lost
 * (metric `HeartbeatsMissed`). Either retries or fails like any failure.
 *
 * `maxRunDuration` ends every attempt whatever AWS says: past `runDeadline` only an end AWS reports (and
 * that applies) is taken instead of the timeout; a check that fails (metric `ExternalCheckFailed`, a
 * warning) or a report that cannot be applied never keeps an attempt open past it.
 *
 * Never two executions or tasks of one run at once: a stepfunctions/ecs attempt still running past
 * `runDeadline` is stopped (StopExecution / StopTask) and stays `running` (`stopRequestedAt`) until AWS
 * says it has ended; then it fails `timeout` and is retried. One that cannot be confirmed ended — the
 * look at AWS fails, or it still runs `STOP_PATIENCE_MS` after the stop — fails `timeout` without a retry.
 */
export async function sweepAsync(
  deps: CompletionDeps,
  run: RunItem,
  now: number,
): Promise<AsyncSweepOutcome> {
  if (run.replacedBy) return stopReplaced(deps, run, now);
  const runDeadline = Date.parse(run.runDeadline ?? iso(now));
  const heartbeatDeadline = Date.parse(run.heartbeatDeadline ?? iso(now));
  if (now < heartbeatDeadline && now < runDeadline) {
    const moved = await deps.store.transitionRun(
      run.runId,
      ['running'],
      { openUntil: iso(Math.min(heartbeatDeadline, runDeadline)) },
      {
        attempt: run.attempt,
        now,
        extraCondition: 'openUntil = :openBefore',
        extraValues: { ':openBefore': run.openUntil },
      },
    );
    return moved ? 'waiting' : 'moved';
  }
  const timeout = now >= runDeadline;
  const stop = timeout && stoppable(deps, run);
  const external = await askExternal(deps, run, now, stop ? { stop: timeoutText(run) } : {});
  // Whether the attempt may be retried: not while its execution or task may still run.
  let retry = true;
  let unconfirmed = '';
  if ('failed' in external) {
    // Unknown: it may still run. Before the run deadline, wait (a second attempt could run beside it).
    if (!timeout) return lookAgain(deps, run, now);
    if (stop) {
      retry = false;
      unconfirmed = `; it could not be confirmed stopped (${external.failed}), so it is not retried`;
    }
  } else if (external.report && external.report.type !== 'heartbeat') {
    const result = await reportCompletion(deps, external.report, now);
    if (result.ok) return 'reported';
    deps.signals.metric('ExternalCheckFailed', 1);
    deps.log.warn('the end AWS reports for an attempt could not be applied', {
      runId: run.runId,
      attempt: run.attempt,
      refused: result.refused,
      error: result.message,
    });
    if (!timeout) return lookAgain(deps, run, now);
  } else if (external.report && !timeout) {
    // Still running: a heartbeat (the attempt waits on; maxRunDuration still holds).
    return (await heartbeat(deps, run, now, true)) ? 'reported' : 'moved';
  } else if (external.report && stop) {
    // Still running past maxRunDuration: the stop was sent; wait for AWS to say it has ended.
    const since = run.stopRequestedAt ? Date.parse(run.stopRequestedAt) : now;
    if (now - since < STOP_PATIENCE_MS) {
      if (!run.stopRequestedAt) {
        deps.log.warn('attempt ran past maxRunDuration: stopped; retried once AWS says it has ended', {
          runId: run.runId,
          attempt: run.attempt,
          target: run.definition.target.type,
        });
      }
      const outcome = await lookAgain(deps, run, now, now + STOP_CHECK_MS, {
        stopRequestedAt: run.stopRequestedAt ?? iso(now),
      });
      return outcome === 'waiting' ? 'stopping' : outcome;
    }
    retry = false;
    unconfirmed = `; still running ${formatDuration(now - since)} after it was stopped, so it is not retried`;
  }
  const bound = run.heartbeatTimeout ?? JOB_DEFAULTS.heartbeatTimeout;
  const error = timeout
    ? `${timeoutText(run)}${unconfirmed}`
    : `attempt ${run.attempt} lost: no heartbeat for ${formatDuration(bound)} (last ${run.lastHeartbeatAt ?? 'at the hand-off'})`;
  // Conditional on the deadline judged here: a heartbeat that lands meanwhile keeps the attempt alive.
  const condition = {
    extraCondition: 'heartbeatDeadline = :judged',
    extraValues: { ':judged': run.heartbeatDeadline },
  };
  const ended = await endAttempt(deps, run, now, {
    kind: timeout ? 'timeout' : 'lost',
    error,
    retry,
    ...(run.heartbeatDeadline && !timeout ? { condition } : {}),
  });
  if (!ended) return 'moved';
  if (!timeout) deps.signals.metric('HeartbeatsMissed', 1);
  const startedAt = currentAttempt(run)?.startedAt;
  if (startedAt) deps.signals.metric('RunDuration', now - Date.parse(startedAt), 'Milliseconds');
  deps.log.warn(timeout ? 'attempt timed out' : 'attempt lost: heartbeats stopped', {
    runId: run.runId,
    attempt: run.attempt,
    outcome: ended.outcome,
  });
  return ended.outcome === 'retrying' ? 'retried' : 'failed';
}

/**
 * Stops a run whose replacement was recorded (`replacedBy`, overlap replace), or looks again later; the
 * executor that recorded the replacement calls it at once, the sweep on every pass after.
 *
 *   stepfunctions / ecs  StopExecution / StopTask (through `checkExternal`), then AWS's word that the
 *                        execution or task has ended ends the run cancelled(replaced) (here, from the
 *                        events function, or a later sweep's Describe). Not found once the hand-off is
 *                        recorded: nothing runs, it ends now. A look at AWS that fails, or a task still
 *                        stopping: looked at again in a minute. Still not ended `STOP_PATIENCE_MS` after
 *                        the stop: the run ends cancelled(replaced), and the replacement it held is
 *                        recorded skipped(overlap) instead of starting beside it.
 *   completion: async    the worker is told at its next heartbeat (the answer is refused `cancelled`),
 *                        which ends the run; a worker silent past its heartbeat deadline (or a run past its
 *                        maxRunDuration) is taken to have stopped, as an attempt declared lost is.
 *
 * The replacement starts only once the run has ended (endRun releases it), so never two runs of the job
 * are in the target at once but for a worker that goes on after it was told, or silent, to stop.
 */
export async function stopReplaced(
  deps: CompletionDeps,
  run: RunItem,
  now: number,
): Promise<AsyncSweepOutcome> {
  const type = run.definition.target.type;
  const ended = (how: string, condition?: { extraCondition: string; extraValues: Record<string, unknown> }) =>
    endReplaced(deps, run, now, how, condition ? { condition } : {}).then(
      (done): AsyncSweepOutcome => (done ? 'reported' : 'moved'),
    );
  if (type === 'stepfunctions' || type === 'ecs') {
    // An executor without a look at AWS leaves the stop to the sweep, at once.
    if (!stoppable(deps, run)) return lookAgain(deps, run, now, now);
    const since = run.stopRequestedAt ? Date.parse(run.stopRequestedAt) : now;
    const waitOn = async () => {
      if (now - since < STOP_PATIENCE_MS) {
        const outcome = await lookAgain(deps, run, now, now + STOP_CHECK_MS);
        return outcome === 'waiting' ? 'stopping' : outcome;
      }
      return giveUpReplace(deps, run, now, since);
    };
    let external = await askExternal(deps, run, now, {
      stop: replacedText(run),
      stopError: 'punctual.Replaced',
    });
    // StopExecution ends an execution at once (ABORTED): a second look finds it ended, and the
    // replacement starts now rather than at the next sweep. A task takes its stopTimeout.
    if (type === 'stepfunctions' && 'report' in external && external.report?.type === 'heartbeat')
      external = await askExternal(deps, run, now);
    if ('failed' in external) return waitOn();
    if (external.report && external.report.type !== 'heartbeat') {
      const result = await reportCompletion(deps, external.report, now);
      return result.ok ? 'reported' : 'moved';
    }
    if (external.report) return waitOn();
    // Not found: nothing of the attempt runs, unless its executor is still between the start's write and
    // StartExecution / RunTask (it may yet create it): then look again when its lease is over.
    if (run.leaseUntil && !run.lastHeartbeatAt && Date.parse(run.leaseUntil) > now) {
      const outcome = await lookAgain(deps, run, now, Date.parse(run.leaseUntil));
      return outcome === 'waiting' ? 'stopping' : outcome;
    }
    return ended('AWS knows no execution or task of its attempt (nothing to stop)');
  }
  const heartbeatDeadline = Date.parse(run.heartbeatDeadline ?? iso(now));
  const runDeadline = Date.parse(run.runDeadline ?? iso(now));
  if (now >= runDeadline) return ended(`${timeoutText(run)} before its worker heard of the replacement`);
  if (now >= heartbeatDeadline) {
    const bound = run.heartbeatTimeout ?? JOB_DEFAULTS.heartbeatTimeout;
    // Conditional on the deadline judged here: a heartbeat that lands meanwhile is the worker's notice.
    return ended(
      `no heartbeat for ${formatDuration(bound)} (last ${run.lastHeartbeatAt ?? 'at the hand-off'}): its worker is taken to have stopped`,
      run.heartbeatDeadline
        ? { extraCondition: 'heartbeatDeadline = :judged', extraValues: { ':judged': run.heartbeatDeadline } }
        : undefined,
    );
  }
  const outcome = await lookAgain(deps, run, now, Math.min(heartbeatDeadline, runDeadline));
  return outcome === 'waiting' ? 'stopping' : outcome;
}

/**
 * A replaced run whose execution or task AWS has not confirmed ended `STOP_PATIENCE_MS` after the stop:
 * its replacement must not start beside it, so the replacement is recorded skipped(overlap) first; then
 * the run ends cancelled(replaced), the error saying it could not be confirmed stopped.
 */
async function giveUpReplace(
  deps: CompletionDeps,
  run: RunItem,
  now: number,
  since: number,
): Promise<AsyncSweepOutcome> {
  const replacement = run.replacedBy ? await deps.store.getRun(run.replacedBy) : undefined;
  if (replacement && (replacement.status === 'queued' || replacement.status === 'dispatched')) {
    const skipped = await endRun(deps, replacement, 'skipped', 'overlap', now, {
      from: ['queued', 'dispatched'],
      error: `the run it replaces, ${run.runId}, could not be confirmed stopped ${formatDuration(now - since)} after the stop; not started beside it`,
    });
    if (skipped) await deps.store.releaseHeld(run.jobId, replacement.runId);
  }
  const done = await endReplaced(
    deps,
    run,
    now,
    `still running ${formatDuration(now - since)} after it was stopped; its replacement was not started`,
  );
  return done ? 'failed' : 'moved';
}

/** The body of a message on the completions queue: `{ runId, token, type, output | error }`. */
const completionMessage = z.strictObject({
  runId: z.string().min(3).max(300),
  token: z.string().min(16).max(200),
  type: z.enum(['heartbeat', 'complete', 'fail']),
  output: z.unknown().optional(),
  error: z.string().max(10_000).optional(),
});

/**
 * Parses a completions-queue message, or says which field is wrong and why. The error never quotes the
 * token (its type and length only) nor the text of a body that is not JSON (which may hold one): it is
 * logged and kept in the queue's DLQ.
 */
export function parseCompletionMessage(
  body: string,
): { ok: true; report: CompletionReport } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    // JSON.parse's message quotes the text around the error: it may be the token.
    return { ok: false, error: `body: not JSON (${Buffer.byteLength(body)} bytes, not quoted)` };
  }
  const parsed = completionMessage.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') || '(body)';
    const field = issue?.path.length
      ? (value as Record<string, unknown> | null)?.[String(issue.path[0])]
      : undefined;
    const given =
      field === undefined
        ? undefined
        : issue?.path[0] === 'token'
          ? `(${typeof field === 'string' ? `a string of ${field.length} characters` : typeof field}, not quoted)`
          : preview(field, 80);
    return {
      ok: false,
      error: `${path}${given !== undefined ? ` ${given}` : ''}: ${issue?.message ?? 'invalid'} (a completion message is { runId, token, type: heartbeat|complete|fail, output?, error? })`,
    };
  }
  const { output, error, ...rest } = parsed.data;
  return {
    ok: true,
    report: {
      ...rest,
      ...(output !== undefined ? { output } : {}),
      ...(error !== undefined ? { error } : {}),
    },
  };
}

/**
 * What the completions function keeps of a message it cannot parse, in the completions queue's DLQ instead
 * of the message itself: why, its size and digest, and its fields (bounded) with the token's value left
 * out. A body that is not JSON keeps no text at all (where a token sits in it is unknown).
 */
export function malformedRecord(body: string, error: string): string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    value = undefined;
  }
  const fields =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(
          Object.entries(value).map(([key, v]) => [
            key,
            key === 'token'
              ? `(not kept: ${typeof v === 'string' ? `${v.length} characters` : typeof v})`
              : v,
          ]),
        )
      : undefined;
  return JSON.stringify({
    malformed: error,
    bytes: Buffer.byteLength(body),
    sha256: createHash('sha256').update(body).digest('hex'),
    ...(fields ? { fields: preview(fields, 4000) } : {}),
  });
}

/** Shown by `runs show` / `jobs get`: how long ago the last heartbeat came. */
export function heartbeatAge(run: Pick<RunItem, 'lastHeartbeatAt'>, now: number): number | undefined {
  return run.lastHeartbeatAt ? now - Date.parse(run.lastHeartbeatAt) : undefined;
}
