/**
 * One tick: sweep the open runs that need a look, then claim every due job and send its slots.
 *
 * Dispatch never waits on execution: a tick touches job items, run records and the queue, never a
 * target. Each job goes through the claim protocol of SPEC §2 (lease → run records → send → advance),
 * every step conditional, so overlapping ticks and a tick that dies half-way are harmless.
 */
import { randomBytes } from 'node:crypto';
import { type CompiledCalendar, excludedBy } from '../calendars/calendar.js';
import { CoalescingDispatcher, delayFor, type OutgoingMessage } from '../queue/dispatcher.js';
import { deleteIfFinished } from '../runs/finish.js';
import { messageFor, runEventDetail } from '../runs/lifecycle.js';
import { nextSlot, planSlots, previousSlot, slotsBetween } from '../schedule/index.js';
import type { Plan } from '../schedule/types.js';
import { type DecodedJob, decodeJob, rangeSchedule, scheduleSnapshot } from '../store/decode.js';
import {
  type DeferredRecords,
  iso,
  type JobItem,
  type RunItem,
  type RunReason,
  type RunStatus,
  runDefinition,
  runIdFor,
} from '../store/model.js';
import type { RawItem } from '../store/store.js';
import { errorMessage, jitterMs, mapLimit } from '../util.js';
import { type CalendarSource, calendarSource } from './calendars.js';
import { leftForNewerBuild, type SweepDeps, type SweepReport, sweep } from './sweep.js';

export interface TickConfig {
  /** Slots up to now + lookahead are sent ahead with a delay. Default 75 s (a 60 s tick + margin); ≤ 900 s. */
  lookaheadMs: number;
  /** A claim's lease: after this another tick may take the job over. */
  leaseMs: number;
  /** The tick stops starting new jobs after this; what is left is counted as backlog for the next tick. */
  budgetMs: number;
  /** Jobs processed at once. */
  concurrency: number;
  /** Due-index page size. */
  pageSize: number;
  /** Most slots (sent + recorded) one job handles in one tick; the rest wait for the next tick. */
  maxSlotsPerJob: number;
  /** How long a dispatched run may wait for its message after its slot before the sweep re-sends it. */
  deliveryGraceMs: number;
  /** A job is overdue when its next slot is older than gapFactor × its period (and one lookahead). */
  overdueGapFactor: number;
  /** How often the tick fires (recorded in the heartbeat so `punctual status` can judge its age). */
  intervalMs: number;
  /**
   * Items each tick reads for the due-index audit (a safety net: enabled jobs with a next slot that are
   * missing from the due index are put back). The audit walks the table a page per tick; 0 turns it off.
   */
  auditPageSize: number;
  /**
   * Shard groups (1 to the shard count): with more than one, the tick EventBridge fires invokes a worker per
   * further group and handles group 0 itself (shared/tick/fanout.ts). Group g owns the shards s mod n = g.
   */
  groups: number;
}

export const DEFAULT_TICK_CONFIG: TickConfig = {
  lookaheadMs: 75_000,
  leaseMs: 30_000,
  budgetMs: 45_000,
  concurrency: 16,
  pageSize: 100,
  maxSlotsPerJob: 500,
  deliveryGraceMs: 60_000,
  overdueGapFactor: 2,
  intervalMs: 60_000,
  auditPageSize: 100,
  groups: 1,
};

/** Which part of the minute one tick invocation handles (shared/tick/fanout.ts). */
export interface TickScope {
  /** The shard group (0 when the tick is not fanned out). */
  group?: number;
  /** Errors the coordinator met before (an invoke that failed), reported with its own. */
  errors?: TickReport['errors'];
  /** Since when the coordinator has run with `config.groups` groups (kept in its heartbeat). */
  groupsSince?: string;
}

/** The shards of the due and open indexes group `group` of `groups` handles. */
export function groupShards(group: number, groups: number, shards: number): number[] {
  return Array.from({ length: shards }, (_, shard) => shard).filter((shard) => shard % groups === group);
}

