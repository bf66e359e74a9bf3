/**
 * The DynamoDB data model: one table, readable in the console.
 *
 *   pk = JOB#<jobId>   sk = JOB                      the job: definition + scheduling state
 *   pk = JOB#<jobId>   sk = RUN#<ISO time>[#manual]  one run record per slot (or manual trigger)
 *   pk = JOB#<jobId>   sk = DEF#<definitionId>         a definition with its payload, immutable (below)
 *
 * A job with a payload keeps its definition *without* the payload on the job item and on its run records,
 * which are written several times a fire; the whole definition is written once per edit to an immutable
 * definition item named by a hash of its content (`definitionId`), which job and runs reference. The
 * executor reads it when it builds the run context (and keeps it: it never changes). Items written before
 * this (no `definitionId`, payload inline) are read as they are.
 *
 * Two sparse GSIs:
 *   due   (dueShard, dueAt)   — present on a job only while it is enabled, valid and has a next slot.
 *                              The tick queries `dueAt <= horizon` with no lower bound, so an overdue job
 *                              is always found again. `dueAt` is a lower bound of the job's next slot,
 *                              not always the slot itself: a job that fires every few minutes keeps its
 *                              key for up to an hour (`dueKeyKept`), since moving it costs two index
 *                              writes a fire; the tick reads the item and leaves alone a job not yet due.
 *   open  (openShard, openUntil) — present on a run only while it is not terminal; `openUntil` is when
 *                              the sweep should look at it if nothing else has (delivery overdue, lease
 *                              expired, retry overdue, held run past its deadline).
 * Shards (`hash(jobId) mod N`) spread both indexes over partitions.
 * Times are ISO-8601 UTC strings with milliseconds (`toISOString()`), so they sort as text.
 */
import { createHash } from 'node:crypto';
import type { JobDefinition } from '../jobs/types.js';

export const DUE_INDEX = 'due';
export const OPEN_INDEX = 'open';
export const DEFAULT_SHARDS = 4;
/** Run records (and the TTL attribute `expiresAt`, epoch seconds) are kept 30 days by default. */
export const DEFAULT_RETENTION_DAYS = 30;

export type RunStatus =
  | 'dispatched'
  | 'queued'
  | 'running'
  | 'retrying'
  | 'succeeded'
  | 'failed'
  | 'missed'
  | 'skipped'
  | 'cancelled';

export const TERMINAL_STATUSES: readonly RunStatus[] = [
  'succeeded',
  'failed',
  'missed',
  'skipped',
  'cancelled',
];
export const OPEN_STATUSES: readonly RunStatus[] = ['dispatched', 'queued', 'running', 'retrying'];

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/**
 * Why a run ended the way it did. docs/jobs.md "Run statuses and reasons" explains each one.
 */
export type RunReason =
  | 'ok'
  | 'error'
  | 'timeout'
  | 'lost'
  | 'coalesced'
  | 'catch-up-limit'
  | 'catch-up-skip'
  | 'deadline'
  | 'overlap'
  | 'paused'
  | 'job-paused'
  | 'job-deleted'
  /** The local runtime calls no AWS target unless told to (`punctual dev --aws-targets`). */
  | 'aws-targets-off'
  /** The job's `maxRuns` scheduled runs had started: a slot claimed before the limit was reached. */
  | 'max-runs'
  /** An exclusion calendar the job lists excludes the slot (the run record's `calendar` names it). */
  | 'calendar'
  /** Overlap `replace`: a later slot of the job stopped this run (the run record's `replacedBy` names it). */
  | 'replaced';

/** A range of past slots to record without running them, with the schedule that names them. */
export interface DeferredRecords {
  after: string;
  until: string;
  status: 'missed' | 'skipped';
  reason: RunReason;
  /**
   * The schedule the range was cut from (a later edit of the job must not change which slots it holds).
   * ISO anchor/startAt/endAt, as in the job item.
   */
  schedule: {
    expression: string | string[];
    timezone: string;
    anchor: string;
    startAt?: string;
    endAt?: string;
  };
  /**
   * The job's `exclude` when a catch-up backlog was cut into this range (missed ranges only): a slot one of
   * these calendars excludes, as the calendar is when the tick writes the record, is recorded
   * skipped(calendar) naming it instead of the range's missed(reason). Absent: none.
   */
  exclude?: string[];
}

