/**
 * The model: what the program did (operations acknowledged, with their times), what the targets saw
 * (every invocation), and the invariants of issue 10 checked against the real table after every step and
 * at quiescence. Where the spec determines an outcome the check is exact; where it leaves a choice the
 * check is lenient, and the comment at the check says which choice and why.
 */
import { STOP_PATIENCE_MS } from '../../shared/runs/completion.js';
import { isTerminal, type JobItem, type RunItem } from '../../shared/store/model.js';
import { itemBytes } from './size.js';
import {
  HEARTBEAT_TIMEOUT_MS,
  type Invocation,
  MAX_RUN_DURATION_MS,
  MODEL_TICK,
  type TargetKind,
  type TargetMode,
  targetOf,
} from './system.js';

/** DynamoDB's item limit, 400 KB including attribute names (ServiceQuotas: "Item size"). */
export const ITEM_LIMIT_BYTES = 409_600;
/**
 * The documented bounds (docs/data-model.md "How big an item gets"): a job item under 120 KB, a run record
 * at most ≈ 114 KB however often it is retried or replayed, the running set at most 32 run ids
 * (RUNNING_MAX), at most 16 deferred ranges.
 */
export const JOB_ITEM_BOUND_BYTES = 120_000;
export const RUN_RECORD_BOUND_BYTES = 114_000;
export const RUNNING_BOUND = 32;
/** Largest skew a program gives an actor's clock, ms. */
export const MAX_SKEW_MS = 2_000;
/** Slots within this much of an edit, create or resume may legitimately be handled by either side. */
export const BAND_MS = MODEL_TICK.lookaheadMs + MAX_SKEW_MS + 1_000;

export interface JobSpec {
  id: string;
  periodS: number;
  overlap: 'allow' | 'skip' | 'queue' | 'replace';
  catchUp: 'skip' | 'latest' | 'all';
  maxCatchUp: number;
  maxAttempts: number;
  startingDeadlineS: number;
  mode: TargetMode;
  /** A payload of this many KiB (the record-size defect needs big ones). */
  payloadKiB: number;
  /** Created in the setup (true) or by a `put` of the program. */
  initial: boolean;
  /** Where its runs go: the harness's handler, or an asynchronous worker, execution or task. */
  target?: TargetKind;
  /** Issue 20 feature 3: a second expression, `rate(extraPeriodS seconds)` on the same anchor. */
  extraPeriodS?: number | undefined;
  /** Issue 20 feature 4: at most this many scheduled runs start; the job ends after the last. */
  maxRuns?: number | undefined;
  /** Issue 20 feature 2: the job excludes MODEL_CALENDAR (`excludedSlot` says which slots). */
  exclude?: boolean | undefined;
  /** Issue 20 feature 4 (with maxRuns): the job deletes itself once its last run has a final fate. */
  afterLastRun?: 'delete' | undefined;
}

/**
 * The exclusion calendar of the model (issue 20 feature 2): a range of its first half minute and every
 * minute whose number is 1 mod 3 (`cron(1/3 * * * ? *)`, to the minute), in UTC.
 */
export const MODEL_CALENDAR = {
  name: 'model-off',
  input: {
    timezone: 'UTC',
    ranges: [{ from: '2026-12-01T00:00:20', to: '2026-12-01T00:00:30' }],
    cron: ['cron(1/3 * * * ? *)'],
  },
} as const;

/** Whether MODEL_CALENDAR excludes `slot`: worked out here, not by the calendar code under test. */
export function excludedSlot(slot: number): boolean {
  const start = Date.parse('2026-12-01T00:00:20Z');
  return (slot >= start && slot < start + 10_000) || new Date(slot).getUTCMinutes() % 3 === 1;
}

/** The job's `schedule`: one rate, or (with a second expression) the list of both, whose slots are the union. */
export function scheduleOf(spec: JobSpec, periodS: number): string | string[] {
  const rate = (s: number) => `rate(${s} ${s === 1 ? 'second' : 'seconds'})`;
  return spec.extraPeriodS === undefined ? rate(periodS) : [rate(periodS), rate(spec.extraPeriodS)];
}

/** The periods of a grid (an epoch, a backfill window): the union of a job's expressions. */
function periodsOf(grid: { periodMs: number; extraPeriodMs?: number | undefined }): number[] {
  return grid.extraPeriodMs === undefined ? [grid.periodMs] : [grid.periodMs, grid.extraPeriodMs];
}

/** Whether `slot` is a slot of the grid (any of its expressions, from its anchor). */
export function onGrid(
  grid: { anchor: number; periodMs: number; extraPeriodMs?: number | undefined },
  slot: number,
): boolean {
  return slot >= grid.anchor && periodsOf(grid).some((period) => (slot - grid.anchor) % period === 0);
}

/** The grid's slots in [from, to], ascending, deduplicated (two expressions naming one instant: one slot). */
export function gridSlots(
  grid: { anchor: number; periodMs: number; extraPeriodMs?: number | undefined },
  from: number,
  to: number,
): number[] {
  const slots = new Set<number>();
  for (const period of periodsOf(grid)) {
    // k may be negative: a backfill extends the grid before the anchor.
    const first = grid.anchor + Math.ceil((from - grid.anchor) / period) * period;
    for (let slot = first; slot <= to; slot += period) slots.add(slot);
  }
  return [...slots].sort((a, b) => a - b);
}