/** Faults injected by tests at named steps of the claim protocol. */
export interface TickFaults {
  /** Called after the run records are written and before the advance; throw to simulate a crash there. */
  beforeAdvance?(jobId: string): void;
  /** Called after the advance and before the send. */
  beforeSend?(jobId: string): void;
}

export interface TickDeps extends SweepDeps {
  clock: () => number;
  faults?: TickFaults;
  /** The exclusion calendars, read at most once per tick invocation (shared/tick/calendars.ts). */
  calendars?: CalendarSource;
}

export interface TickReport {
  startedAt: string;
  durationMs: number;
  jobsSeen: number;
  jobsClaimed: number;
  /** Due jobs another tick held (or changed) when we tried: not ours to handle. */
  contended: number;
  slotsDispatched: number;
  slotsRecorded: number;
  invalidJobs: number;
  /** Due job items of a newer format than this build reads: left alone (a deploy in progress). */
  newerFormat: number;
  overdueJobs: string[];
  /** Due jobs this tick could not reach within its budget (taken by the next tick). */
  backlog: number;
  /** Jobs whose send failed: their lease was released so the next tick tries again. */
  sendFailures: number;
  errors: { jobId: string; error: string }[];
  sweep: SweepReport;
  /** Enabled jobs the audit found missing from the due index and put back. */
  repairedJobs: string[];
}

export async function runTick(
  tickDeps: TickDeps,
  config: TickConfig = DEFAULT_TICK_CONFIG,
  scope: TickScope = {},
): Promise<TickReport> {
  // The jobs of one tick share SendMessageBatch calls (10 slots a call across jobs, not one call a job).
  const deps = {
    ...tickDeps,
    dispatcher: new CoalescingDispatcher(tickDeps.dispatcher),
    calendars: tickDeps.calendars ?? calendarSource(tickDeps.store),
  };
  const start = deps.clock();
  const report = emptyReport(start);
  const group = scope.group ?? 0;
  const groups = Math.max(1, config.groups);
  const shards = groupShards(group, groups, deps.store.shards);
  report.errors.push(...(scope.errors ?? []));
  deps.signals.metric('TickHeartbeat', 1);
  const outOfTime = () => deps.clock() - start > config.budgetMs;

  try {
    report.sweep = await sweep(deps, {
      now: start,
      graceMs: config.deliveryGraceMs,
      pageSize: config.pageSize,
      outOfTime,
      shards,
    });
  } catch (error) {
    // The sweep is recovery; a failure there must not stop dispatch.
    deps.log.error('sweep failed', { error: errorMessage(error) });
    report.errors.push({ jobId: '(sweep)', error: errorMessage(error) });
  }

  if (config.auditPageSize > 0) {
    try {
      report.repairedJobs = await auditDueIndex(deps, config.auditPageSize, start, group, groups);
    } catch (error) {
      deps.log.error('due-index audit failed', { error: errorMessage(error) });
      report.errors.push({ jobId: '(audit)', error: errorMessage(error) });
    }
  }

  const horizon = start + config.lookaheadMs;
  await mapLimit(
    shards, // this group's shards: all of them when the tick is not fanned out
    shards.length,
    async (shard) => {
      let next: Record<string, unknown> | undefined;
      do {
        let page: Awaited<ReturnType<typeof deps.store.queryDue>>;
        try {
          page = await deps.store.queryDue(shard, horizon, config.pageSize, next);
        } catch (error) {
          // One shard's failure must not stop the others (nor the heartbeat).
          deps.log.error('due query failed', { shard, error: errorMessage(error) });
          report.errors.push({ jobId: `(shard ${shard})`, error: errorMessage(error) });
          return;
        }
        next = page.next;
        report.jobsSeen += page.items.length;
        if (outOfTime()) {
          report.backlog += page.items.length;
          continue;
        }
        await mapLimit(
          page.items,
          Math.max(1, Math.floor(config.concurrency / shards.length)), // `concurrency` jobs per invocation
          async (raw) => {
            if (outOfTime()) {
              report.backlog += 1;
              return;
            }
            try {
              await handleJob(deps, config, raw, report);
            } catch (error) {
              const jobId = String(raw.jobId ?? raw.pk);
              deps.log.error('job not dispatched this tick', { jobId, error: errorMessage(error) });
              report.errors.push({ jobId, error: errorMessage(error) });
            }
          },
        );
      } while (next);
    },
  );

  report.durationMs = deps.clock() - start;
  // CloudWatch bills a custom metric for every hour it receives a datapoint ($0.30 a metric-month), so an
  // idle stack would pay for each zero the tick publishes every minute. Counts go out only when non-zero:
  // their alarms treat missing data as not breaching, a missing datapoint reads as 0. The heartbeat is
  // the one metric published every minute (its alarm treats missing data as breaching), and the tick's
  // duration is Lambda's own (AWS/Lambda Duration, free). docs/scale.md, "An idle stack".
  for (const [name, value] of [
    ['SlotsClaimed', report.slotsDispatched],
    ['DispatchBacklog', report.backlog],
    ['OverdueJobs', report.overdueJobs.length],
    ['InvalidJobs', report.invalidJobs],
  ] as const)
    if (value > 0) deps.signals.metric(name, value);
  try {
    await deps.store.putHeartbeat({
      lastTickAt: report.startedAt,
      durationMs: report.durationMs,
      slotsDispatched: report.slotsDispatched,
      backlog: report.backlog,
      overdueJobs: report.overdueJobs.slice(0, 50),
      invalidJobs: report.invalidJobs,
      errors: report.errors.length,
      tickMs: config.intervalMs,
      ...(groups > 1 ? { group, groups, shards } : {}),
      ...(groups > 1 && group === 0 ? { groupsSince: scope.groupsSince ?? report.startedAt } : {}),
    });
  } catch (error) {
    deps.log.warn('heartbeat not written', { error: errorMessage(error) });
  }
  await deps.signals.flush();
  return report;
}