/** Most pending ranges of records a job carries (docs/data-model.md "How big an item gets"). */
export const MAX_DEFERRED_RANGES = 16;

/**
 * Merges pending ranges that record the same thing (status, reason, schedule) into one spanning both.
 * Safe: the slots between two such ranges were handled by ticks in between (each has its record), and a
 * record is written only where none exists, so spanning them writes nothing twice.
 */
export function mergeDeferred(ranges: DeferredRecords[]): DeferredRecords[] {
  const merged: DeferredRecords[] = [];
  for (const range of ranges) {
    const same = merged.find(
      (other) =>
        other.status === range.status &&
        other.reason === range.reason &&
        JSON.stringify(other.schedule) === JSON.stringify(range.schedule) &&
        JSON.stringify(other.exclude ?? []) === JSON.stringify(range.exclude ?? []),
    );
    if (!same) merged.push({ ...range });
    else {
      if (range.after < same.after) same.after = range.after;
      if (range.until > same.until) same.until = range.until;
    }
  }
  return merged;
}

/** The immutable definition item: `JOB#<jobId> / DEF#<definitionId>`, the whole definition (payload included). */
export interface DefinitionItem {
  pk: string;
  sk: string;
  type: 'definition';
  jobId: string;
  definitionId: string;
  definition: JobDefinition;
  createdAt: string;
  /**
   * TTL (epoch seconds), set when the job stops referencing the item (an edit to another definition, a
   * delete): past the expiry of every run record that references it. Absent while the job references it.
   */
  expiresAt?: number;
}

/**
 * The format of the items (job, run, definition) this build reads and writes. An item without `format`
 * is format 1. A later build that writes what this one would misread (a payload moved elsewhere, a field
 * whose absence means something else) sets a higher `format` on those items, and this build refuses them
 * (`FormatTooNewError`: the message comes again, for an executor of the new build) instead of acting on
 * half of it — never a `payload: null` delivered to a target during a deploy.
 */
export const ITEM_FORMAT = 1;

/** An item or message written by a newer build than this one reads. */
export class FormatTooNewError extends Error {
  constructor(what: string, format: number, known: number) {
    super(
      `${what} has format ${format}; this build reads up to ${known}: left for a newer build (the message comes again)`,
    );
    this.name = 'FormatTooNewError';
  }
}

/** Throws `FormatTooNewError` when `item` (a job, run or definition item) is of a newer format. */
export function assertReadable(what: string, item: object | undefined): void {
  const format = (item as { format?: unknown } | undefined)?.format;
  if (typeof format === 'number' && format > ITEM_FORMAT)
    throw new FormatTooNewError(what, format, ITEM_FORMAT);
}

export function definitionKey(jobId: string, definitionId: string): { pk: string; sk: string } {
  return { pk: `JOB#${jobId}`, sk: `DEF#${definitionId}` };
}

/** A definition's content address: the first 16 hex digits of SHA-256 of its JSON. */
export function definitionIdOf(definition: JobDefinition): string {
  return createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 16);
}

/** The definition as job items and run records keep it when it has its own item: without the payload. */
export function withoutPayload(definition: JobDefinition): JobDefinition {
  const { payload: _payload, ...rest } = definition;
  return rest as JobDefinition;
}

/**
 * The definition fields of a run record of `job`: the definition without its payload and the reference
 * to the definition item when the job has one; the whole definition otherwise (items of older versions).
 */
export function runDefinition(
  job: Pick<JobItem, 'definitionId' | 'incarnation'>,
  definition: JobDefinition,
): Pick<RunItem, 'definition' | 'definitionId' | 'incarnation'> {
  const incarnation = job.incarnation ? { incarnation: job.incarnation } : {};
  return job.definitionId
    ? { definition: withoutPayload(definition), definitionId: job.definitionId, ...incarnation }
    : { definition, ...incarnation };
}