export function jobInput(
  spec: JobSpec,
  periodS = spec.periodS,
  edit = 0,
  overlap: JobSpec['overlap'] = spec.overlap,
): Record<string, unknown> {
  const kind = spec.target ?? 'sync';
  return {
    id: spec.id,
    schedule: scheduleOf(spec, periodS),
    target: targetOf(kind),
    ...(kind === 'sync'
      ? {}
      : {
          heartbeatTimeout: `${HEARTBEAT_TIMEOUT_MS / 1000}s`,
          maxRunDuration: `${MAX_RUN_DURATION_MS / 1000}s`,
        }),
    overlap,
    catchUp: spec.catchUp,
    maxCatchUp: spec.maxCatchUp,
    startingDeadline: `${spec.startingDeadlineS}s`,
    retry: { maxAttempts: spec.maxAttempts, backoff: '1s' },
    payload: { edit, pad: 'p'.repeat(spec.payloadKiB * 1024) },
    ...(spec.maxRuns !== undefined ? { maxRuns: spec.maxRuns } : {}),
    ...(spec.exclude ? { exclude: [MODEL_CALENDAR.name] } : {}),
    ...(spec.afterLastRun && spec.maxRuns !== undefined ? { afterLastRun: spec.afterLastRun } : {}),
  };
}

/** A rate schedule epoch: between two re-anchoring puts. */
export interface Epoch {
  periodMs: number;
  /** The second expression's period, for a job with two (JobSpec.extraPeriodS). */
  extraPeriodMs?: number | undefined;
  anchor: number;
  /** True time the put that began it was acknowledged (the epoch is known from then). */
  calledAt: number;
  /** True time that put was called (before its write; a stepwise put may be suspended until its ack). */
  opCalledAt?: number;
  /** The cursor read just before the put that ended it was called (slots up to it were handled). */
  endCursor?: number;
  endCalledAt?: number;
}

/** An operation's call and acknowledgement: true times, and logical order (several share one instant). */
export interface Span {
  calledAt: number;
  callSeq: number;
  ackedAt?: number;
  ackSeq?: number;
  /** The operation's own clock at the call (skewed). */
  localAt?: number;
  replay?: boolean;
  /** A resume of a job that was paused (or may have been). */
  effective?: boolean;
}

/**
 * A put's overlap policy (every put writes one: an edit of the payload carries the policy as it was when it
 * was called), with its call and acknowledgement in the program's logical order; `failed`: refused.
 */
export interface PolicyPut {
  overlap: JobSpec['overlap'];
  callSeq: number;
  ackSeq?: number;
  failed?: boolean;
}

export interface JobModel {
  spec: JobSpec;
  created: boolean;
  /** The overlap policy the next put writes (an `overlap` edit toggles allow ↔ skip/queue). */
  overlap: JobSpec['overlap'];
  /** The puts of this incarnation, for the policy timeline (`policyNow`). */
  policyPuts: PolicyPut[];
  epochs: Epoch[];
  pauses: Span[];
  resumes: Span[];
  deleted?: Span;
  /** Cursor read when the last pause / the delete was called (slots up to it were handled). */
  cursorAtPause?: number;
  cursorAtDelete?: number;
  /** Acknowledged backfill windows [from, to), with the grid they were cut from. */
  backfills: {
    from: number;
    to: number;
    anchor: number;
    periodMs: number;
    extraPeriodMs?: number | undefined;
  }[];
  triggers: string[];
  /** Replays acknowledged, by run id. */
  replays: Map<string, number>;
  edits: number;
  /** Edits in flight (called, not acknowledged): the schedule may be either. */
  editsInFlight: number;
  /** Incarnations of the job deleted (a run of one of them must never start). */
  deadIncarnations: Set<string>;
  /** Created again after a delete: the old incarnation's epochs (its records stay until they expire). */
  pastEpochs: Epoch[];
  recreated: number;
}

export interface Violation {
  invariant: string;
  detail: string;
}

export class Model {
  readonly jobs = new Map<string, JobModel>();
  readonly violations: Violation[] = [];
  /** True times the program's ticks ran (each claims what is due by its clock). */
  readonly ticks: number[] = [];
  steps = 0;
  private order = 0;

  /** The next number in the program's logical order of calls and acknowledgements. */
  seq(): number {
    return ++this.order;
  }

  constructor(specs: JobSpec[]) {
    for (const spec of specs)
      this.jobs.set(spec.id, {
        spec,
        created: false,
        overlap: spec.overlap,
        policyPuts: [],
        epochs: [],
        pauses: [],
        resumes: [],
        backfills: [],
        triggers: [],
        replays: new Map(),
        edits: 0,
        editsInFlight: 0,
        deadIncarnations: new Set(),
        pastEpochs: [],
        recreated: 0,
      });
  }

  /** Invariants not to fail on (`--ignore`): to look past a known defect for the next one. */
  static ignored = new Set<string>();
  readonly ignoredHits = new Map<string, number>();