export interface ClaimNowReport {
  /** Slots sent. */
  dispatched: number;
  /** Slots recorded without running (deferred records, catch-up). */
  recorded: number;
  /** Another claim held the job (a tick): it sends the slots instead. */
  contended: boolean;
  /** Why nothing was sent at once (the next tick claims the job as usual). */
  error?: string;
}

/**
 * The claim protocol for one job, now, outside a tick: what a create, an edit or a resume calls so the
 * slots within the lookahead are sent at once (the first slot starts on time, none is coalesced into a
 * miss by the next tick). Everything is conditional as in a tick, so it may race ticks freely.
 *
 * `planAt` is the instant the operation computed the job's anchor and cursor from: the claim plans from
 * it too, so writes slower than a period never make the operation's own first slots look past due
 * (they are sent at once, late, instead of recorded missed). The messages' delays count from the clock.
 */
export async function claimNow(
  deps: TickDeps,
  job: JobItem,
  config: TickConfig = DEFAULT_TICK_CONFIG,
  planAt?: number,
): Promise<ClaimNowReport> {
  // The job as the operation wrote it (no second read): the claim is conditional on its version anyway.
  const raw = job as unknown as RawItem;
  const dueAt = typeof raw?.dueAt === 'string' ? Date.parse(raw.dueAt) : Number.NaN;
  const now = Math.min(planAt ?? deps.clock(), deps.clock());
  if (!(dueAt <= now + config.lookaheadMs)) return { dispatched: 0, recorded: 0, contended: false };
  const report = emptyReport(deps.clock());
  try {
    await handleJob(deps, config, raw, report, now);
  } catch (error) {
    // The job is written; the next tick claims it. The caller says so rather than failing the operation.
    return { dispatched: 0, recorded: 0, contended: false, error: errorMessage(error) };
  }
  return {
    dispatched: report.slotsDispatched,
    recorded: report.slotsRecorded,
    contended: report.contended > 0,
    ...(report.sendFailures ? { error: 'the send to the queue failed' } : {}),
  };
}