/**
 * Whether a run belongs to the job item as it is now: a run of a job deleted and created again under the
 * same id carries the old item's `incarnation` and never starts on, nor ends on, the new one. A run or a
 * job written before incarnations existed counts as the job's own.
 */
export function sameIncarnation(
  run: Pick<RunItem, 'incarnation'>,
  job: { incarnation?: unknown } | undefined,
): boolean {
  return (
    run.incarnation === undefined || job?.incarnation === undefined || job.incarnation === run.incarnation
  );
}

export interface Lease {
  token: string;
  until: string;
}

export interface LastOutcome {
  runId: string;
  /** `runId#attempt`: makes recording an outcome idempotent (an SDK retry of the write counts once). */
  key?: string;
  status: RunStatus;
  reason?: RunReason;
  scheduledAt: string;
  startLagMs?: number;
  at: string;
}

/**
 * The job's last scheduled run that started and ended (succeeded or failed), kept on the job item by the
 * run's end and handed to the next run's target as `previous` (README, "The previous run").
 */
export interface PreviousRun {
  runId: string;
  scheduledAt: string;
  status: RunStatus;
  reason?: RunReason;
  finishedAt: string;
  /** An asynchronous completion's output, when its JSON has at most PREVIOUS_OUTPUT_BYTES bytes. */
  output?: unknown;
  /** The output was larger: its size; the run record keeps it (`punctual runs show`, `client.getRun`). */
  outputBytes?: number;
}

/**
 * Most bytes of JSON of an output the job item carries for the next run: the job item is written three
 * or four times a fire, and every KB on it costs a write unit on each of those writes.
 */
export const PREVIOUS_OUTPUT_BYTES = 1_024;

/**
 * `lastRun` as the job item keeps it: a scheduled run's id is `jobId@scheduledAt`, so the item does not
 * repeat it (every byte of the job item is paid on each of its 3–4 writes a fire, and a write is billed
 * by the KB). Items written before this carry `runId`, which is read as it is.
 */
export type StoredPreviousRun = Omit<PreviousRun, 'runId'> & { runId?: string };

/** A previous run as the job item stores it. */
export function storedPreviousRun(run: PreviousRun): StoredPreviousRun {
  const { runId: _derived, ...stored } = run;
  return stored;
}

/** `lastRun` of a job item as the executor hands it on; undefined when absent or not of that shape. */
export function previousRunOf(raw: unknown, jobId: string): PreviousRun | undefined {
  const r = raw as Partial<PreviousRun> | null | undefined;
  if (!r || typeof r !== 'object' || typeof r.status !== 'string') return undefined;
  if (!isIsoTime(r.scheduledAt) || !isIsoTime(r.finishedAt)) return undefined;
  return {
    runId: typeof r.runId === 'string' ? r.runId : runIdFor(jobId, Date.parse(r.scheduledAt)),
    scheduledAt: r.scheduledAt,
    status: r.status,
    ...(typeof r.reason === 'string' ? { reason: r.reason } : {}),
    finishedAt: r.finishedAt,
    ...(r.output !== undefined ? { output: r.output } : {}),
    ...(typeof r.outputBytes === 'number' ? { outputBytes: r.outputBytes } : {}),
  };
}

