/**
 * Operations on jobs (SPEC §4): put, describe, list, pause, resume, delete, trigger. The CLI and the
 * CDK custom resource call these; `now` is a parameter like everywhere in shared/.
 */

import { randomBytes } from 'node:crypto';
import { excludedBy } from '../calendars/calendar.js';
import { JobNotFoundError, JobValidationError, PunctualError } from '../errors.js';
import { parseJob } from '../jobs/index.js';
import type { JobDefinition } from '../jobs/types.js';
import { sameJson } from '../json.js';
import { type RunDeps, sendAttempt } from '../runs/lifecycle.js';
import { nextSlot, slotsBetween } from '../schedule/index.js';
import { decodeJob, scheduleOf, scheduleSnapshot } from '../store/decode.js';
import {
  isIsoTime,
  iso,
  type JobItem,
  MAX_DEFERRED_RANGES,
  mergeDeferred,
  RUNNING_MAX,
  type RunItem,
  type RunStatus,
  runDefinition,
  runIdFor,
} from '../store/model.js';
import type { Store } from '../store/store.js';
import { accessViolations, type TargetAccessPolicy } from '../targets/access.js';
import { type EcsNetworkPolicy, ecsNetworkViolations } from '../targets/ecs-network.js';
import { undeclaredSecrets } from '../targets/secrets.js';
import { calendarSource } from '../tick/calendars.js';
import { type ClaimNowReport, claimNow, type TickConfig, type TickDeps } from '../tick/tick.js';
import { checkExcludedCalendars } from './calendars.js';

export type OpsDeps = RunDeps;

/**
 * What an operation needs to claim a job's first slots at once, with the tick's own claim protocol: a
 * create, an edit that re-anchors or a resume then sends the slots within the lookahead right away
 * instead of leaving them to the next tick (which would find them past due and coalesce them).
 */
export interface ClaimDeps {
  deps: TickDeps;
  config?: TickConfig;
}

export interface PutResult {
  job: JobItem;
  created: boolean;
  /** What changed, in words, for the CLI (`schedule`, `target`, `enabled: paused → running`). */
  changes: string[];
  warnings: string[];
  /** With `claim`: what was claimed and sent at once. */
  claimed?: ClaimNowReport;
}

/** Rate anchors fall on whole seconds (one second is the schedule floor). */
function ceilSecond(ms: number): number {
  return Math.ceil(ms / 1000) * 1000;
}

/**
 * Creates or updates a job. An update keeps the anchor (cadence) unless the schedule, time zone or
 * window changed, keeps the cursor (no slot is handled twice or lost), and keeps a pause unless the
 * definition's own `enabled` changed.
 */