/**
 * A claim's lease token: 72 random bits in 12 characters. It only tells one claim from another; the job
 * item carries it between claim and advance, and a write is billed by the KB of the larger image.
 */
function leaseToken(): string {
  return randomBytes(9).toString('base64url');
}

function emptyReport(start: number): TickReport {
  return {
    startedAt: iso(start),
    durationMs: 0,
    jobsSeen: 0,
    jobsClaimed: 0,
    contended: 0,
    slotsDispatched: 0,
    slotsRecorded: 0,
    invalidJobs: 0,
    newerFormat: 0,
    overdueJobs: [],
    backlog: 0,
    sendFailures: 0,
    errors: [],
    sweep: { examined: 0, resent: 0, missed: 0, retried: 0, failed: 0 },
    repairedJobs: [],
  };
}

async function handleJob(
  deps: TickDeps,
  config: TickConfig,
  raw: RawItem,
  report: TickReport,
  /** The instant to plan from; the clock by default (a create's claim passes the create's). */
  planAt?: number,
): Promise<void> {
  const now = planAt ?? deps.clock();
  // A job item of a newer format than this build reads (a deploy in progress): left as it is, for a tick
  // of the new build. No claim and no write (markInvalid would take it out of the schedule); the other
  // jobs go on.
  if (leftForNewerBuild(deps, `job item "${String(raw.jobId ?? raw.pk)}"`, raw)) {
    report.newerFormat += 1;
    return;
  }
  const decoded = decodeJob(raw);
  if (!decoded.ok) {
    await markInvalid(deps, decoded.jobId, decoded.error, now);
    report.invalidJobs += 1;
    return;
  }
  const job = decoded.job;
  const { item, definition } = job;
  if (!deps.pools.queueUrl(definition.pool)) {
    await markInvalid(deps, item.jobId, `pool "${definition.pool}" does not exist in this deployment`, now);
    report.invalidJobs += 1;
    return;
  }
  if (!item.enabled) {
    // A paused job stays in the due index only while it has records to write (slots of an earlier pause
    // or a catch-up backlog): write a page of them, send nothing.
    if (item.deferred?.length) {
      await writePendingRecords(deps, config, job, now, report);
      return;
    }
    // Otherwise it has no business there (an item edited by hand, or an older race): take it out rather
    // than count it as contended or overdue on every tick. Conditional on the version seen: a resume
    // that landed since keeps the job in the index.
    await deps.store.removeFromDue(item.jobId, item.version);
    return;
  }
  if (!item.nextRunAt && !item.deferred?.length) return;
  // The due key is a lower bound of the next slot (it stays put while a frequent job advances): a job
  // found before its next slot is within the lookahead has nothing to claim yet.
  if (!item.deferred?.length && item.nextRunAt && Date.parse(item.nextRunAt) > now + config.lookaheadMs)
    return;
  checkOverdue(deps, config, job, now, report);
  const plan = planFor(job, config, now);
  if (definition.exclude?.length) {
    const calendars = await (deps.calendars ?? calendarSource(deps.store))();
    const missing = definition.exclude.find((name) => !calendars.has(name));
    if (missing !== undefined) {
      const error = `exclude names calendar "${missing}", which does not exist: put it, or edit the job`;
      await markInvalid(deps, item.jobId, error, now);
      report.invalidJobs += 1;
      return;
    }
    excludeSlots(plan, definition.exclude, calendars);
  }
  await excludeRecorded(deps, plan);

  // Step 1: one run record per slot, written before the job moves (attribute_not_exists: a tick that
  // died before its advance left them, and the next one finds them and goes on).
  const toSend = await writeRecords(deps, job, plan, now, config.deliveryGraceMs);
  deps.faults?.beforeAdvance?.(item.jobId);

  // Step 2: the claim, in one write: move the job to its next slot, conditional on the version and next
  // slot read (every advance, edit, pause and resume bumps the version). Of ticks that planned the same
  // slots, exactly one gets here; the others send nothing (the winner sends the records they share).
  const counts: Partial<Record<RunStatus, number>> = {};
  for (const { status } of plan.recorded) counts[status] = (counts[status] ?? 0) + 1;
  if (plan.plan.missed.length) counts.missed = (counts.missed ?? 0) + plan.plan.missed.length;
  if (plan.excluded.length) counts.skipped = (counts.skipped ?? 0) + plan.excluded.length;
  const advanced = await deps.store.advanceJob(item.jobId, null, {
    version: item.version,
    cursor: plan.plan.cursor,
    next: plan.plan.next,
    deferred: plan.deferred,
    counts,
    now: deps.clock(),
    seen: item,
  });
  if (!advanced) {
    // Another tick advanced it (it sends), or an edit, pause or resume landed since it was read: the
    // next tick plans again from the job as it is now, and finds the records written here. One that no
    // plan sends any more (an edit moved the schedule) is sent by the sweep past its delivery grace,
    // and the executor judges it against the job then (paused: cancelled).
    report.contended += 1;
    return;
  }
  report.jobsClaimed += 1;
  deps.faults?.beforeSend?.(item.jobId);

  // Step 3: send. What a failed entry or a crash here leaves unsent is a `dispatched` record the sweep
  // sends past its delivery grace (the run ids are the same, the executor absorbs a duplicate).
  if (toSend.length) {
    const queueUrl = deps.pools.queueUrl(definition.pool)!;
    // The delay counts from the send, not from the plan: writing the records took time.
    const sendAt = deps.clock();
    const messages: OutgoingMessage[] = toSend.map((run) => ({
      body: messageFor(run, run.attempt + 1),
      delaySeconds: delayFor(Date.parse(run.scheduledAt) + jitterMs(run.runId, definition.jitter), sendAt),
    }));
    const { failed } = await deps.dispatcher.send(queueUrl, messages);
    if (failed.length) {
      report.sendFailures += 1;
      deps.log.warn('send failed; the sweep sends these runs past their delivery grace', {
        jobId: item.jobId,
        failed: failed.slice(0, 3),
      });
    }
    const sentAt = deps.clock();
    const unsent = new Set(failed.map((failure) => failure.runId));
    for (const run of toSend)
      if (!unsent.has(run.runId))
        deps.signals.metric('DispatchLag', Math.max(0, sentAt - Date.parse(run.scheduledAt)), 'Milliseconds');
  }
  report.slotsDispatched += plan.plan.dispatch.length;
  report.slotsRecorded += plan.plan.missed.length + plan.recorded.length + plan.excluded.length;
  // The schedule ended with this advance: a job with afterLastRun delete goes once its runs have ended.
  if (plan.plan.next === undefined && !plan.deferred.length && definition.afterLastRun === 'delete')
    await deleteIfFinished(deps, item.jobId, now);
  if (plan.plan.more || plan.deferred.length) report.backlog += 1;
}