/** The job item: what the user declared plus what the scheduler tracks. */
export interface JobItem {
  pk: string;
  sk: 'JOB';
  type: 'job';
  jobId: string;
  /** Without the payload when `definitionId` is set (the definition item has it). */
  definition: JobDefinition;
  /** The definition item holding the whole definition (absent: no payload, or an item of an older version). */
  definitionId?: string;
  /**
   * Random, set when the job is created and kept by every edit: a job deleted and created again under
   * the same id is another incarnation, and its predecessor's runs (which carry theirs) never start on
   * it nor record their end on it. Absent on items written before it existed.
   */
  incarnation?: string;
  /** Rate schedules count slots from here; kept across edits unless the schedule changes. */
  anchor: string;
  /** The last slot the tick has handled (dispatched or recorded); slots after it are still to come. */
  cursor: string;
  /** The next slot after `cursor`; absent when the schedule has ended. */
  nextRunAt?: string;
  /** Due index keys: set only while the job is enabled, valid and has a next slot. */
  dueShard?: number;
  dueAt?: string;
  version: number;
  enabled: boolean;
  note?: string;
  pausedAt?: string;
  /**
   * The last pause, set on resume: a scheduled run whose slot fell inside it is cancelled(job-paused) even
   * when its message arrives after the resume; every slot after the resume runs.
   */
  lastPause?: { from: string; to: string };
  lease?: Lease;
  /**
   * Run ids started and not yet ended, of overlap skip/queue only (overlap control): at most RUNNING_MAX.
   * Runs of overlap allow are not tracked on the job.
   */
  running?: Set<string>;
  /**
   * Set (to the edit's time) by an edit from overlap `allow` to `skip`/`queue`: runs started under `allow`
   * may still be in flight, not in `running`. While it is there every start that `running` would track is
   * refused; `adoptUntracked` (runs.ts) adds those runs to `running` and removes it in one write.
   */
  untrackedRuns?: string;
  /** With overlap `queue`: the run held until the running one ends (at most one). */
  held?: string;
  /**
   * Slots in (after, until] still to be recorded with `status(reason)`, a page per tick, behind the
   * cursor: the slots that passed while the job was paused, or a catch-up backlog too long for one tick.
   * The cursor has already moved past them, so the job keeps running on time while they are written.
   */
  deferred?: DeferredRecords[];
  lastOutcome?: LastOutcome;
  /** Scheduled runs started (first attempts), counted only for a job with `maxRuns`. */
  runsStarted?: number;
  /** The last scheduled run that started and ended: the next run's `previous`. */
  lastRun?: StoredPreviousRun;
  consecutiveFailures: number;
  /** Runs by terminal status, kept by the executor and the tick. */
  counts?: Partial<Record<RunStatus, number>>;
  /** Set when the stored item or its schedule cannot be read; the job is out of the due index. */
  invalid?: { error: string; at: string };
  createdAt: string;
  updatedAt: string;
}

export interface AttemptRecord {
  attempt: number;
  startedAt: string;
  finishedAt?: string;
  status: 'running' | 'succeeded' | 'failed' | 'lost';
  error?: string;
  durationMs?: number;
  /**
   * Asynchronous completion: SHA-256 of the attempt's completion token (the token itself is only in the
   * run context the target received), so a report with an older attempt's token is recognised.
   */
  tokenHash?: string;
  /** The worker's own report that ended this attempt (a repeat of it is idempotent). */
  report?: 'complete' | 'fail';
  /** Reports that arrived after the attempt had ended otherwise (lost, timeout): kept, changed nothing. */
  lateReports?: LateReport[];
}

/** A completion report that came after its attempt had ended. */
export interface LateReport {
  type: 'heartbeat' | 'complete' | 'fail';
  at: string;
  error?: string;
}

/** Late reports an attempt record keeps. */
export const LATE_REPORTS_KEPT = 3;

export interface LateOutcome {
  attempt: number;
  status: 'succeeded' | 'failed';
  at: string;
  error?: string;
}

/**
 * Most run ids a job's `running` set holds. Only runs of overlap skip/queue are tracked there (allow needs
 * no membership: run records are the source of truth); a scheduled one holds the job alone, and operator
 * runs (manual, backfill, replay) beyond this many wait their turn. At ≤ 160 bytes a run id (a job id is
 * at most 128), the set stays under 5.2 KB (docs/data-model.md "How big an item gets").
 */
export const RUNNING_MAX = 32;

