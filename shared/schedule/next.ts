/**
 * The next slots of one expression, as `punctual schedule next` prints them and the package's `nextSlots`
 * returns them: pure, no runtime, no AWS.
 */
import { type CalendarDefinition, compileCalendar, excludedBy } from '../calendars/calendar.js';
import { PunctualError } from '../errors.js';
import { describeSchedule } from './describe.js';
import { parseSchedule } from './parse.js';
import { slotsBetween } from './slots.js';
import type { ScheduleSpec } from './types.js';

/** @example nextSlots('rate(90 minutes)', { after: '2026-12-01T00:00:00Z', count: 3, timezone: 'UTC' }); */
export interface NextSlotsOptions {
  /** IANA time zone the expression is evaluated in. Default `UTC`. */
  timezone?: string;
  /**
   * List slots at or after this instant: a Date, epoch milliseconds, or an ISO-8601 time with a zone
   * (`2026-12-01T00:00:00Z`). A `rate()` expression is anchored here. Default: now.
   */
  after?: Date | number | string;
  /** How many slots, 1–1000. Default 10. */
  count?: number;
  /**
   * Exclusion calendars to mark the slots with (`excluded`), as a job listing them in `exclude` would
   * skip them. Checked as a put checks them.
   */
  calendars?: readonly CalendarDefinition[];
}

/** What `nextSlots` returns. @example const { description, timezone, slots } = nextSlots('cron(0/15 * * * ? *)'); */
export interface NextSlots {
  /** The schedule in words (`every 5 minutes`, `daily at 02:00 (Europe/Berlin)`). */
  description: string;
  timezone: string;
  /** The slots, ISO-8601 UTC, earliest first. Empty when the schedule names no instant at or after `after`. */
  slots: string[];
  /** Of `slots`, those one of `calendars` excludes (recorded skipped(calendar) on a job): slot → calendar. */
  excluded: Record<string, string>;
}

const ISO_WITH_ZONE = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Parses an instant given as text: an ISO-8601 time with a zone (`Z` or an offset). `field` names the
 * input in the error (`--after`, `after`).
 */
export function parseInstantText(field: string, text: string): number {
  const ms = ISO_WITH_ZONE.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new PunctualError(
      `${field} ${JSON.stringify(text)}: not an ISO-8601 time with a zone, e.g. 2026-12-01T00:00:00Z`,
    );
  }
  return ms;
}

function instantOf(value: Date | number | string): number {
  if (typeof value === 'string') return parseInstantText('after', value);
  const ms = value instanceof Date ? value.getTime() : value;
  if (!Number.isFinite(ms)) {
    throw new PunctualError(
      `after ${String(value)}: must be a valid Date, epoch milliseconds or ISO-8601 time`,
    );
  }
  return ms;
}

/**
 * The next `count` slots of a schedule expression (or of a list of them: their union) at or after `after`. A rate expression is anchored at
 * `after` (rounded up to the second), as a job created at that instant would be: its first slot is the
 * anchor.
 *
 * @throws InvalidScheduleError naming the expression and the rule it breaks.
 * @example
 * import { nextSlots } from 'punctual';
 *
 * const { description, slots } = nextSlots('cron(0 2 * * ? *)', { timezone: 'Europe/Berlin', count: 3 });
 * // description: 'daily at 02:00 (Europe/Berlin)', slots: ['2026-12-02T01:00:00.000Z', …]
 */
export function nextSlots(expression: ScheduleSpec, options: NextSlotsOptions = {}): NextSlots {
  const count = options.count ?? 10;
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    throw new PunctualError(`count ${JSON.stringify(count)}: must be a whole number from 1 to 1000`);
  }
  const after = instantOf(options.after ?? Date.now());
  const anchor = Math.ceil(after / 1000) * 1000;
  const timezone = options.timezone ?? 'UTC';
  const schedule = parseSchedule(expression, { timezone, anchor });
  const slots = slotsBetween(schedule, after - 1, Number.POSITIVE_INFINITY, count);
  const calendars = new Map((options.calendars ?? []).map((c) => [c.name, compileCalendar(c)]));
  const excluded: Record<string, string> = {};
  for (const slot of slots) {
    const calendar = excludedBy([...calendars.keys()], calendars, slot);
    if (calendar !== undefined) excluded[new Date(slot).toISOString()] = calendar;
  }
  return {
    description: describeSchedule(schedule),
    timezone,
    slots: slots.map((slot) => new Date(slot).toISOString()),
    excluded,
  };
}