  fail(invariant: string, detail: string): void {
    if (Model.ignored.has(invariant)) {
      this.ignoredHits.set(invariant, (this.ignoredHits.get(invariant) ?? 0) + 1);
      return;
    }
    if (this.violations.some((v) => v.invariant === invariant && v.detail === detail)) return;
    this.violations.push({ invariant, detail });
  }

  job(id: string): JobModel {
    return this.jobs.get(id)!;
  }

  /**
   * The overlap policy of the job now, per the puts: the policy of each acknowledged put no other
   * acknowledged put was called after (either may have been linearized last), and of each put in flight
   * (its write may have landed). `strict`: every one is skip/queue/replace; `allow`: every one is allow.
   */
  policyNow(job: JobModel): 'strict' | 'allow' | 'either' {
    const puts = job.policyPuts.filter((put) => !put.failed);
    const acked = puts.filter((put) => put.ackSeq !== undefined);
    const candidates = new Set<string>();
    for (const put of puts)
      if (put.ackSeq === undefined || !acked.some((other) => other.callSeq > put.ackSeq!))
        candidates.add(put.overlap === 'allow' ? 'allow' : 'strict');
    if (candidates.size === 0) return job.overlap === 'allow' ? 'allow' : 'strict';
    return candidates.size > 1 ? 'either' : (candidates.values().next().value as 'strict' | 'allow');
  }

  /** Paused now per the operations acknowledged: a pause acked and no resume called since. */
  paused(job: JobModel): 'yes' | 'no' | 'either' {
    const pause = [...job.pauses].reverse().find((p) => p.ackSeq !== undefined);
    if (!pause) return 'no';
    if (job.resumes.some((r) => r.callSeq > pause.ackSeq!)) return 'no';
    // A resume in flight while the pause ran may land before or after it: both orders are linearizable
    // (a pause of a job that is still paused is a no-op), so either state is right.
    if (job.resumes.some((r) => r.ackSeq === undefined || r.ackSeq > pause.callSeq)) return 'either';
    return 'yes';
  }

  // ---- checked at each target invocation ----

  onInvoke(invocation: Invocation, all: Invocation[], run: RunItem | undefined): void {
    const key = `${invocation.runId}#${invocation.attempt}`;
    const twice = all.filter(
      (other) =>
        other !== invocation && other.runId === invocation.runId && other.attempt === invocation.attempt,
    );
    if (twice.length)
      this.fail(
        'attempt started twice',
        `${key} started again at ${iso(invocation.at)} (first at ${iso(twice[0]!.at)})`,
      );
    // Judged by the executor's own clock: with a skewed clock it cannot know better, and SQS never delivers early.
    if (invocation.localAt < invocation.scheduledAt)
      this.fail('run started before its slot', `${key} at ${iso(invocation.localAt)} (executor clock)`);
    const job = this.jobs.get(invocation.jobId);
    // Whatever the overlap policy, one run is one attempt at a time: a retry (or the sweep's takeover of a
    // lease) while the previous attempt is still in the target is a second start (issue 10 #9).
    const sibling = all.find(
      (o) => o !== invocation && o.runId === invocation.runId && (o.state === 'held' || o.state === 'active'),
    );
    if (sibling)
      this.fail(
        'two attempts of one run in the target at once',
        `${key} started at ${iso(invocation.at)} while attempt ${sibling.attempt} (started ${iso(sibling.at)}) was still in the target`,
      );
    if (invocation.scheduled && job?.spec.exclude && excludedSlot(invocation.scheduledAt))
      this.fail(
        'excluded slot ran',
        `${key} at ${iso(invocation.at)}: ${MODEL_CALENDAR.name} excludes its slot`,
      );
    // The policy the start follows is the job's at that moment (an edit from allow to skip/queue holds
    // for runs claimed before it too; docs/data-model.md): with an edit in flight, either is right.
    invocation.policyAtStart = job
      ? this.policyNow(job)
      : invocation.overlap === 'allow'
        ? 'allow'
        : 'strict';
    if (invocation.scheduled && invocation.policyAtStart === 'strict') {
      // SPEC §4 overlap: skip/queue mean one run of the job in the target at a time, retries included
      // (issue 10 #5), whatever policy the runs in the target started under (runs started under allow
      // before an edit to skip/queue count: the edit waits for them). Manual, backfill and replay runs
      // are outside the overlap policy by design.
      const other = all.find(
        (o) =>
          o !== invocation &&
          o.jobId === invocation.jobId &&
          o.scheduled &&
          (o.state === 'held' || o.state === 'active'),
      );
      if (other)
        this.fail(
          `overlap ${job?.overlap ?? invocation.overlap} broken`,
          `${key} started at ${iso(invocation.at)} while ${other.runId}#${other.attempt} was in the target`,
        );
    }
    if (job?.deleted?.ackSeq !== undefined)
      this.fail(
        'run started after delete',
        `${key} at ${iso(invocation.at)}, job deleted at ${iso(job.deleted.ackedAt!)}`,
      );
    if (job && run?.incarnation && job.deadIncarnations.has(run.incarnation))
      this.fail(
        'run started after delete',
        `${key} at ${iso(invocation.at)}: its job was deleted (incarnation ${run.incarnation}) and created again`,
      );
    if (job && invocation.scheduled && this.paused(job) === 'yes')
      this.fail('run started while paused', `${key} at ${iso(invocation.at)}`);
    if (run && run.status !== 'running')
      this.fail('target invoked for a run not running', `${key}: ${run.status}`);
  }

