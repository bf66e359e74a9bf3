/**
 * Exclusion calendars (issue 20 feature 2): named sets of instants shared by jobs. A job lists
 * `exclude: [uk-bank-holidays]`; a slot a calendar excludes is recorded skipped(calendar) with the
 * calendar's name, never run. The job's cadence keeps its anchor: the slot is still a slot, only its fate
 * differs.
 *
 * A calendar excludes, each in its time zone:
 *  - `dates`: whole local days (`2026-12-25` is 00:00 to 24:00 in the zone);
 *  - `ranges`: local [from, to) spans (`{ from: 2026-12-24T12:00:00, to: 2027-01-02 }`);
 *  - `cron`: expressions whose instants are excluded, to the minute (to the second for a crontab line
 *    with seconds): `cron(* 0-7 ? * * *)` excludes every slot between 00:00 and 07:59.
 *
 * Pure: no store, no clock.
 */
import { z } from 'zod';
import { InvalidScheduleError, type Violation } from '../errors.js';
// Not ../jobs/schema.js: the job schema imports this module (the `exclude` field's names).
import { errorMap, joinPath, toViolations } from '../jobs/violations.js';
import { parseSchedule, previousSlot } from '../schedule/index.js';
import type { SingleSchedule } from '../schedule/types.js';
import { instantOf, isKnownTimeZone } from '../schedule/zone.js';

/** A calendar as written in a jobs file's `calendars:` map, the construct's or the client's. */
export interface CalendarDefinition {
  name: string;
  description?: string;
  /** IANA zone the dates, ranges and expressions are read in. Default UTC. */
  timezone: string;
  /** Whole local days, `YYYY-MM-DD`. */
  dates?: string[];
  /** Local spans, `from` inclusive, `to` exclusive: `YYYY-MM-DD` (its 00:00) or `YYYY-MM-DDThh:mm:ss`. */
  ranges?: { from: string; to: string }[];
  /** Schedule expressions (cron or crontab) whose instants are excluded, to the minute. */
  cron?: string[];
}

export const CALENDAR_NAME_PATTERN = /^[a-z0-9][a-z0-9\-_.]{0,63}$/;
/** Most calendars one job excludes: each is checked on every slot. */
export const MAX_EXCLUDE = 5;
export const MAX_CALENDAR_DATES = 2000;
export const MAX_CALENDAR_RANGES = 200;
export const MAX_CALENDAR_CRON = 10;

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** Why a calendar name is refused, or undefined. */
export function calendarNameProblem(name: string): string | undefined {
  return CALENDAR_NAME_PATTERN.test(name)
    ? undefined
    : 'must be 1–64 lowercase letters, digits and - _ ., starting with a letter or digit';
}