export async function putJob(
  store: Store,
  input: unknown,
  now: number,
  options: {
    pools?: string[];
    handlerNames?: readonly string[];
    /**
     * The secrets the deployment declares (names only: the stack's `SecretNames` output, the local
     * runtime's state file), when it says: a job naming another is refused, as its runs would be.
     */
    secretNames?: readonly string[];
    /**
     * What each application's jobs may reach (the stack's `TargetAccess` output, the local runtime's
     * state), when the deployment declares applications: a job reaching beyond its list is refused, as its
     * runs would be.
     */
    targetAccess?: TargetAccessPolicy;
    /**
     * Where ecs tasks may be placed (the stack's `EcsNetwork` output, the local runtime's state), when
     * the deployment says: an ecs target naming another subnet, security group or a public IP is refused.
     */
    ecsNetwork?: EcsNetworkPolicy;
    /** The client's `jobIdPrefix`: a job id outside it is refused (its grant would refuse the write). */
    jobIdPrefix?: string;
    claim?: ClaimDeps;
  } = {},
): Promise<PutResult> {
  const definition = parseJob(input);
  const target = definition.target;
  if (options.jobIdPrefix !== undefined && !definition.id.startsWith(options.jobIdPrefix)) {
    throw new JobValidationError(
      [
        {
          path: 'id',
          value: definition.id,
          message: `must start with this client's jobIdPrefix ${JSON.stringify(options.jobIdPrefix)} (its grant reaches that application's jobs only)`,
        },
      ],
      `job "${definition.id}"`,
    );
  }
  if (options.secretNames) {
    const undeclared = undeclaredSecrets(target, options.secretNames);
    if (undeclared.length) throw new JobValidationError(undeclared, `job "${definition.id}"`);
  }
  if (options.targetAccess) {
    const refused = accessViolations(target, definition.id, options.targetAccess);
    if (refused.length) throw new JobValidationError(refused, `job "${definition.id}"`);
  }
  if (options.ecsNetwork) {
    const refused = ecsNetworkViolations(target, options.ecsNetwork);
    if (refused.length) throw new JobValidationError(refused, `job "${definition.id}"`);
  }
  if (options.handlerNames && target.type === 'handler' && !options.handlerNames.includes(target.name)) {
    throw new JobValidationError(
      [
        {
          path: 'target.name',
          value: target.name,
          message: `is not a handler this deployment's executors hold (they hold: ${[...options.handlerNames].sort().join(', ')})`,
        },
      ],
      `job "${definition.id}"`,
    );
  }
  if (options.pools && !options.pools.includes(definition.pool)) {
    throw new JobValidationError(
      [
        {
          path: 'pool',
          value: definition.pool,
          message: `no such pool; this deployment has ${options.pools.join(', ')}`,
        },
      ],
      `job "${definition.id}"`,
    );
  }
  await checkExcludedCalendars(store, definition);
  for (let attempt = 0; attempt < 8; attempt++) {
    const raw = await store.getJobFull(definition.id);
    const before = tagsOf(raw);
    // The tag index (shared/store/tags.ts): new entries before the job item holds the tags, the dropped
    // ones after it no longer does, so no tag the item holds lacks its entry.
    const added = tagsNotIn(definition.tags ?? {}, before);
    if (Object.keys(added).length) await store.putTagEntries(definition.id, added);
    const result = raw
      ? await updateJob(store, raw, definition, now)
      : await createJob(store, definition, now);
    if (!result) continue;
    const dropped = tagsNotIn(before, definition.tags ?? {});
    if (Object.keys(dropped).length) await store.deleteTagEntries(definition.id, dropped);
    result.warnings.push(...deprecations(definition));
    if (options.claim && result.job.enabled) {
      result.claimed = await claimNow(options.claim.deps, result.job, options.claim.config, now);
      if (result.claimed.error)
        result.warnings.push(
          `the first slots were not sent at once (${result.claimed.error}); the next tick sends them`,
        );
      if (result.claimed.dispatched + result.claimed.recorded > 0)
        result.job =
          ((await store.getJobFull(definition.id)) as unknown as JobItem | undefined) ?? result.job;
    }
    return result;
  }
  throw new PunctualError(`job "${definition.id}" kept changing while it was written; try again`);
}

/** Fields that still work but go in the next release, with what to write instead. */
function deprecations(definition: JobDefinition): string[] {
  const target = definition.target;
  if (target.type !== 'http' || target.hmacSecretEnv === undefined || target.hmacSecret !== undefined)
    return [];
  return [
    `target.hmacSecretEnv is deprecated and goes in the next release: write hmacSecret: ${target.hmacSecretEnv} ` +
      '(it names the same declared secret, never an environment variable; docs/security.md)',
  ];
}

async function createJob(
  store: Store,
  definition: JobDefinition,
  now: number,
): Promise<PutResult | undefined> {
  const startAt = definition.startAt ? Date.parse(definition.startAt) : undefined;
  const anchor = startAt ?? ceilSecond(now);
  // The first slot is the anchor itself for a new rate job (it starts now), or the first slot after
  // now; history before creation is never replayed (that is what backfill is for).
  const cursor = startAt === undefined ? anchor - 1 : Math.max(now, startAt - 1);
  const schedule = scheduleOf(definition, iso(anchor));
  const next = nextSlot(schedule, cursor);
  const item: JobItem = {
    pk: `JOB#${definition.id}`,
    sk: 'JOB',
    type: 'job',
    jobId: definition.id,
    definition,
    anchor: iso(anchor),
    cursor: iso(cursor),
    version: 1,
    enabled: definition.enabled,
    consecutiveFailures: 0,
    counts: {},
    createdAt: iso(now),
    updatedAt: iso(now),
    ...(next !== undefined ? { nextRunAt: iso(next) } : {}),
    ...(next !== undefined && definition.enabled
      ? { dueAt: iso(next), dueShard: store.shardOf(definition.id) }
      : {}),
    ...(definition.enabled ? {} : { note: 'declared disabled', pausedAt: iso(now) }),
    // 72 random bits: enough to tell a re-created job from its predecessor, in 12 characters.
    incarnation: randomBytes(9).toString('base64url'),
  };
  // A job deleted and created again under its id while runs of the old one are still in the target
  // (asynchronous runs: a worker, an execution, a task): with overlap skip/queue the new job counts them
  // as running, so its slots are skipped or held until they end, never started beside them. Their ends
  // leave the set and record nothing else on this job (another incarnation).
  if (definition.overlap !== 'allow') {
    const earlier = await store.runningOf(definition.id, RUNNING_MAX);
    if (earlier.length) item.running = new Set(earlier);
  }
  if (!(await store.createJob(item))) return undefined;
  return {
    job: item,
    created: true,
    changes: ['created'],
    warnings: next === undefined ? ['the schedule names no future slot'] : [],
  };
}

