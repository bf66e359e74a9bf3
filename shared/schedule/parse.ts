import { InvalidScheduleError } from '../errors.js';
import { type Parsed, parseCron } from './parse-cron.js';
import type {
  AtSchedule,
  CronSchedule,
  RateSchedule,
  Schedule,
  ScheduleOptions,
  ScheduleSpec,
  SingleSchedule,
} from './types.js';
import { instantOf, isKnownTimeZone } from './zone.js';

const SECOND_MS = 1000;
const UNIT_MS: Record<string, number> = {
  second: SECOND_MS,
  seconds: SECOND_MS,
  minute: 60 * SECOND_MS,
  minutes: 60 * SECOND_MS,
  hour: 3600 * SECOND_MS,
  hours: 3600 * SECOND_MS,
  // `rate(1 day)` is every 24 h from the anchor (SPEC §3), not "the same wall-clock time each day".
  day: 86_400 * SECOND_MS,
  days: 86_400 * SECOND_MS,
};

const RATE = /^rate\((.*)\)$/s;
const CRON = /^cron\((.*)\)$/s;
const AT = /^at\((.*)\)$/s;
const AT_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;

/** Most expressions one job's `schedule` lists. */
export const MAX_SCHEDULE_SPECS = 10;

/**
 * Parses a schedule expression (SPEC §3), or a list of them (the union of their slots), and binds it to a
 * zone, an anchor and a window. Every rule the input breaks is reported at once, in one
 * InvalidScheduleError; a list's problems name the expression's index (`[1] …`).
 *
 * @example
 * parseSchedule('cron(0 2 * * ? *)', { timezone: 'Europe/Berlin' });
 * parseSchedule('rate(5 minutes)', { anchor: Date.parse('2026-12-01T00:00:00Z') });
 * parseSchedule(['cron(0 9 ? * MON-FRI *)', 'cron(0 12 ? * SAT *)'], { timezone: 'Europe/London' });
 */
export function parseSchedule(spec: ScheduleSpec, options: ScheduleOptions = {}): Schedule {
  if (typeof spec === 'string') return parseOne(spec, options);
  const shown = spec.join(', ');
  if (spec.length === 0) throw new InvalidScheduleError(shown, 'a list of schedules needs at least one');
  if (spec.length > MAX_SCHEDULE_SPECS) {
    throw new InvalidScheduleError(shown, `lists ${spec.length} schedules; at most ${MAX_SCHEDULE_SPECS}`);
  }
  const parts: SingleSchedule[] = [];
  const problems: string[] = [];
  spec.forEach((expression, i) => {
    try {
      parts.push(parseOne(expression, options));
    } catch (error) {
      if (!(error instanceof InvalidScheduleError)) throw error;
      problems.push(`[${i}] ${JSON.stringify(expression)}: ${error.rule}`);
    }
  });
  const duplicate = spec.findIndex((expression, i) => spec.indexOf(expression) !== i);
  if (duplicate >= 0) problems.push(`[${duplicate}] ${JSON.stringify(spec[duplicate])}: is listed twice`);
  if (problems.length > 0) throw new InvalidScheduleError(shown, problems.join('; '));
  const [first] = parts as [SingleSchedule];
  if (spec.length === 1) return first;
  return {
    kind: 'union',
    expression: shown,
    expressions: [...spec],
    parts,
    timezone: first.timezone,
    ...(first.startAt === undefined ? {} : { startAt: first.startAt }),
    ...(first.endAt === undefined ? {} : { endAt: first.endAt }),
  };
}

function parseOne(expression: string, options: ScheduleOptions): SingleSchedule {
  const text = expression.trim();
  const timezone = options.timezone ?? 'UTC';
  const problems: string[] = [];

  const zoneKnown = isKnownTimeZone(timezone);
  if (!zoneKnown) {
    problems.push(
      `unknown time zone ${JSON.stringify(timezone)}; use an IANA name such as Europe/Berlin or UTC`,
    );
  }
  // An unknown zone is reported above; the expression is still checked, in UTC.
  const zone = zoneKnown ? timezone : 'UTC';

  const parsed = parseForm(text, options, zone);
  if (!parsed.ok) problems.push(...parsed.problems);
  problems.push(...windowProblems(options));

  if (problems.length > 0 || !parsed.ok) throw new InvalidScheduleError(expression, problems.join('; '));
  const window = {
    expression,
    timezone,
    ...(options.startAt === undefined ? {} : { startAt: options.startAt }),
    ...(options.endAt === undefined ? {} : { endAt: options.endAt }),
  };
  return { ...window, ...parsed.value } as SingleSchedule;
}