function localDateProblem(text: string): string | undefined {
  const m = LOCAL_DATE.exec(text);
  if (!m) return 'is not a date written YYYY-MM-DD';
  const [year, month, day] = m.slice(1).map(Number) as [number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return 'is not a day of the calendar';
  return undefined;
}

function localTimeProblem(text: string): string | undefined {
  if (LOCAL_DATE.test(text)) return localDateProblem(text);
  const m = LOCAL_TIME.exec(text);
  if (!m)
    return 'is not a local time written YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss] (no zone: the calendar has one)';
  const dateProblem = localDateProblem(text.slice(0, 10));
  if (dateProblem) return dateProblem;
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return 'is not a time of day (00:00:00 to 23:59:59)';
  return undefined;
}

const refine = (problem: (value: string) => string | undefined) => (value: string, ctx: z.RefinementCtx) => {
  const message = problem(value);
  if (message) ctx.addIssue({ code: 'custom', message });
};

const calendarShape = z.strictObject({
  description: z.string().max(1024).optional(),
  timezone: z
    .string()
    .superRefine(
      refine((zone) =>
        isKnownTimeZone(zone) ? undefined : 'is not an IANA time zone (e.g. UTC, Europe/London)',
      ),
    )
    .default('UTC'),
  dates: z
    .array(z.string().superRefine(refine(localDateProblem)))
    .max(MAX_CALENDAR_DATES)
    .optional(),
  ranges: z
    .array(
      z.strictObject({
        from: z.string().superRefine(refine(localTimeProblem)),
        to: z.string().superRefine(refine(localTimeProblem)),
      }),
    )
    .max(MAX_CALENDAR_RANGES)
    .optional(),
  cron: z.array(z.string().min(1).max(256)).min(1).max(MAX_CALENDAR_CRON).optional(),
});

/**
 * Checks one calendar (the value under its name), every violation at once; paths start with `prefix`
 * (`calendars.uk-bank-holidays`).
 */
export function checkCalendar(
  name: string,
  raw: unknown,
  prefix = joinPath('', ['calendars', name]),
): { ok: true; calendar: CalendarDefinition } | { ok: false; violations: Violation[] } {
  const violations: Violation[] = [];
  const nameProblem = calendarNameProblem(name);
  if (nameProblem) violations.push({ path: prefix, value: name, message: nameProblem });
  const knownKeys = new Map<string, string[]>();
  const input = raw ?? {};
  const result = calendarShape.safeParse(input, { error: errorMap(knownKeys) });
  if (!result.success) {
    violations.push(...toViolations(result.error.issues, input, prefix, knownKeys));
    return { ok: false, violations };
  }
  const calendar: CalendarDefinition = { name, ...result.data } as CalendarDefinition;
  const { timezone } = calendar;
  calendar.ranges?.forEach((range, i) => {
    if (!(localInstant(timezone, range.to) > localInstant(timezone, range.from))) {
      violations.push({
        path: joinPath(prefix, ['ranges', i, 'to']),
        value: range.to,
        message: `must be after from (${range.from})`,
      });
    }
  });
  calendar.cron?.forEach((expression, i) => {
    try {
      const schedule = parseSchedule(expression, { timezone });
      if (schedule.kind !== 'cron') throw new InvalidScheduleError(expression, 'must be a cron expression');
    } catch (error) {
      if (!(error instanceof InvalidScheduleError)) throw error;
      violations.push({ path: joinPath(prefix, ['cron', i]), value: expression, message: error.rule });
    }
  });
  if (!calendar.dates?.length && !calendar.ranges?.length && !calendar.cron?.length) {
    violations.push({ path: prefix, value: raw, message: 'excludes nothing: give dates, ranges or cron' });
  }
  return violations.length ? { ok: false, violations } : { ok: true, calendar };
}

/** A calendar ready to answer "is this instant excluded?": sorted [start, end) windows and cron schedules. */
export interface CompiledCalendar {
  name: string;
  windows: [start: number, end: number][];
  crons: { schedule: SingleSchedule; resolutionMs: number }[];
}

export function compileCalendar(calendar: CalendarDefinition): CompiledCalendar {
  const { timezone } = calendar;
  const windows: [number, number][] = [];
  for (const date of calendar.dates ?? []) {
    windows.push([localInstant(timezone, date), localInstant(timezone, nextDay(date))]);
  }
  for (const range of calendar.ranges ?? []) {
    windows.push([localInstant(timezone, range.from), localInstant(timezone, range.to)]);
  }
  windows.sort((a, b) => a[0] - b[0]);
  const crons = (calendar.cron ?? []).map((expression) => {
    const schedule = parseSchedule(expression, { timezone }) as SingleSchedule;
    const resolutionMs = schedule.kind === 'cron' && schedule.dialect === 'crontab-seconds' ? 1000 : 60_000;
    return { schedule, resolutionMs };
  });
  return { name: calendar.name, windows, crons };
}

/** True when the calendar excludes `instant`. */
export function excludes(calendar: CompiledCalendar, instant: number): boolean {
  // The windows are few (a year of holidays is a dozen); a linear scan over the sorted list stops early.
  for (const [start, end] of calendar.windows) {
    if (start > instant) break;
    if (instant < end) return true;
  }
  for (const { schedule, resolutionMs } of calendar.crons) {
    const t = instant - (((instant % resolutionMs) + resolutionMs) % resolutionMs);
    if (previousSlot(schedule, t) === t) return true;
  }
  return false;
}

/**
 * The first of the job's calendars that excludes `slot`, by name, or undefined. `calendars` holds the
 * compiled calendars by name; a name it lacks excludes nothing (the caller decides what a missing one means).
 */
export function excludedBy(
  exclude: readonly string[] | undefined,
  calendars: ReadonlyMap<string, CompiledCalendar>,
  slot: number,
): string | undefined {
  for (const name of exclude ?? []) {
    const calendar = calendars.get(name);
    if (calendar && excludes(calendar, slot)) return name;
  }
  return undefined;
}

function localInstant(timezone: string, text: string): number {
  const m = LOCAL_TIME.exec(text) ?? LOCAL_DATE.exec(text);
  if (!m) return Number.NaN;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return instantOf(timezone, { year, month, day, hour, minute, second });
}

function nextDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

function daysIn(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0);
  return d.getUTCDate();
}