async function updateJob(
  store: Store,
  raw: Record<string, unknown>,
  definition: JobDefinition,
  now: number,
): Promise<PutResult | undefined> {
  const existing = raw as unknown as JobItem;
  const decoded = decodeJob(raw);
  // The stored definition as it is, valid or not: what changed is judged against it.
  const before = (
    typeof raw.definition === 'object' && raw.definition !== null ? raw.definition : {}
  ) as Partial<JobDefinition>;
  const changes: string[] = [];
  for (const field of Object.keys({ ...definition, ...before }) as (keyof JobDefinition)[]) {
    if (!sameJson(before[field], definition[field])) changes.push(field);
  }
  // A rate job's cadence hangs on its expression and startAt only; a time zone or an endAt does not move it.
  const reanchor = changes.includes('schedule') || changes.includes('startAt') || !isIsoTime(existing.anchor);
  // A new schedule (or zone) starts from now: slots the old one would have had are not owed by the new one.
  const restart = reanchor || changes.includes('timezone') || !isIsoTime(existing.cursor);
  const anchor = reanchor
    ? definition.startAt
      ? Date.parse(definition.startAt)
      : ceilSecond(now)
    : Date.parse(existing.anchor);
  const previousCursor = isIsoTime(existing.cursor) ? Date.parse(existing.cursor) : now;
  const cursor = restart
    ? Math.max(
        previousCursor,
        now,
        definition.startAt ? Date.parse(definition.startAt) - 1 : Number.NEGATIVE_INFINITY,
      )
    : previousCursor;
  const schedule = scheduleOf(definition, iso(anchor));
  const next = nextSlot(schedule, cursor);
  // A put changes the pause state only when the definition's own `enabled` changed (or the stored one is
  // unreadable); a pause by hand or by pauseAfterFailures is kept. The write is conditional on the version
  // read, and a pause bumps it, so a pause that lands after our read makes us read again.
  const hasEnabled = typeof existing.enabled === 'boolean';
  // Nothing to write: the same definition over a sound item in its shard (a deploy leaves such jobs untouched).
  // An item the tick marked invalid (a calendar or pool it named was missing) is not sound: put again, it
  // goes back into the schedule.
  const markedInvalid = existing.invalid !== undefined;
  const inItsShard = existing.dueShard === undefined || existing.dueShard === store.shardOf(definition.id);
  // A payload lives in a definition item; one still inline (an item from before they existed) is moved.
  const payloadInPlace = definition.payload === undefined || typeof existing.definitionId === 'string';
  if (
    changes.length === 0 &&
    decoded.ok &&
    !markedInvalid &&
    hasEnabled &&
    inItsShard &&
    payloadInPlace &&
    isIsoTime(existing.anchor) &&
    isIsoTime(existing.cursor)
  )
    return {
      job: existing,
      created: false,
      changes,
      warnings: next === undefined ? ['the schedule names no future slot'] : [],
    };
  const flips = !hasEnabled || (typeof before.enabled === 'boolean' && before.enabled !== definition.enabled);
  // From allow to skip/queue: the job item does not know the runs started under allow still in flight;
  // the write marks it so, and they are counted right after (adoptUntracked) before anything starts.
  const fromAllow = before.overlap === 'allow' && definition.overlap !== 'allow';
  const enabled = flips ? definition.enabled : (existing.enabled as boolean);
  const version = typeof existing.version === 'number' ? existing.version : 0;
  const written = await store.updateJobDefinition(definition.id, version, {
    definition,
    anchor: iso(anchor),
    cursor: iso(cursor),
    nextRunAt: next === undefined ? undefined : iso(next),
    enabled,
    pause: flips
      ? enabled
        ? { enabled: true }
        : { enabled: false, note: 'declared disabled', pausedAt: iso(now) }
      : undefined,
    recordsPending: Array.isArray(existing.deferred) && existing.deferred.length > 0,
    ...(typeof existing.definitionId === 'string' ? { previousDefinitionId: existing.definitionId } : {}),
    ...(fromAllow
      ? { untrackedRuns: 'mark' as const }
      : definition.overlap === 'allow' && existing.untrackedRuns !== undefined
        ? { untrackedRuns: 'clear' as const }
        : {}),
    now,
  });
  if (!written) return undefined;
  if (!decoded.ok || markedInvalid) changes.push('repaired (was invalid)');
  const warnings = next === undefined ? ['the schedule names no future slot'] : [];
  if (fromAllow) {
    // Were this put to stop here, the next start of the job would count them (shared/runs/execute.ts).
    const adopted = await store.adoptUntracked(definition.id);
    if (adopted.state === 'busy')
      warnings.push(
        `more than ${RUNNING_MAX} runs started under overlap allow are still in flight: ` +
          `no slot starts until fewer are (overlap ${definition.overlap})`,
      );
    else if (adopted.runIds.length)
      warnings.push(
        `${adopted.runIds.length} run(s) started under overlap allow still in flight: ` +
          `the next slots wait for them (overlap ${definition.overlap})`,
      );
  }
  const job = (await store.getJobFull(definition.id)) as unknown as JobItem;
  return { job, created: false, changes, warnings };
}