  // ---- checked after every step ----

  checkState(items: Record<string, unknown>[], invocations: Invocation[]): void {
    const jobs = items.filter((item) => item.type === 'job') as unknown as JobItem[];
    const runs = items.filter((item) => item.type === 'run') as unknown as RunItem[];
    for (const item of items) {
      const bytes = itemBytes(item);
      if (bytes > ITEM_LIMIT_BYTES)
        this.fail('item over 400 KB', `${String(item.pk)} ${String(item.sk)}: ${bytes} B`);
    }
    const slots = new Map<string, string>();
    for (const run of runs) {
      if (run.manual) continue;
      const key = `${run.jobId}@${Date.parse(run.scheduledAt)}`;
      const seen = slots.get(key);
      if (seen && seen !== run.runId) this.fail('two records for one slot', `${seen} and ${run.runId}`);
      slots.set(key, run.runId);
    }
    for (const job of jobs) {
      if (job.enabled === true && job.nextRunAt && !job.invalid && !job.dueAt)
        this.fail('enabled job not in the due index', `${job.jobId}: nextRunAt ${job.nextRunAt}, no dueAt`);
      // The due key is a lower bound of the next slot (a kept key lags behind it), never later: a later key
      // would find the job late.
      if (
        job.enabled === true &&
        !job.deferred?.length &&
        job.dueAt &&
        job.nextRunAt &&
        job.dueAt > job.nextRunAt
      )
        this.fail(
          'due key after the next slot',
          `${job.jobId}: dueAt ${job.dueAt}, nextRunAt ${job.nextRunAt}`,
        );
      // A paused job stays in the due index while it has records to write (docs/jobs.md "Pause / resume"): the tick
      // writes them, sends nothing, then takes it out.
      if (job.enabled === false && job.dueAt && !job.deferred?.length)
        this.fail('paused job in the due index', `${job.jobId}: dueAt ${job.dueAt}, no records pending`);
      const open = runs.filter((run) => run.jobId === job.jobId && !isTerminal(run.status)).length;
      const running = job.running ? [...job.running].length : 0;
      // Bounded: the running set names open runs only (plus one not yet cleared: a write in flight).
      if (running > open + 1)
        this.fail('running set unbounded', `${job.jobId}: ${running} entries, ${open} open runs`);
      if ((job.deferred?.length ?? 0) > 8)
        this.fail('deferred ranges unbounded', `${job.jobId}: ${job.deferred!.length} ranges`);
    }
    for (const run of runs) {
      if (!isTerminal(run.status)) continue;
      const mine = invocations.filter((i) => i.runId === run.runId && i.attempt > (run.attemptBase ?? 0));
      const alive = mine.filter((i) => i.state === 'held' || i.state === 'active');
      const last = [...mine].reverse().find((i) => i.state !== 'held' && i.state !== 'active');
      if (run.status === 'succeeded' && last?.state !== 'ok')
        this.fail(
          'succeeded without a successful attempt',
          `${run.runId}: last attempt ${last ? `${last.attempt} ${last.state}` : 'none'}`,
        );
      if (
        run.status === 'failed' &&
        (run.reason === 'error' || run.reason === 'timeout') &&
        last?.state !== 'failed'
      )
        this.fail(
          'failed(error) without a failed attempt',
          `${run.runId}: last attempt ${last ? `${last.attempt} ${last.state}` : 'none'}`,
        );
      // A run may be recorded while an attempt is still alive only if that attempt was given up on
      // (lease expired: failed(lost)); its outcome must then still be recorded (issue 10 #9).
      // Or (stepfunctions/ecs) an attempt past maxRunDuration whose stop could not be confirmed: it fails
      // `timeout` without a retry while AWS may still run it (docs/async-targets.md, the documented choice).
      const unconfirmedStop =
        run.status === 'failed' &&
        run.reason === 'timeout' &&
        alive.every((i) => i.external && i.external !== 'worker');
      // Overlap replace alike: a replaced run's execution or task not confirmed stopped 10 minutes after
      // the stop ends cancelled(replaced) (its replacement is then skipped, not started beside it), and a
      // replaced run's silent worker is given up at its heartbeat deadline as a lost one is.
      const givenUpReplaced =
        run.status === 'cancelled' &&
        run.reason === 'replaced' &&
        /after it was stopped|taken to have stopped/.test(run.lastError ?? '');
      if (
        alive.length &&
        !(run.status === 'failed' && run.reason === 'lost') &&
        !unconfirmedStop &&
        !givenUpReplaced
      )
        this.fail(
          'run ended while an attempt runs',
          `${run.runId} ${run.status}(${run.reason}) while attempt ${alive[0]!.attempt} runs`,
        );
    }
  }

