/**
 * Reads a stored job item back into something the scheduler can trust. An item edited by hand in the
 * console can be anything; this is the one place that decides whether it is usable (SPEC §7).
 */
import { parseJob } from '../jobs/index.js';
import type { JobDefinition } from '../jobs/types.js';
import { parseSchedule } from '../schedule/index.js';
import type { Schedule } from '../schedule/types.js';
import { errorMessage } from '../util.js';
import { type DeferredRecords, isIsoTime, type JobItem } from './model.js';

export interface DecodedJob {
  item: JobItem;
  definition: JobDefinition;
  schedule: Schedule;
}

export type DecodeResult = { ok: true; job: DecodedJob } | { ok: false; jobId: string; error: string };

function checkTime(raw: Record<string, unknown>, field: string, required: boolean, problems: string[]) {
  const value = raw[field];
  if (value === undefined && !required) return;
  if (!isIsoTime(value)) {
    problems.push(`${field} ${JSON.stringify(value)}: must be an ISO-8601 UTC time`);
  }
}

export function scheduleOf(definition: JobDefinition, anchor: string): Schedule {
  return parseSchedule(definition.schedule, {
    timezone: definition.timezone,
    anchor: Date.parse(anchor),
    ...(definition.startAt ? { startAt: Date.parse(definition.startAt) } : {}),
    ...(definition.endAt ? { endAt: Date.parse(definition.endAt) } : {}),
  });
}

/** The part of a definition that names its slots, as a deferred range keeps it. */
export function scheduleSnapshot(definition: JobDefinition, anchor: string): DeferredRecords['schedule'] {
  return {
    expression: definition.schedule,
    timezone: definition.timezone,
    anchor,
    ...(definition.startAt ? { startAt: definition.startAt } : {}),
    ...(definition.endAt ? { endAt: definition.endAt } : {}),
  };
}

/** The schedule of a deferred range (the job's schedule when the range was cut). */
export function rangeSchedule(range: DeferredRecords): Schedule {
  const { expression, timezone, anchor, startAt, endAt } = range.schedule;
  return parseSchedule(expression, {
    timezone,
    anchor: Date.parse(anchor),
    ...(startAt ? { startAt: Date.parse(startAt) } : {}),
    ...(endAt ? { endAt: Date.parse(endAt) } : {}),
  });
}

export function decodeJob(raw: Record<string, unknown>): DecodeResult {
  // The key is the identity: an invalid item is marked under its key, whatever its jobId says.
  const jobId = typeof raw.pk === 'string' ? raw.pk.replace(/^JOB#/, '') : String(raw.jobId ?? '?');
  const problems: string[] = [];
  if (typeof raw.version !== 'number' || !Number.isInteger(raw.version)) {
    problems.push(`version ${JSON.stringify(raw.version)}: must be an integer`);
  }
  if (typeof raw.enabled !== 'boolean')
    problems.push(`enabled ${JSON.stringify(raw.enabled)}: must be true or false`);
  checkTime(raw, 'anchor', true, problems);
  checkTime(raw, 'cursor', true, problems);
  checkTime(raw, 'nextRunAt', false, problems);
  if (raw.deferred !== undefined) {
    if (!Array.isArray(raw.deferred)) problems.push('deferred: must be a list of ranges');
    else
      raw.deferred.forEach((range: unknown, i: number) => {
        const r = (range ?? {}) as Record<string, unknown>;
        checkTime(r, 'after', true, problems);
        checkTime(r, 'until', true, problems);
        if (r.status !== 'missed' && r.status !== 'skipped')
          problems.push(`deferred[${i}].status: must be missed or skipped`);
        if (
          r.exclude !== undefined &&
          !(Array.isArray(r.exclude) && r.exclude.every((name) => typeof name === 'string'))
        )
          problems.push(`deferred[${i}].exclude: must be a list of calendar names`);
        try {
          rangeSchedule(r as unknown as DeferredRecords);
        } catch (error) {
          problems.push(`deferred[${i}].schedule: ${errorMessage(error)}`);
        }
      });
  }
  // The run state the tick and the executor rely on: a hand edit that breaks it must make the job
  // invalid (and visible), not wedge it silently.
  const pkId = typeof raw.pk === 'string' ? raw.pk.replace(/^JOB#/, '') : undefined;
  if (pkId !== undefined && raw.jobId !== pkId)
    problems.push(`jobId ${JSON.stringify(raw.jobId)}: must equal the key's id ${JSON.stringify(pkId)}`);
  if (raw.lease !== undefined) {
    const lease = raw.lease as Record<string, unknown>;
    if (typeof lease !== 'object' || lease === null || typeof lease.token !== 'string')
      problems.push('lease: must be a map with a token');
    else checkTime(lease, 'until', true, problems);
  }
  if (
    raw.running !== undefined &&
    !(raw.running instanceof Set && [...raw.running].every((id) => typeof id === 'string'))
  ) {
    problems.push('running: must be a string set of run ids');
  }
  if (raw.held !== undefined && typeof raw.held !== 'string') problems.push('held: must be a run id');
  if (raw.counts !== undefined) {
    const counts = raw.counts as Record<string, unknown>;
    if (
      typeof counts !== 'object' ||
      counts === null ||
      Array.isArray(counts) ||
      !Object.values(counts).every((n) => typeof n === 'number')
    ) {
      problems.push('counts: must be a map of numbers');
    }
  }
  if (raw.consecutiveFailures !== undefined && typeof raw.consecutiveFailures !== 'number') {
    problems.push('consecutiveFailures: must be a number');
  }
  let definition: JobDefinition | undefined;
  try {
    definition = parseJob(raw.definition);
    if (definition.id !== jobId)
      problems.push(
        `definition.id ${JSON.stringify(definition.id)}: must equal the item's jobId ${JSON.stringify(jobId)}`,
      );
  } catch (error) {
    problems.push(`definition: ${errorMessage(error)}`);
  }
  if (problems.length || !definition) return { ok: false, jobId, error: problems.join('; ') };
  try {
    const schedule = scheduleOf(definition, raw.anchor as string);
    // maxRuns reached: no slot after the cursor is owed (claimed ones are recorded skipped(max-runs)).
    const started = typeof raw.runsStarted === 'number' ? raw.runsStarted : 0;
    if (definition.maxRuns !== undefined && started >= definition.maxRuns) {
      const end = Math.max(Date.parse(raw.cursor as string) + 1, (schedule.startAt ?? 0) + 1);
      schedule.endAt = Math.min(schedule.endAt ?? end, end);
    }
    return { ok: true, job: { item: raw as unknown as JobItem, definition, schedule } };
  } catch (error) {
    return { ok: false, jobId, error: errorMessage(error) };
  }
}