export interface JobDescription {
  job: JobItem;
  definition?: JobDefinition;
  invalid?: string;
  lastRuns: RunItem[];
  nextSlots: string[];
  /** Of `nextSlots`, those the job's exclusion calendars exclude, with the calendar's name. */
  excludedSlots: Record<string, string>;
  counts: Partial<Record<RunStatus, number>>;
  /**
   * Its runs in progress: the job item's running set, or for overlap `allow` (whose runs the job item does
   * not track) those the open index holds still running, at most RUNNING_MAX.
   */
  running: string[];
}

/** SPEC §4 describe: definition, state, the last 10 runs, the next 10 slots, counters by status. */
export async function describeJob(store: Store, jobId: string, now: number): Promise<JobDescription> {
  const raw = await store.getJobFull(jobId);
  if (!raw) throw new JobNotFoundError(jobId);
  const decoded = decodeJob(raw);
  const job = raw as unknown as JobItem;
  const { items: lastRuns } = await store.queryRuns(jobId, { limit: 10, newestFirst: true });
  if (!decoded.ok)
    return {
      job,
      invalid: decoded.error,
      lastRuns,
      nextSlots: [],
      excludedSlots: {},
      counts: job.counts ?? {},
      running: [...(job.running ?? [])],
    };
  // The slots that will run, claimed (sent, at or before the cursor) or not: one meaning of "next slot"
  // everywhere (jobs list, get, put, resume, the live view and the console), as upcomingSlot.
  const nextSlots = job.enabled
    ? slotsBetween(decoded.job.schedule, now, Number.MAX_SAFE_INTEGER, 10).map(iso)
    : [];
  const excludedSlots = await excludedOf(store, decoded.job.definition.exclude, nextSlots);
  // (Runs of an edit from allow not yet counted on the item are in the open index too.)
  const running =
    decoded.job.definition.overlap === 'allow' || job.untrackedRuns !== undefined
      ? [...new Set([...(job.running ?? []), ...(await store.runningOf(jobId, RUNNING_MAX))])]
      : [...(job.running ?? [])];
  return {
    job,
    definition: decoded.job.definition,
    ...(job.invalid ? { invalid: job.invalid.error } : {}),
    lastRuns,
    nextSlots,
    excludedSlots,
    counts: job.counts ?? {},
    running,
  };
}

/** Which of `slots` the calendars `exclude` names exclude (one read of the calendars, only when it names one). */
async function excludedOf(
  store: Store,
  exclude: readonly string[] | undefined,
  slots: readonly string[],
): Promise<Record<string, string>> {
  if (!exclude?.length || !slots.length) return {};
  const calendars = await calendarSource(store)();
  const excluded: Record<string, string> = {};
  for (const slot of slots) {
    const calendar = excludedBy(exclude, calendars, Date.parse(slot));
    if (calendar !== undefined) excluded[slot] = calendar;
  }
  return excluded;
}