/** Attempts a run record keeps: the first and the last nine (the rest are counted, not kept). */
export const ATTEMPTS_KEPT = 10;
/** Late outcomes a run record keeps. */
export const LATE_OUTCOMES_KEPT = 3;
/** Characters of an error kept on an attempt, a late outcome and `lastError`. */
export const ERROR_CHARS = 1_000;

/** A run record: the fate of one slot (or manual trigger). The source of truth, not the queue. */
export interface RunItem {
  pk: string;
  sk: string;
  type: 'run';
  runId: string;
  jobId: string;
  scheduledAt: string;
  manual?: boolean;
  /** Created by `runs backfill`: a past slot run on purpose, exempt from the starting deadline and overlap. */
  backfill?: boolean;
  status: RunStatus;
  reason?: RunReason;
  /** skipped(calendar): the exclusion calendar that excluded the slot. */
  calendar?: string;
  /**
   * The definition the slot was claimed with (SPEC §4: editing a job never changes claimed slots); without
   * its payload when `definitionId` names the definition item that holds it.
   */
  definition: JobDefinition;
  definitionId?: string;
  /** The `incarnation` of the job item the run was created from (absent on older records). */
  incarnation?: string;
  jobVersion: number;
  /** The attempt in progress or last made (0 before the first start). */
  attempt: number;
  /**
   * The history of attempts, bounded (docs/data-model.md "How big an item gets"): the first attempt and the last
   * `ATTEMPTS_KEPT − 1`; `attemptsDropped` counts the ones in between that were let go.
   */
  attempts: AttemptRecord[];
  attemptsDropped?: number;
  /**
   * Outcomes an executor reported after its attempt had been taken over (declared lost by the sweep):
   * kept for the record, the last few only.
   */
  lateOutcomes?: LateOutcome[];
  dispatchedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  nextAttemptAt?: string;
  lastError?: string;
  /** Running lease: a run still `running` after this is taken to be lost. */
  leaseUntil?: string;
  /**
   * Asynchronous completion (docs/jobs.md "Runs that outlive a Lambda"). Set when an attempt of an async target
   * starts, on the run itself so the sweep and the reports need no definition: the current attempt's
   * token hash, its heartbeat timeout (ms), the time by which the next heartbeat must come and the time
   * by which the attempt must end (`maxRunDuration` after its start).
   */
  completionTokenHash?: string;
  heartbeatTimeout?: number;
  heartbeatDeadline?: string;
  runDeadline?: string;
  lastHeartbeatAt?: string;
  /**
   * When the sweep asked AWS to stop this stepfunctions/ecs attempt (StopExecution / StopTask) because it
   * ran past `runDeadline`: the attempt stays `running` until AWS says it has ended, so that its retry
   * never runs beside it.
   */
  stopRequestedAt?: string;
  /**
   * Overlap `replace`: the run of a later slot that replaces this one. Set (once) while this run is still
   * running; from then on whatever ends it — AWS's word that the execution or task stopped, the worker's
   * next heartbeat (which answers that the run was replaced), its report, or its heartbeat deadline — ends
   * it `cancelled(replaced)`, and only then does the replacement start.
   */
  replacedBy?: string;
  /** What the worker's `complete` report carried (JSON, bounded). */
  output?: unknown;
  replays?: number;
  /**
   * Set when a failed run's message is copied to its DLQ, and carried by that message: a replay message
   * reopens a failed run only with it, so only a redrive of the DLQ entry (the operator's) can, not a
   * message someone else forges on the pool queue (docs/security.md). Random, 128 bits.
   */
  redriveToken?: string;
  /** How often the sweep has re-sent this run's message. */
  resends?: number;
  /** Attempts made before the last replay: the retry budget counts from here. */
  attemptBase?: number;
  openShard?: string;
  openUntil?: string;
  expiresAt: number;
  createdAt: string;
  updatedAt: string;
}

/** How far a kept due key may lag behind the job's next slot. */
export const DUE_KEY_SPAN_MS = 60 * 60_000;
/**
 * The longest step between two slots for which the key is kept: each tick in between reads the job
 * (½ read unit) to find it not due, which pays for itself against the key's 2 write units a fire only
 * while the job is due most minutes (at a 5-minute period: 4 reads, $0.25, against $1.04 of writes, per
 * million fires).
 */