interface JobPlan {
  plan: Plan;
  /**
   * Slots recorded without running, besides the plan's own misses: deferred records. `exclude`: the
   * calendars of a catch-up range (excludeRecorded); `calendar`: the one that excludes the slot.
   */
  recorded: {
    slot: number;
    status: 'missed' | 'skipped';
    reason: RunReason;
    exclude?: readonly string[];
    calendar?: string;
  }[];
  /** Deferred ranges left after this tick. */
  deferred: DeferredRecords[];
  /** Slots of the plan an exclusion calendar excludes: recorded skipped(calendar), never sent. */
  excluded: { slot: number; calendar: string }[];
}

/**
 * Takes the slots the job's calendars exclude out of the plan (to send or to record missed): each is
 * recorded skipped(calendar) with the calendar's name instead. The cursor and the next slot stay: the
 * cadence keeps its anchor.
 */
function excludeSlots(
  jobPlan: JobPlan,
  exclude: readonly string[],
  calendars: ReadonlyMap<string, CompiledCalendar>,
): void {
  const { plan, excluded } = jobPlan;
  const keep = (slot: number) => {
    const calendar = excludedBy(exclude, calendars, slot);
    if (calendar !== undefined) excluded.push({ slot, calendar });
    return calendar === undefined;
  };
  plan.dispatch = plan.dispatch.filter(keep);
  plan.missed = plan.missed.filter(({ slot }) => keep(slot));
  excluded.sort((a, b) => a.slot - b.slot);
}

