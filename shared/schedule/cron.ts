/**
 * The adapter over croner (https://croner.56k.guru): the only file that imports it. Everything else speaks
 * epoch ms and `CronSchedule`.
 *
 * DST (SPEC §3). croner matches the pattern against wall-clock times; the zone is applied here, not by
 * croner. croner runs in UTC, where no time is skipped or repeated, over "naive" wall-clock values (the
 * job's local time read as if it were UTC), and each match becomes an instant with instantOf:
 * - a wall-clock time that occurs twice (fall back) runs once, at its first occurrence, for every job,
 *   hourly and stepped ones included (croner, given the zone, would run those "interval" jobs twice);
 * - a wall-clock time that does not exist (spring forward) runs at the next valid instant, the moment the
 *   clock jumps, for every job: a daily 02:30 runs at 03:00, and so do `30 2,14 * * *` and
 *   `0/15 2 * * ? *` (croner would skip the latter's times, and the job that day). Several such times
 *   fall on the same instant and make one slot; for `0 * * * *` or `0/30 * * * ? *` that is the 03:00
 *   slot itself, so those jobs look just as they do under croner.
 * croner's `fixedTimeRule` therefore never comes into play.
 */
import { Cron, type CronOptions } from 'croner';
import type { CronSchedule } from './types.js';
import { instantOf, localTime, wallClockReached } from './zone.js';

export type CronDialect = CronSchedule['dialect'];

/** croner's options for a dialect. The pattern handed over is always seconds-first (6 or 7 fields). */
export function cronerOptions(dialect: CronDialect): CronOptions {
  return {
    timezone: 'UTC',
    // When both day fields are restricted, a day matching either one matches. A field is restricted unless it
    // is `*` or `?`: `*/10` in day-of-month is restricted, so `0 0 */10 * SUN` runs on the 1st, 11th, 21st
    // and 31st and on Sundays, as in robfig/cron and croniter; Vixie cron would treat `*/10` as unrestricted
    // and run only on Sundays that are the 1st, 11th, 21st or 31st. EventBridge always has one `?` (mapped
    // to `*`), and then croner uses the other field alone.
    domAndDow: false,
    ...(dialect === 'eventbridge'
      ? {
          mode: '7-part',
          // EventBridge numbers the days 1-7 = SUN-SAT, as Quartz does.
          alternativeWeekdays: true,
        }
      : { mode: '6-part' }),
  };
}

const cache = new Map<string, Cron>();
const CACHE_SIZE = 512;

/** A croner instance for the pattern (cached: the tick evaluates the same few patterns over and over). */
export function cronerFor(dialect: CronDialect, pattern: string): Cron {
  const key = `${dialect}\n${pattern}`;
  let cron = cache.get(key);
  if (cron === undefined) {
    cron = new Cron(pattern, cronerOptions(dialect));
    if (cache.size >= CACHE_SIZE) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(key, cron);
  }
  return cron;
}

/** Why croner rejects the pattern, or undefined when it takes it. Not cached: used to probe single fields. */
export function cronerError(dialect: CronDialect, pattern: string): string | undefined {
  try {
    new Cron(pattern, cronerOptions(dialect));
    return undefined;
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).replace(/^CronPattern: /, '');
  }
}

/** croner walks dates from year 1 to 9999; references outside that range have no match beyond them. */
const FIRST_MS = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const LAST_MS = 253_402_300_799_000; // 9999-12-31T23:59:59Z

/** The first slot strictly after `after`. */
export function cronNext(s: CronSchedule, after: number): number | undefined {
  // Every wall-clock time up to `reached` has had its first occurrence by `after`; a later one has not (a
  // time in a spring-forward gap maps to the jump, which is after `after` too).
  const reached = Math.max(wallClockReached(s.timezone, clamp(after)), FIRST_MS - 1);
  if (reached >= LAST_MS) return undefined;
  const match = cronerFor(s.dialect, s.pattern).nextRun(new Date(reached));
  return match === null ? undefined : instantOf(s.timezone, localTime('UTC', match.getTime()));
}

/** The last slot at or before `atOrBefore`. */
export function cronPrevious(s: CronSchedule, atOrBefore: number): number | undefined {
  const reached = Math.min(wallClockReached(s.timezone, clamp(atOrBefore)), LAST_MS);
  if (reached < FIRST_MS) return undefined;
  // previousRuns returns matches strictly before its reference (to the ms), hence + 1.
  const match = cronerFor(s.dialect, s.pattern).previousRuns(1, new Date(Math.floor(reached) + 1))[0];
  return match === undefined ? undefined : instantOf(s.timezone, localTime('UTC', match.getTime()));
}

/** Keeps an instant where Date and Intl can read it (±8.64e15 ms), with a day to spare for offsets. */
function clamp(t: number): number {
  return Math.min(Math.max(t, -8.64e15 + 86_400_000 * 2), 8.64e15 - 86_400_000 * 2);
}
