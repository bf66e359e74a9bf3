/**
 * Time-zone arithmetic on top of `Intl` (no dependency): the UTC offset of a zone at an instant, and the
 * instant a wall-clock time names. Used by `at(...)`, by the DST filter of cron slots and by describe.
 */

const HOUR_MS = 3_600_000;
/**
 * How far back and ahead to look for the offsets around an instant. Every DST change and zone correction in
 * the tz database moves the clock by less than a day, and no zone changes its offset twice within one.
 */
const PROBE_MS = 25 * HOUR_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** True when `Intl` knows the IANA zone (it throws a RangeError for an unknown one). */
export function isKnownTimeZone(timezone: string): boolean {
  if (timezone.trim() === '') return false;
  try {
    formatter(timezone);
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock fields; `month` is 1-12. */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock fields of an instant in a zone (whole seconds; milliseconds are dropped). */
export function localTime(timezone: string, instant: number): LocalTime {
  const fields: Record<string, string> = {};
  for (const part of formatter(timezone).formatToParts(new Date(instant))) fields[part.type] = part.value;
  const year = Number(fields['year']);
  return {
    year: fields['era'] === 'BC' ? 1 - year : year,
    month: Number(fields['month']),
    day: Number(fields['day']),
    hour: Number(fields['hour']),
    minute: Number(fields['minute']),
    second: Number(fields['second']),
  };
}

/** The fields read as if they were UTC, in epoch ms (the "naive" value of a wall-clock time). */
export function naiveMs(t: LocalTime): number {
  const d = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  d.setUTCFullYear(t.year, t.month - 1, t.day);
  d.setUTCHours(t.hour, t.minute, t.second, 0);
  return d.getTime();
}

/** UTC offset of the zone at the instant, in ms (positive east of Greenwich: Europe/Berlin in winter is 3_600_000). */
export function offsetMs(timezone: string, instant: number): number {
  const whole = Math.floor(instant / 1000) * 1000;
  return naiveMs(localTime(timezone, whole)) - whole;
}

/**
 * The instant a wall-clock time names in a zone, following SPEC §3: a time that occurs twice (fall back) is
 * its first occurrence; a time that does not exist (spring forward) is the next valid instant, the moment
 * the clock jumps (02:30 on the New York spring-forward day is 03:00 EDT).
 */
export function instantOf(timezone: string, local: LocalTime): number {
  const naive = naiveMs(local);
  const before = offsetMs(timezone, naive - PROBE_MS);
  const after = offsetMs(timezone, naive + PROBE_MS);
  const valid = [...new Set([before, offsetMs(timezone, naive), after])]
    .map((offset) => naive - offset)
    .filter((t) => naive - offsetMs(timezone, t) === t)
    .sort((a, b) => a - b);
  const first = valid[0];
  if (first !== undefined) return first;
  // In a gap: the clock jumped from `before` to `after` at an instant between the two readings of `naive`.
  let lo = naive - after;
  let hi = naive - before;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMs(timezone, mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The latest wall-clock time (as a naive value, see naiveMs) the zone's clock has shown by `instant`. That is
 * the wall-clock time of the instant itself, except during the second pass through a repeated hour (after
 * the clock fell back): then the clock already showed the rest of that hour, on the first pass.
 */
export function wallClockReached(timezone: string, instant: number): number {
  const now = offsetMs(timezone, instant);
  const naive = instant + now;
  const earlier = offsetMs(timezone, instant - PROBE_MS);
  // The clock fell back by (earlier - now) within the last day; is `instant` still in the repeated hour,
  // i.e. did its wall-clock time show (earlier - now) ms ago, under the old offset?
  if (earlier <= now || offsetMs(timezone, instant - (earlier - now)) !== earlier) return naive;
  let lo = instant - (earlier - now);
  let hi = instant;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMs(timezone, mid) === earlier) lo = mid;
    else hi = mid;
  }
  // `hi` is the fall back; the last wall-clock time before it is (hi - 1) under the old offset.
  return hi - 1 + earlier;
}

/** `YYYY-MM-DD hh:mm:ss` of the instant in the zone. */
export function formatLocal(timezone: string, instant: number): string {
  const t = localTime(timezone, instant);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(t.year, 4)}-${p(t.month)}-${p(t.day)} ${p(t.hour)}:${p(t.minute)}:${p(t.second)}`;
}