/**
 * The deferred records of a catch-up range cut from a job that excludes calendars (a backlog longer than
 * one tick's `maxSlotsPerJob`, written a page per tick): a slot one of the range's calendars excludes is
 * recorded skipped(calendar) naming it, as a slot of a short outage is, instead of the range's
 * missed(reason). The calendars are read as they are now (once per tick invocation); a calendar deleted
 * since excludes nothing, and its slots keep the range's fate (they are past: missed either way).
 */
async function excludeRecorded(deps: TickDeps, jobPlan: Pick<JobPlan, 'recorded'>): Promise<void> {
  if (!jobPlan.recorded.some((record) => record.exclude?.length)) return;
  const calendars = await (deps.calendars ?? calendarSource(deps.store))();
  for (const record of jobPlan.recorded) {
    const calendar = excludedBy(record.exclude, calendars, record.slot);
    if (calendar === undefined) continue;
    record.status = 'skipped';
    record.reason = 'calendar';
    record.calendar = calendar;
  }
}

/**
 * The plan for this tick, in two independent parts:
 *  1. deferred records (ranges behind the cursor, each with the schedule it was cut from): up to
 *     `maxSlotsPerJob` of them are written;
 *  2. the catch-up plan from the cursor (the schedule engine's `planSlots`). When more slots are past due
 *     than one tick may handle, the policy is applied to the whole backlog at once — the slot(s) it runs
 *     are dispatched now, and the rest become a deferred range — so a long outage never delays the job's
 *     next run by the time it takes to record what it missed.
 */
function planFor(job: DecodedJob, config: TickConfig, now: number): JobPlan {
  const { item, definition, schedule } = job;
  const { recorded, deferred } = deferredPage(job, config);

  let after = Date.parse(item.cursor);
  const early: number[] = [];
  const pastDue = slotsBetween(schedule, after, now, config.maxSlotsPerJob + 1);
  const newest = pastDue.length > config.maxSlotsPerJob ? previousSlot(schedule, now) : undefined;
  if (newest !== undefined) {
    const range = (until: number, reason: RunReason, from = after): DeferredRecords => ({
      after: iso(from),
      until: iso(until),
      status: 'missed',
      reason,
      schedule: scheduleSnapshot(definition, item.anchor),
      // Its slots are recorded later, a page per tick: the calendars go with them (excludeRecorded).
      ...(definition.exclude?.length ? { exclude: [...definition.exclude] } : {}),
    });
    if (definition.catchUp === 'latest') {
      deferred.push(range(newest - 1, 'coalesced'));
      after = newest - 1;
    } else if (definition.catchUp === 'skip') {
      deferred.push(range(newest, 'catch-up-skip'));
      after = newest;
    } else {
      early.push(...pastDue.slice(0, Math.min(definition.maxCatchUp, config.maxSlotsPerJob)));
      deferred.push(range(newest, 'catch-up-limit', early.at(-1) ?? after));
      after = newest;
    }
  }

  const plan = planSlots({
    schedule,
    catchUp: definition.catchUp,
    maxCatchUp: definition.maxCatchUp,
    startingDeadlineMs: definition.startingDeadline,
    after,
    now,
    lookaheadMs: config.lookaheadMs,
    limit: config.maxSlotsPerJob,
  });
  for (const slot of early.reverse()) {
    if (now - slot > definition.startingDeadline) plan.missed.unshift({ slot, reason: 'deadline' });
    else plan.dispatch.unshift(slot);
  }
  return { plan, recorded, deferred, excluded: [] };
}