/**
 * The job's next slot after `now`, as a person means it. `nextRunAt` is the next slot not yet claimed:
 * the tick claims up to a lookahead ahead, so slots before it may already be on their way.
 */
export function upcomingSlot(job: JobItem, now: number): string | undefined {
  if (!job.enabled) return undefined;
  const decoded = decodeJob(job as unknown as Record<string, unknown>);
  if (!decoded.ok) return undefined;
  const next = nextSlot(decoded.job.schedule, now);
  return next === undefined ? undefined : iso(next);
}

/**
 * The slots of a job's schedule in [from, to), at most `limit`, claimed or not. An invalid job has none
 * (its error is on the job).
 */
export async function scheduleSlots(
  store: Store,
  jobId: string,
  window: { from: number; to: number },
  limit: number,
): Promise<{ slots: string[]; truncated: boolean; excluded: Record<string, string> }> {
  if (!(window.from < window.to))
    throw new PunctualError(`from ${iso(window.from)} must be before to ${iso(window.to)}`);
  const raw = await store.getJobRaw(jobId);
  if (!raw) throw new JobNotFoundError(jobId);
  const decoded = decodeJob(raw);
  if (!decoded.ok) return { slots: [], truncated: false, excluded: {} };
  const slots = slotsBetween(decoded.job.schedule, window.from - 1, window.to - 1, limit + 1);
  const listed = slots.slice(0, limit).map(iso);
  // Read once and compiled once per call (calendarSource), checked per slot: a few windows each.
  const excluded = await excludedOf(store, decoded.job.definition.exclude, listed);
  return { slots: listed, truncated: slots.length > limit, excluded };
}

/** Every job item, sorted by id (invalid ones included, flagged). */
export async function listJobs(store: Store): Promise<JobItem[]> {
  const jobs: JobItem[] = [];
  for await (const raw of store.scanJobs()) jobs.push(raw as unknown as JobItem);
  return jobs.sort((a, b) => String(a.jobId).localeCompare(String(b.jobId)));
}

async function requireJob(store: Store, jobId: string): Promise<JobItem> {
  const raw = await store.getJobRaw(jobId);
  if (!raw) throw new JobNotFoundError(jobId);
  return raw as unknown as JobItem;
}

/** Tries a conditional change a few times, reading the job again each time it lost a race. */
const RACE_ATTEMPTS = 8;

/**
 * Pauses a job: out of the due index, with a note. A paused job stays paused (idempotent). The write is
 * conditional on the version read and bumps it, so nothing planned from the job as it was (a claim, a put,
 * a resume) can undo the pause.
 */
export async function pauseJob(
  store: Store,
  jobId: string,
  now: number,
  note = 'paused by operator',
): Promise<JobItem> {
  for (let attempt = 0; attempt < RACE_ATTEMPTS; attempt++) {
    const job = await requireJob(store, jobId);
    if (!job.enabled) return job;
    const recordsPending = Boolean(job.deferred?.length);
    if (await store.pauseJob(jobId, job.version, { now, note, recordsPending }))
      return requireJob(store, jobId);
  }
  throw new PunctualError(`job "${jobId}" kept changing while it was being paused; try again`);
}

/**
 * Resumes a job. The cadence keeps its anchor. Slots that passed while paused are recorded
 * skipped(paused) by the tick, or, with `replay`, handed to the job's catch-up policy. Conditional on the
 * version read (an edit that lands meanwhile is never undone); with `claim`, the job's slots within the
 * lookahead are claimed and sent at once instead of at the next tick.
 */