  /**
   * Issue 17's invariants, after every step. `running`: the executions and tasks the fakes run now, by
   * the run id their input names (an execution or task counts until it has ended, whatever the run record
   * says). Never two attempts of one run in the target at once, nor, with overlap skip/queue, two
   * scheduled runs of one job — counting workers alive and executions and tasks still running; every item
   * under its documented bound; once a job is deleted (and not created again) and its runs have ended,
   * every item of it can expire; a definition item lives as long as a run that may need it.
   */
  checkAsync(
    items: Record<string, unknown>[],
    invocations: Invocation[],
    external: { runId: string; attempt: number; what: string }[],
    busy: Set<string>,
  ): void {
    const runs = new Map(
      (items.filter((item) => item.type === 'run') as unknown as RunItem[]).map((run) => [run.runId, run]),
    );
    this.checkLimits(runs);
    const inTarget = new Map<string, { attempt: number; what: string }[]>();
    const add = (runId: string, attempt: number, what: string) =>
      inTarget.set(runId, [...(inTarget.get(runId) ?? []), { attempt, what }]);
    for (const i of invocations)
      if ((i.state === 'held' || i.state === 'active') && !i.external?.match(/stepfunctions|ecs/))
        add(i.runId, i.attempt, `${i.external ?? 'handler'} attempt ${i.attempt}`);
    for (const e of external) add(e.runId, e.attempt, e.what);
    for (const [runId, what] of inTarget)
      if (what.length > 1)
        this.fail(
          'two attempts of one run in the target at once',
          `${runId}: ${what.map((w) => w.what).join(' and ')}`,
        );
    // With skip/queue, no scheduled run beside another (issue 17 #10: across a delete and re-create,
    // too): of two scheduled runs of a job in the target now, the later started while the earlier was
    // there, so it must have started under allow (or while an edit of the policy was in flight).
    const byJob = new Map<string, { runId: string; what: string; started?: Invocation }[]>();
    for (const [runId, what] of inTarget) {
      const run = runs.get(runId);
      if (!run || run.manual || run.backfill || run.replays) continue;
      for (const w of what) {
        const started = [...invocations].reverse().find((i) => i.runId === runId && i.attempt === w.attempt);
        byJob.set(run.jobId, [
          ...(byJob.get(run.jobId) ?? []),
          { runId, what: w.what, ...(started ? { started } : {}) },
        ]);
      }
    }
    for (const [jobId, entries] of byJob) {
      if (entries.length < 2) continue;
      const ordered = [...entries].sort((a, b) => (a.started?.seq ?? 0) - (b.started?.seq ?? 0));
      const later = ordered.slice(1).find((e) => (e.started?.policyAtStart ?? 'strict') === 'strict');
      if (later)
        this.fail(
          `overlap ${this.job(jobId).overlap} broken`,
          `${jobId}: ${later.runId} ${later.what} started under ${later.started?.policyAtStart ?? 'strict'} beside ${ordered
            .filter((e) => e !== later)
            .map((e) => `${e.runId} ${e.what}`)
            .join(' and ')}`,
        );
    }

    for (const item of items) {
      const bytes = itemBytes(item);
      if (item.type === 'job' && bytes > JOB_ITEM_BOUND_BYTES)
        this.fail('job item over its bound', `${String(item.jobId)}: ${bytes} B`);
      if (item.type === 'run' && bytes > RUN_RECORD_BOUND_BYTES)
        this.fail('run record over its bound', `${String(item.runId)}: ${bytes} B`);
      if (item.type === 'job') {
        const running = item.running ? [...(item.running as Iterable<string>)].length : 0;
        if (running > RUNNING_BOUND)
          this.fail('running set over its bound', `${String(item.jobId)}: ${running}`);
        if (((item.deferred as unknown[] | undefined)?.length ?? 0) > 16)
          this.fail('deferred ranges over their bound', String(item.jobId));
      }
    }

    const jobItems = new Map(
      (items.filter((item) => item.type === 'job') as unknown as JobItem[]).map((job) => [job.jobId, job]),
    );
    const definitions = items.filter((item) => item.type === 'definition');
    for (const run of runs.values()) {
      if (isTerminal(run.status) || !run.definitionId) continue;
      const definition = definitions.find(
        (d) => d.pk === `JOB#${run.jobId}` && d.sk === `DEF#${run.definitionId}`,
      );
      if (!definition)
        this.fail(
          'definition item gone before its run ended',
          `${run.runId} (${run.status}) needs ${run.definitionId}`,
        );
      else if (
        typeof definition.expiresAt === 'number' &&
        typeof run.expiresAt === 'number' &&
        definition.expiresAt < run.expiresAt
      )
        this.fail('definition item expires before a run that needs it', `${run.runId}: ${run.definitionId}`);
    }
    for (const [id, job] of this.jobs) {
      if (busy.has(id) || job.editsInFlight > 0) continue;
      const item = jobItems.get(id);
      const open = [...runs.values()].some((run) => run.jobId === id && !isTerminal(run.status));
      for (const other of items) {
        if (other.pk !== `JOB#${id}` || other.type === 'job') continue;
        if (typeof other.expiresAt === 'number') continue;
        const referenced =
          other.type === 'definition' && item !== undefined && other.sk === `DEF#${item.definitionId}`;
        if (referenced) continue;
        // Unreferenced definition items (an edit moved the job off them), and once the job is gone (a
        // delete, or afterLastRun: delete) every item of it but the runs still open, need a way to expire.
        const gone =
          !item && (job.deleted?.ackSeq !== undefined || (job.created && job.spec.afterLastRun === 'delete'));
        if (other.type === 'definition' || (gone && !open))
          this.fail(
            'item without a way to expire',
            `${String(other.pk)} ${String(other.sk)} (${String(other.type)})`,
          );
      }
    }
  }