/**
 * A page of the job's deferred records (ranges behind the cursor, each with the schedule it was cut
 * from): up to `maxSlotsPerJob` slots to record now, and the ranges left for the next ticks.
 */
function deferredPage(job: DecodedJob, config: TickConfig): Pick<JobPlan, 'recorded' | 'deferred'> {
  const recorded: JobPlan['recorded'] = [];
  const deferred: DeferredRecords[] = [];
  let budget = config.maxSlotsPerJob;
  for (const range of job.item.deferred ?? []) {
    if (budget <= 0) {
      deferred.push(range);
      continue;
    }
    const slots = slotsBetween(
      rangeSchedule(range),
      Date.parse(range.after),
      Date.parse(range.until),
      budget + 1,
    );
    const page = slots.slice(0, budget);
    for (const slot of page)
      recorded.push({
        slot,
        status: range.status,
        reason: range.reason,
        ...(range.exclude?.length ? { exclude: range.exclude } : {}),
      });
    budget -= page.length;
    if (slots.length > page.length) deferred.push({ ...range, after: iso(page.at(-1)!) });
  }
  return { recorded, deferred };
}

/**
 * A paused job with records still to write: the claim protocol without a send — lease (the job must
 * still be paused at the version read), write a page of records, advance the pending ranges. The cursor
 * and the next slot stay; the job leaves the due index when no range is left.
 */
async function writePendingRecords(
  deps: TickDeps,
  config: TickConfig,
  job: DecodedJob,
  now: number,
  report: TickReport,
): Promise<void> {
  const { item } = job;
  const token = leaseToken();
  const expect = { version: item.version, nextRunAt: item.nextRunAt, enabled: false };
  if (!(await deps.store.claimJob(item.jobId, expect, token, now + config.leaseMs, now))) {
    report.contended += 1;
    return;
  }
  const cursor = Date.parse(item.cursor);
  const next = item.nextRunAt ? Date.parse(item.nextRunAt) : undefined;
  const page = deferredPage(job, config);
  await excludeRecorded(deps, page);
  const jobPlan: JobPlan = {
    plan: { dispatch: [], missed: [], cursor, more: false, next },
    ...page,
    excluded: [],
  };
  await writeRecords(deps, job, jobPlan, now, config.deliveryGraceMs);
  const counts: Partial<Record<RunStatus, number>> = {};
  for (const { status } of page.recorded) counts[status] = (counts[status] ?? 0) + 1;
  const advanced = await deps.store.advanceJob(item.jobId, token, {
    version: item.version,
    cursor,
    next,
    deferred: page.deferred,
    counts,
    now: deps.clock(),
    paused: true,
    seen: item,
  });
  if (!advanced) {
    await deps.store.releaseLease(item.jobId, token);
    return;
  }
  report.slotsRecorded += page.recorded.length;
}