export async function resumeJob(
  store: Store,
  jobId: string,
  now: number,
  options: { replay?: boolean; claim?: ClaimDeps } = {},
): Promise<JobItem> {
  for (let attempt = 0; attempt < RACE_ATTEMPTS; attempt++) {
    const job = await requireJob(store, jobId);
    if (job.enabled) return job;
    const decoded = decodeJob(job as unknown as Record<string, unknown>);
    if (!decoded.ok)
      throw new PunctualError(
        `job "${jobId}" is invalid (${decoded.error}); fix it with \`punctual jobs put\``,
      );
    const { schedule } = decoded.job;
    const cursor = Date.parse(job.cursor);
    let resumed: boolean;
    if (options.replay) {
      // The slots that passed go to the catch-up policy, as after an outage; none is cancelled for the pause.
      const next = nextSlot(schedule, cursor);
      resumed = await store.resumeJob(jobId, job.version, {
        now,
        pausedAt: undefined,
        ...(next !== undefined ? { nextRunAt: next } : {}),
      });
    } else if (cursor >= now) {
      // Slots up to the cursor were claimed before the pause; those whose time came while paused are
      // cancelled by the executor (lastPause), the others run.
      const next = nextSlot(schedule, cursor);
      resumed = await store.resumeJob(jobId, job.version, {
        now,
        pausedAt: job.pausedAt,
        ...(next !== undefined ? { nextRunAt: next } : {}),
      });
    } else {
      // The slots that passed while paused are recorded skipped(paused) behind the cursor, which moves to
      // now; ranges still pending from before the pause keep their place (merged when alike, bounded).
      const next = nextSlot(schedule, now);
      const deferred = mergeDeferred([
        ...(job.deferred ?? []),
        {
          after: job.cursor,
          until: iso(now),
          status: 'skipped',
          reason: 'paused',
          schedule: scheduleSnapshot(decoded.job.definition, job.anchor),
        },
      ]);
      if (deferred.length > MAX_DEFERRED_RANGES)
        throw new PunctualError(
          `job "${jobId}" has ${deferred.length - 1} ranges of records still to write from earlier pauses and ` +
            'edits (at most ' +
            `${MAX_DEFERRED_RANGES}); the tick writes them within a minute or two: resume again then`,
        );
      resumed = await store.resumeJob(jobId, job.version, {
        now,
        pausedAt: job.pausedAt,
        cursor: now,
        ...(next !== undefined ? { nextRunAt: next } : {}),
        deferred,
      });
    }
    if (resumed) {
      const written = await requireJob(store, jobId);
      if (!options.claim) return written;
      const claimed = await claimNow(options.claim.deps, written, options.claim.config, now);
      return claimed.dispatched + claimed.recorded > 0 ? requireJob(store, jobId) : written;
    }
  }
  throw new PunctualError(`job "${jobId}" kept changing while it was being resumed; try again`);
}

export async function deleteJob(store: Store, jobId: string, now: number): Promise<void> {
  const raw = await store.getJobRaw(jobId);
  if (!(await store.deleteJob(jobId, now))) throw new JobNotFoundError(jobId);
  const tags = tagsOf(raw);
  if (Object.keys(tags).length) await store.deleteTagEntries(jobId, tags);
}

/** The tags of a stored job item (none when it has none or is unreadable). */
function tagsOf(raw: Record<string, unknown> | undefined): Record<string, string> {
  const tags = (raw?.definition as { tags?: unknown } | undefined)?.tags;
  if (!tags || typeof tags !== 'object') return {};
  return Object.fromEntries(
    Object.entries(tags as Record<string, unknown>).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
}

/** The tags of `tags` that `other` does not have with the same value. */
function tagsNotIn(tags: Record<string, string>, other: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).filter(([key, value]) => other[key] !== value));
}

/** A manual run `jobId@manual-<now>`: runs once, now; never touches the schedule (SPEC §4). */
export async function triggerJob(deps: OpsDeps, jobId: string, now: number): Promise<RunItem> {
  const raw = await deps.store.getJobRaw(jobId);
  if (!raw) throw new JobNotFoundError(jobId);
  const decoded = decodeJob(raw);
  if (!decoded.ok)
    throw new PunctualError(
      `job "${jobId}" is invalid (${decoded.error}); fix it with \`punctual jobs put\``,
    );
  const run = deps.store.newRun(
    {
      runId: runIdFor(jobId, now, true),
      jobId,
      scheduledAt: iso(now),
      manual: true,
      status: 'dispatched',
      ...runDefinition(decoded.job.item, decoded.job.definition),
      jobVersion: decoded.job.item.version,
      dispatchedAt: iso(now),
      openShard: deps.store.openShard(jobId),
      openUntil: iso(now + 60_000),
    },
    now,
  );
  if (!(await deps.store.createRun(run)))
    throw new PunctualError(`run ${run.runId} exists already; trigger again`);
  await sendAttempt(deps, run, 1, 0);
  return run;
}