type FormParts =
  | Omit<RateSchedule, 'expression' | 'timezone'>
  | Omit<CronSchedule, 'expression' | 'timezone'>
  | Omit<AtSchedule, 'expression' | 'timezone'>;

function parseForm(text: string, options: ScheduleOptions, timezone: string): Parsed<FormParts> {
  const rate = RATE.exec(text);
  if (rate) return parseRate(rate[1] ?? '', options);
  const cron = CRON.exec(text);
  if (cron) return parseCron(cron[1] ?? '', 'eventbridge');
  const at = AT.exec(text);
  if (at) return parseAt(at[1] ?? '', timezone);
  if (/^[^()]+$/.test(text)) return parseCron(text, 'crontab');
  return {
    ok: false,
    problems: [
      'not a schedule expression; write rate(5 minutes), cron(0 12 * * ? *), at(2026-12-01T00:00:00) ' +
        'or a crontab line such as */5 * * * *',
    ],
  };
}

function windowProblems(options: ScheduleOptions): string[] {
  const problems: string[] = [];
  for (const key of ['anchor', 'startAt', 'endAt'] as const) {
    const value = options[key];
    if (value !== undefined && !Number.isFinite(value)) {
      problems.push(`${key} must be an instant in epoch milliseconds, got ${String(value)}`);
    }
  }
  const { startAt, endAt } = options;
  if (startAt !== undefined && endAt !== undefined && Number.isFinite(startAt) && Number.isFinite(endAt)) {
    if (endAt <= startAt) {
      problems.push(
        `endAt (${new Date(endAt).toISOString()}) must be after startAt (${new Date(startAt).toISOString()})`,
      );
    }
  }
  return problems;
}

// rate(N unit) -------------------------------------------------------------------------------------------

function parseRate(
  inner: string,
  options: ScheduleOptions,
): Parsed<Omit<RateSchedule, 'expression' | 'timezone'>> {
  const problems: string[] = [];
  const parts = inner.trim().split(/\s+/).filter(Boolean);
  const [value, unitText] = parts;
  if (parts.length !== 2 || value === undefined || unitText === undefined) {
    return { ok: false, problems: ['a rate takes a whole number and a unit, as in rate(5 minutes)'] };
  }
  // EventBridge wants the singular exactly when N is 1; punctual accepts either.
  const unitMs = UNIT_MS[unitText.toLowerCase()];
  if (unitMs === undefined) {
    problems.push(`unknown unit ${JSON.stringify(unitText)}; use seconds, minutes, hours or days`);
  }
  if (!/^\d+$/.test(value)) {
    problems.push(`the value must be a whole number of at least 1, got ${JSON.stringify(value)}`);
  } else if (Number(value) === 0) {
    problems.push('the period must be at least 1 second');
  }
  const periodMs = Number(value) * (unitMs ?? 0);
  if (problems.length === 0 && !Number.isSafeInteger(periodMs)) problems.push('the period is too long');
  const anchor = options.anchor ?? options.startAt;
  if (anchor === undefined) {
    problems.push(
      "a rate schedule needs an anchor: pass options.anchor (the job's creation time) or startAt",
    );
  }
  if (problems.length > 0 || anchor === undefined) return { ok: false, problems };
  return { ok: true, value: { kind: 'rate', periodMs, anchor } };
}

// at(YYYY-MM-DDThh:mm:ss) --------------------------------------------------------------------------------

function parseAt(inner: string, timezone: string): Parsed<Omit<AtSchedule, 'expression' | 'timezone'>> {
  const m = AT_TIME.exec(inner.trim());
  if (m === null) {
    return {
      ok: false,
      problems: [
        'the time must be written YYYY-MM-DDThh:mm:ss, in the schedule’s time zone, without an offset',
      ],
    };
  }
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) {
    return { ok: false, problems: [`${inner.trim().slice(0, 10)} is not a day of the calendar`] };
  }
  if (hour > 23 || minute > 59 || second > 59) {
    return { ok: false, problems: [`${inner.trim().slice(11)} is not a time of day (00:00:00 to 23:59:59)`] };
  }
  return {
    ok: true,
    value: { kind: 'at', at: instantOf(timezone, { year, month, day, hour, minute, second }) },
  };
}

function daysIn(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0);
  return d.getUTCDate();
}