async function writeRecords(
  deps: TickDeps,
  job: DecodedJob,
  jobPlan: JobPlan,
  now: number,
  graceMs: number,
): Promise<RunItem[]> {
  const { item, definition } = job;
  const base = { jobId: item.jobId, ...runDefinition(item, definition), jobVersion: item.version };
  const dispatchRuns = jobPlan.plan.dispatch.map((slot) =>
    deps.store.newRun(
      {
        ...base,
        runId: runIdFor(item.jobId, slot),
        scheduledAt: iso(slot),
        status: 'dispatched',
        dispatchedAt: iso(now),
        openShard: deps.store.openShard(item.jobId),
        openUntil: iso(
          Math.max(slot + jitterMs(runIdFor(item.jobId, slot), definition.jitter), now) + graceMs,
        ),
      },
      now,
    ),
  );
  const ended = (slot: number, status: 'missed' | 'skipped', reason: RunItem['reason'], calendar?: string) =>
    deps.store.newRun(
      {
        ...base,
        runId: runIdFor(item.jobId, slot),
        scheduledAt: iso(slot),
        status,
        reason,
        ...(calendar === undefined ? {} : { calendar }),
        finishedAt: iso(now),
      },
      now,
    );
  const recorded = [
    ...jobPlan.recorded.map(({ slot, status, reason, calendar }) => ended(slot, status, reason, calendar)),
    ...jobPlan.plan.missed.map(({ slot, reason }) => ended(slot, 'missed', reason)),
    ...jobPlan.excluded.map(({ slot, calendar }) => ended(slot, 'skipped', 'calendar', calendar)),
  ];
  const toSend: RunItem[] = [];
  await mapLimit([...dispatchRuns, ...recorded], 8, async (run) => {
    const created = await deps.store.createRun(run);
    if (run.status === 'dispatched') {
      if (created) toSend.push(run);
      else {
        // Written by a tick that died before its advance: send again only if still waiting for its message.
        const existing = await deps.store.getRun(run.runId);
        if (existing?.status === 'dispatched') toSend.push(existing);
      }
    } else if (created) {
      deps.signals.metric(run.status === 'missed' ? 'RunsMissed' : 'RunsSkipped', 1);
      deps.signals.event(run.status === 'missed' ? 'Run Missed' : 'Run Skipped', runEventDetail(run));
    }
  });
  toSend.sort((a, b) => a.scheduledAt.localeCompare(b.scheduledAt));
  return toSend;
}

function checkOverdue(deps: TickDeps, config: TickConfig, job: DecodedJob, now: number, report: TickReport) {
  const { item, schedule } = job;
  if (!item.nextRunAt) return;
  const next = Date.parse(item.nextRunAt);
  const after = nextSlot(schedule, next);
  const period = after === undefined ? 0 : after - next;
  const gap = Math.max(config.overdueGapFactor * period, config.lookaheadMs);
  if (now - next > gap) {
    report.overdueJobs.push(item.jobId);
    deps.signals.event('Job Overdue', {
      jobId: item.jobId,
      nextRunAt: item.nextRunAt,
      overdueMs: now - next,
      lastOutcome: item.lastOutcome,
    });
  }
}

/**
 * The safety net under the due index: every state change of a job is conditional on its version, so an
 * enabled job with a next slot is always in the index; if one is ever found outside it (an item edited by
 * hand, a bug), it would never be dispatched nor reported overdue. Each tick reads one page of the table
 * (continuing where the last tick stopped, so the whole table is covered every few ticks) and puts such a
 * job back, loudly: an error log, a `Job Repaired` event and the `DueIndexRepaired` metric.
 */
async function auditDueIndex(
  deps: TickDeps,
  pageSize: number,
  now: number,
  segment: number,
  segments: number,
): Promise<string[]> {
  const cursor = await deps.store.getAuditCursor(segment, segments);
  const { jobs, next } = await deps.store.auditPage(cursor, pageSize, segment, segments);
  const repaired: string[] = [];
  for (const job of jobs) {
    if (leftForNewerBuild(deps, `job item "${job.jobId}"`, job)) continue;
    if (!(await deps.store.restoreDue(job, now))) continue;
    repaired.push(job.jobId);
    deps.log.error('enabled job was missing from the due index; put back', {
      jobId: job.jobId,
      nextRunAt: job.nextRunAt,
    });
    deps.signals.event('Job Repaired', { jobId: job.jobId, nextRunAt: job.nextRunAt });
  }
  if (repaired.length) deps.signals.metric('DueIndexRepaired', repaired.length);
  // A table that fits one page starts and ends at the start: nothing to remember (a write a minute saved).
  if (cursor || next) await deps.store.putAuditCursor(next, segment, segments);
  return repaired;
}

async function markInvalid(deps: TickDeps, jobId: string, error: string, now: number): Promise<void> {
  deps.log.error('job item is invalid; taken out of the schedule', { jobId, error });
  try {
    await deps.store.markJobInvalid(jobId, error, now);
  } catch (failure) {
    deps.log.error('could not mark job invalid', { jobId, error: errorMessage(failure) });
  }
  deps.signals.event('Job Invalid', { jobId, error });
}
