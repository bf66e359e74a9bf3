/**
 * Reads a stored job item back into something the scheduler can trust. An item edited by hand in the
 * console can be anything; this is the one place that decides whether it is usable (SPEC §7).
 */
import { parseJob } from '../jobs/index.js';
import type { JobDefinition } from '../jobs/types.js';
import { parseSchedule } from '../schedule/index.js';
import type { Schedule } from '../schedule/types.js';
import { errorMessage } from '../util.js';
import type { JobItem } from './model.js';

export interface DecodedJob {
  item: JobItem;
  definition: JobDefinition;
  schedule: Schedule;
}

export type DecodeResult = { ok: true; job: DecodedJob } | { ok: false; jobId: string; error: string };

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function checkTime(raw: Record<string, unknown>, field: string, required: boolean, problems: string[]) {
  const value = raw[field];
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || !ISO.test(value) || Number.isNaN(Date.parse(value))) {
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

export function decodeJob(raw: Record<string, unknown>): DecodeResult {
  const jobId = typeof raw.jobId === 'string' ? raw.jobId : String(raw.pk ?? '?').replace(/^JOB#/, '');
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
    const deferred = raw.deferred as Record<string, unknown>;
    if (typeof deferred !== 'object' || deferred === null) problems.push('deferred: must be a map');
    else {
      checkTime(deferred, 'after', true, problems);
      checkTime(deferred, 'until', true, problems);
      if (deferred.status !== 'missed' && deferred.status !== 'skipped') {
        problems.push(`deferred.status ${JSON.stringify(deferred.status)}: must be missed or skipped`);
      }
    }
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
    return { ok: true, job: { item: raw as unknown as JobItem, definition, schedule } };
  } catch (error) {
    return { ok: false, jobId, error: errorMessage(error) };
  }
}