export const DUE_KEY_MAX_STEP_MS = 5 * 60_000;

/**
 * Why `prefix` cannot scope job ids, or undefined: what a job id may start with (lower-case letters,
 * digits, `-`, `_`, `.`), 1–64 characters, so that it is also a literal IAM `StringLike` pattern (no `*`, `?`).
 */
export function jobIdPrefixProblem(prefix: string): string | undefined {
  return /^[a-z0-9][a-z0-9\-_.]{0,63}$/.test(prefix)
    ? undefined
    : 'must be the start of a job id: 1 to 64 of a-z, 0-9, "-", "_", ".", starting with a letter or digit (e.g. "billing-")';
}

/**
 * Whether an advance from `previousNext` to `next` may leave the job's due key where it is: the key is
 * still a lower bound of `next` (it never is later than the slot, or the job would be found late), within
 * `DUE_KEY_SPAN_MS` of it, in the shard the job belongs to, and the job steps by at most
 * `DUE_KEY_MAX_STEP_MS`. Otherwise the key moves to `next`.
 */
export function dueKeyKept(
  key: { dueAt?: string; dueShard?: number },
  shard: number,
  previousNext: string | undefined,
  next: number,
): boolean {
  if (key.dueAt === undefined || key.dueShard !== shard || previousNext === undefined) return false;
  const kept = Date.parse(key.dueAt);
  const step = next - Date.parse(previousNext);
  return kept <= next && next - kept <= DUE_KEY_SPAN_MS && step >= 0 && step <= DUE_KEY_MAX_STEP_MS;
}

export function jobKey(jobId: string): { pk: string; sk: 'JOB' } {
  return { pk: `JOB#${jobId}`, sk: 'JOB' };
}

/** Run id `jobId@<ISO>` (scheduled) or `jobId@manual-<ISO>` (manual trigger): the idempotency key. */
export function runIdFor(jobId: string, scheduledAt: number, manual = false): string {
  const iso = new Date(scheduledAt).toISOString();
  return manual ? `${jobId}@manual-${iso}` : `${jobId}@${iso}`;
}

export interface ParsedRunId {
  jobId: string;
  scheduledAt: string;
  manual: boolean;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** An ISO-8601 UTC time as the table stores them (`…Z`, milliseconds optional) that names a real instant. */
export function isIsoTime(value: unknown): value is string {
  return typeof value === 'string' && ISO_UTC.test(value) && !Number.isNaN(Date.parse(value));
}

export function parseRunId(runId: string): ParsedRunId | undefined {
  const at = runId.lastIndexOf('@');
  if (at <= 0) return undefined;
  const jobId = runId.slice(0, at);
  let rest = runId.slice(at + 1);
  const manual = rest.startsWith('manual-');
  if (manual) rest = rest.slice('manual-'.length);
  if (!ISO.test(rest) || Number.isNaN(Date.parse(rest))) return undefined;
  return { jobId, scheduledAt: rest, manual };
}

export function runKey(runId: string): { pk: string; sk: string } | undefined {
  const parsed = parseRunId(runId);
  if (!parsed) return undefined;
  return { pk: `JOB#${parsed.jobId}`, sk: `RUN#${parsed.scheduledAt}${parsed.manual ? '#manual' : ''}` };
}

/** Stable shard of a job: the first 4 bytes of SHA-1(jobId) mod shards. */
export function shardOf(jobId: string, shards: number): number {
  return createHash('sha1').update(jobId).digest().readUInt32BE(0) % shards;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Whether the starting deadline and the overlap policy apply to a run's first attempt: they guard the
 * schedule, so they apply to scheduled slots, not to runs an operator asked for (manual, backfill, replay).
 */
export function isScheduledRun(run: Pick<RunItem, 'manual' | 'backfill' | 'replays'>): boolean {
  return !run.manual && !run.backfill && !run.replays;
}