  /**
   * Issue 20, after every step: a job with `maxRuns` N never has more than N scheduled runs that started
   * (per incarnation: a job created again counts anew; a replayed run is left out, its first start was
   * counted or not); a slot the job's calendar excludes is recorded skipped(calendar), never anything else.
   */
  private checkLimits(runs: Map<string, RunItem>): void {
    const started = new Map<string, string[]>();
    for (const run of runs.values()) {
      const spec = this.jobs.get(run.jobId)?.spec;
      if (!spec || run.manual || run.backfill) continue;
      if (spec.exclude && excludedSlot(Date.parse(run.scheduledAt)) && !run.replays) {
        if (run.status !== 'dispatched' && !(run.status === 'skipped' && run.reason === 'calendar'))
          this.fail(
            'excluded slot not skipped(calendar)',
            `${run.runId} ${run.status}(${run.reason ?? ''}): ${MODEL_CALENDAR.name} excludes it`,
          );
        if (run.status === 'skipped' && run.calendar !== MODEL_CALENDAR.name)
          this.fail(
            'skipped(calendar) without its calendar',
            `${run.runId}: calendar ${String(run.calendar)}`,
          );
      }
      if (spec.maxRuns === undefined || !run.startedAt || run.replays) continue;
      const key = `${run.jobId} ${run.incarnation ?? ''}`;
      started.set(key, [...(started.get(key) ?? []), run.runId]);
    }
    for (const [key, ids] of started) {
      const limit = this.jobs.get(key.split(' ')[0]!)?.spec.maxRuns ?? Number.POSITIVE_INFINITY;
      if (ids.length > limit)
        this.fail(
          'more scheduled runs started than maxRuns',
          `${key}: ${ids.length} > ${limit}: ${ids.join(', ')}`,
        );
    }
  }

  /**
   * After a sweep at `sweepAt` (its own clock): every asynchronous attempt past its maxRunDuration has
   * ended, or (stepfunctions/ecs) is being stopped — and not for longer than the stop's patience.
   */
  checkSweep(items: Record<string, unknown>[], before: Map<string, number>, sweepAt: number): void {
    for (const run of items.filter((item) => item.type === 'run') as unknown as RunItem[]) {
      if (run.status !== 'running' || !run.runDeadline || Date.parse(run.runDeadline) > sweepAt) continue;
      if (before.get(run.runId) !== run.attempt) continue;
      const stopping =
        run.stopRequestedAt && sweepAt - Date.parse(run.stopRequestedAt) < STOP_PATIENCE_MS + 60_000;
      if (!stopping)
        this.fail(
          'attempt outlived maxRunDuration and a sweep',
          `${run.runId}#${run.attempt}: runDeadline ${run.runDeadline}, swept at ${iso(sweepAt)}${run.stopRequestedAt ? `, stop requested ${run.stopRequestedAt}` : ''}`,
        );
    }
  }

  // ---- checked at quiescence ----

  checkQuiescent(
    items: Record<string, unknown>[],
    invocations: Invocation[],
    endAt: number,
    now: number,
  ): void {
    const jobs = new Map(
      (items.filter((item) => item.type === 'job') as unknown as JobItem[]).map((job) => [job.jobId, job]),
    );
    const runs = items.filter((item) => item.type === 'run') as unknown as RunItem[];
    for (const run of runs) {
      const slot = Date.parse(run.scheduledAt);
      if (slot <= endAt && !isTerminal(run.status))
        this.fail('run not terminal at quiescence', `${run.runId} ${run.status} (now ${iso(now)})`);
    }
    for (const [id, job] of this.jobs) {
      if (!job.created) continue;
      const item = jobs.get(id);
      const mine = runs.filter((run) => run.jobId === id);
      const byslot = new Map(
        mine.filter((run) => !run.manual).map((run) => [Date.parse(run.scheduledAt), run]),
      );
      // afterLastRun: delete — the job goes once its maxRuns runs have started and every run has a fate.
      const startedRuns = mine.filter((run) => !run.manual && !run.backfill && run.startedAt).length;
      const finished =
        job.spec.afterLastRun === 'delete' &&
        job.spec.maxRuns !== undefined &&
        startedRuns >= job.spec.maxRuns;
      if (job.deleted?.ackSeq !== undefined) {
        if (item) this.fail('deleted job still there', id);
      } else if (!item) {
        if (!finished) this.fail('job lost', id);
      } else if (
        job.spec.afterLastRun === 'delete' &&
        job.spec.maxRuns !== undefined &&
        !item.nextRunAt &&
        !item.deferred?.length &&
        !item.held &&
        !(item.running && [...item.running].length) &&
        mine.every((run) => isTerminal(run.status)) &&
        // Lenient where the spec lets a race keep it: the delete is conditional on the version read, so
        // an operation on the job (a put, pause or resume) at its last run's end may keep it.
        job.policyPuts.length <= 1 &&
        !job.pauses.length &&
        !job.resumes.length &&
        job.editsInFlight === 0
      )
        this.fail('finished job not deleted (afterLastRun: delete)', `${id}: ${startedRuns} runs started`);

      // Expected slots: each epoch's grid, from its start (exact past the band after a re-anchoring
      // put) to where it ended (the cursor read before the put, pause or delete that ended it: slots the
      // tick had handled by then). Slots of an old schedule after that cursor were never claimed; the
      // docs/jobs.md says an edit takes effect from the next unclaimed slot, so they may have no record.
      const state = this.paused(job);
      const pausedAtEnd = state === 'yes' || (state === 'either' && item?.enabled === false);
      const until =
        job.deleted !== undefined
          ? (job.cursorAtDelete ?? Number.NEGATIVE_INFINITY)
          : pausedAtEnd
            ? Math.min(endAt, job.cursorAtPause ?? Number.NEGATIVE_INFINITY)
            : endAt;
      // maxRuns: a job that has ended (no next slot) owes no slot after the last one it recorded.
      const lastRecorded = Math.max(
        Number.NEGATIVE_INFINITY,
        ...mine.filter((run) => !run.manual && !run.backfill).map((run) => Date.parse(run.scheduledAt)),
      );
      const ended = job.spec.maxRuns !== undefined && (item === undefined ? finished : !item.nextRunAt);
      if (job.editsInFlight === 0) {
        job.epochs.forEach((epoch, index) => {
          const from = index === 0 ? epoch.anchor : Math.max(epoch.anchor, epoch.calledAt + BAND_MS);
          const to = Math.min(
            epoch.endCursor ?? Number.POSITIVE_INFINITY,
            until,
            ended ? lastRecorded : Infinity,
          );
          for (const slot of Number.isFinite(to) ? gridSlots(epoch, epoch.anchor, to) : []) {
            if (slot < from) continue;
            if (byslot.has(slot)) continue;
            // Slots behind the cursor whose records were deferred (paused-slot or catch-up ranges) are
            // written by the tick only while the job is in the due index: a pause holds them back, a
            // delete drops them. Named apart, so that `--ignore` can look past it.
            const pending = item?.deferred?.some(
              (r) => slot > Date.parse(r.after) && slot <= Date.parse(r.until),
            );
            if (pending && pausedAtEnd)
              this.fail('deferred records held back by a pause', `${id}@${iso(slot)}`);
            else if (job.deleted !== undefined)
              this.fail('slot of a deleted job without a record', `${id}@${iso(slot)}`);
            else this.fail('slot without a record', `${id}@${iso(slot)}`);
          }
        });
        // No phantom: every scheduled record is on a grid of the job, within that epoch's time.
        for (const run of mine) {
          if (run.manual) continue;
          const slot = Date.parse(run.scheduledAt);
          if (job.backfills.some((w) => slot >= w.from && slot < w.to)) continue;
          const named = [...job.pastEpochs, ...job.epochs].some(
            (epoch) =>
              onGrid(epoch, slot) && slot <= (epoch.endCalledAt ?? Number.POSITIVE_INFINITY) + BAND_MS,
          );
          if (!named) this.fail('record of a slot the schedule does not name', `${run.runId} ${run.status}`);
        }
      }
      for (const window of job.backfills) {
        for (const slot of gridSlots(window, window.from, window.to - 1))
          if (!byslot.has(slot)) this.fail('backfilled slot without a record', `${id}@${iso(slot)}`);
      }
      for (const runId of job.triggers)
        if (!mine.some((run) => run.runId === runId)) this.fail('triggered run without a record', runId);

      // skipped(paused) / cancelled(job-paused) only for slots whose time came while the job was paused
      // (issue 10 #2): not after the resume that ended the pause. The lower end is lenient: a slot
      // nobody claimed before the pause may be recorded as passed while paused.
      for (const run of mine) {
        const paused =
          (run.status === 'skipped' && run.reason === 'paused') ||
          (run.status === 'cancelled' && run.reason === 'job-paused');
        if (!paused) continue;
        const slot = Date.parse(run.scheduledAt);
        const lastResume = job.resumes.filter((r) => r.ackSeq !== undefined).at(-1);
        if (!pausedAtEnd && (!lastResume || slot > lastResume.ackedAt! + MAX_SKEW_MS))
          this.fail(
            'slot after the resume recorded as paused',
            `${run.runId} ${run.status}(${run.reason})${lastResume ? `, resumed at ${iso(lastResume.ackedAt!)}` : ''}`,
          );
      }

      // A create, a re-anchoring edit and a resume claim the slots within the lookahead right away
      // (issue 10 #1): none of those is recorded missed by catch-up, which is for slots a tick could not
      // reach (an outage), not for slots that were never given a chance.
      // Window starts in the operation's own clock: the put's now (its anchor is that rounded up to
      // the second) and the resume's now.
      // A create's first slot is its anchor; an edit's schedule starts after the cursor it moved to now,
      // so its anchor slot is not one of its own (a tick may have recorded it under the old schedule).
      // An edit's window covers the slots of its own schedule only: a slot of the schedule before it,
      // recorded missed by a put whose clock ran ahead of the edit's, is no first slot of the edit's.
      // `span`: the operation's call and acknowledgement (true times). A tick that ran while the
      // operation was in flight (suspended between its write and its own claim) may find those slots
      // past due first and judge them by catch-up: that is the tick's call, not the operation's claim.
      const starts: { at: number; grid?: Epoch; span: [number, number] }[] = [
        ...job.epochs.map((epoch, i) => ({
          at: i === 0 ? epoch.anchor - 1_000 : epoch.anchor,
          grid: epoch,
          span: [epoch.opCalledAt ?? epoch.calledAt, epoch.calledAt] as [number, number],
        })),
        ...job.resumes
          .filter((r) => r.ackSeq !== undefined && !r.replay && r.effective)
          .map((r) => ({
            at: r.localAt ?? r.calledAt,
            span: [r.calledAt, r.ackedAt ?? r.calledAt] as [number, number],
          })),
      ];
      const tickedMeanwhile = (span: [number, number], slot: number) =>
        this.ticks.some((t) => t > span[0] && t <= span[1] && slot <= t + MAX_SKEW_MS);
      for (const run of mine) {
        if (
          run.status !== 'missed' ||
          !['coalesced', 'catch-up-limit', 'catch-up-skip'].includes(String(run.reason))
        )
          continue;
        const slot = Date.parse(run.scheduledAt);
        const start = starts.find(
          (t) =>
            slot > t.at &&
            slot <= t.at + MODEL_TICK.lookaheadMs &&
            (!t.grid || onGrid(t.grid, slot)) &&
            !tickedMeanwhile(t.span, slot),
        );
        if (start !== undefined)
          this.fail(
            'first slots recorded missed',
            `${run.runId} missed(${run.reason}), within the lookahead of a create, edit or resume at ${iso(start.at)}`,
          );
      }

      // Attempts: one replay is at most one more attempt sequence (issue 10 #6).
      for (const run of mine) {
        const attempts = new Set(invocations.filter((i) => i.runId === run.runId).map((i) => i.attempt));
        const allowed = (1 + (job.replays.get(run.runId) ?? 0)) * run.definition.retry.maxAttempts;
        if (attempts.size > allowed)
          this.fail(
            'more attempts than the replays allow',
            `${run.runId}: ${attempts.size} attempts, ${job.replays.get(run.runId) ?? 0} replays × ${run.definition.retry.maxAttempts}`,
          );
        const highest = Math.max(0, ...attempts);
        if (run.attempt < highest)
          this.fail('record behind its attempts', `${run.runId}: attempt ${run.attempt}, invoked ${highest}`);
      }

      if (!item) continue;
      // The job's state: enabled as the operations left it (a put never changes it: issue 10 #3),
      // in the due index with a next slot that is not behind (#4), sets drained.
      const ops = [
        ...job.pauses.map((p) => ({ ...p, enable: false })),
        ...job.resumes.map((r) => ({ ...r, enable: true })),
      ]
        .filter((o) => o.ackSeq !== undefined)
        .sort((a, b) => a.ackSeq! - b.ackSeq!);
      const last = ops.at(-1);
      // A pause and a resume in flight at once may land in either order: then either state is right.
      const concurrent = ops.some((a) =>
        ops.some((b) => a !== b && a.enable !== b.enable && a.callSeq < b.ackSeq! && b.callSeq < a.ackSeq!),
      );
      if (last && !concurrent && item.enabled !== last.enable)
        this.fail(
          'job state not what the operations left',
          `${id}: enabled=${item.enabled}, last acknowledged ${last.enable ? 'resume' : 'pause'} at ${iso(last.ackedAt!)}`,
        );
      if (!last && item.enabled !== true)
        this.fail('job state not what the operations left', `${id}: enabled=${item.enabled}, never paused`);
      if (item.enabled && item.nextRunAt) {
        if (!item.dueAt) this.fail('enabled job not in the due index', `${id} at quiescence`);
        if (Date.parse(item.nextRunAt) < now - 5_000)
          this.fail('enabled job left behind', `${id}: nextRunAt ${item.nextRunAt}, now ${iso(now)}`);
        const epoch = job.epochs.at(-1);
        const period = epoch?.periodMs ?? 1000;
        const grid = {
          periodMs: period,
          extraPeriodMs: epoch?.extraPeriodMs,
          anchor: Date.parse(item.anchor),
        };
        if (!onGrid(grid, Date.parse(item.nextRunAt)) && job.editsInFlight === 0)
          this.fail(
            'next slot off the schedule',
            `${id}: nextRunAt ${item.nextRunAt}, anchor ${item.anchor}, every ${period} ms`,
          );
      }
      const running = item.running ? [...item.running] : [];
      const stale = running.filter((runId) => {
        const run = mine.find((r) => r.runId === runId);
        return !run || isTerminal(run.status);
      });
      if (stale.length) this.fail('running set names ended runs', `${id}: ${stale.join(', ')}`);
      if (item.held && mine.find((r) => r.runId === item.held && isTerminal(r.status)))
        this.fail('held names an ended run', `${id}: ${item.held}`);
      if (item.deferred?.length && !pausedAtEnd)
        this.fail('deferred records not drained', `${id}: ${item.deferred.length} ranges`);
    }
  }
}

export function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}
