import { InvalidScheduleError } from '../errors.js';
import { type CronDialect, cronerError, cronNext } from './cron.js';
import type { AtSchedule, CronSchedule, RateSchedule, Schedule, ScheduleOptions } from './types.js';
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

/** What the schedule form parsers collect: the kind-specific fields, or the rules the expression breaks. */
type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * Parses a schedule expression (SPEC §3) and binds it to a zone, an anchor and a window. Every rule the
 * input breaks is reported at once, in one InvalidScheduleError.
 *
 * @example
 * parseSchedule('cron(0 2 * * ? *)', { timezone: 'Europe/Berlin' });
 * parseSchedule('rate(5 minutes)', { anchor: Date.parse('2026-12-01T00:00:00Z') });
 */
export function parseSchedule(expression: string, options: ScheduleOptions = {}): Schedule {
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
  return { ...window, ...parsed.value } as Schedule;
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

// cron ---------------------------------------------------------------------------------------------------

type CronParts = Omit<CronSchedule, 'expression' | 'timezone'>;

interface FieldRule {
  name: string;
  /** What the field takes, for the error message. */
  takes: string;
  /** The field's largest value, where a crontab `start/step` ends (`5/15` is `5-59/15`). */
  max?: number;
  /** Characters left once names are removed. */
  chars?: RegExp;
  names?: RegExp;
}

const MONTH_NAMES = /JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC/gi;
const DAY_NAMES = /SUN|MON|TUE|WED|THU|FRI|SAT/gi;

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html#eb-cron-expressions
const EVENTBRIDGE_FIELDS: FieldRule[] = [
  { name: 'minutes', takes: '0-59 with , - * /', chars: /^[\d,\-*/]+$/ },
  { name: 'hours', takes: '0-23 with , - * /', chars: /^[\d,\-*/]+$/ },
  { name: 'day-of-month', takes: '1-31 with , - * ? / L W', chars: /^[\d,\-*/LW]+$/ },
  { name: 'month', takes: '1-12 or JAN-DEC with , - * /', chars: /^[\d,\-*/]*$/, names: MONTH_NAMES },
  {
    name: 'day-of-week',
    takes: '1-7 (1 is Sunday) or SUN-SAT with , - * ? L #',
    chars: /^[\d,\-*L#]*$/,
    names: DAY_NAMES,
  },
  { name: 'year', takes: '1970-2199 with , - * /', chars: /^[\d,\-*/]+$/ },
];

const CRONTAB_FIELDS: FieldRule[] = [
  { name: 'minute', takes: '0-59 with , - * /', max: 59 },
  { name: 'hour', takes: '0-23 with , - * /', max: 23 },
  { name: 'day-of-month', takes: '1-31 with , - * ? / L W', max: 31 },
  { name: 'month', takes: '1-12 or JAN-DEC with , - * /', max: 12 },
  // `Mon/2` is Monday to Saturday by 2, as in robfig/cron, croniter and cron-parser (not through 7 = Sunday).
  { name: 'day-of-week', takes: '0-7 (0 and 7 are Sunday) or SUN-SAT with , - * ? / L #', max: 6 },
];
const SECOND_FIELD: FieldRule = { name: 'second', takes: '0-59 with , - * /', max: 59 };

/** One list element written `start/step`, without a range: robfig/cron, croniter and cron-parser take it. */
const START_STEP = /^([^-*/?]+)\/(\d+)$/;

/**
 * Checks the fields and maps them to croner's seconds-first pattern. croner does the parsing; this only
 * enforces what EventBridge adds (six fields, exactly one `?`, its character sets and ranges) and names the
 * field croner rejects.
 */
function parseCron(inner: string, written: 'eventbridge' | 'crontab'): Parsed<CronParts> {
  const fields = inner.trim().split(/\s+/).filter(Boolean);
  let dialect: CronDialect;
  let rules: FieldRule[];
  let croner: string[];
  const problems: string[] = [];

  if (written === 'eventbridge') {
    if (fields.length !== 6) {
      return {
        ok: false,
        problems: [
          `cron expressions take six fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
        ],
      };
    }
    dialect = 'eventbridge';
    rules = EVENTBRIDGE_FIELDS;
    const [, , dom, , dow] = fields as [string, string, string, string, string, string];
    // EventBridge: "You can't specify the Day-of-month and Day-of-week fields in the same cron expression.
    // If you specify a value or a * (asterisk) in one of the fields, you must use a ? in the other."
    if (dom === '?' && dow === '?') {
      problems.push('day-of-month and day-of-week cannot both be ?; give one of them a value or *');
    } else if (dom !== '?' && dow !== '?') {
      problems.push(
        'one of day-of-month and day-of-week must be ?, as in cron(0 12 * * ? *) or cron(0 12 ? * MON-FRI *)',
      );
    }
    fields.forEach((field, i) => {
      const rule = EVENTBRIDGE_FIELDS[i]!;
      if (field === '?' && (i === 2 || i === 4)) return;
      const bare = rule.names ? field.replace(rule.names, '') : field;
      if (rule.chars && !rule.chars.test(bare)) problems.push(notValid(rule, field));
      // croner's sloppyRanges (needed for `0/15`) would also read `/15` as `*/15`; EventBridge and Quartz refuse it.
      else if (field.split(',').some((part) => part.startsWith('/'))) {
        problems.push(
          `${rule.name} ${JSON.stringify(field)} is not valid; a step needs a start, as in 0/15 or */15`,
        );
      }
      // EventBridge: "you can't specify more than one expression with #": cron(0 9 ? * 3#1,6#3 *) is invalid.
      else if (rule.name === 'day-of-week' && field.includes('#') && !/^\w+#\d+$/.test(field)) {
        problems.push(
          `day-of-week ${JSON.stringify(field)} is not valid; with # it takes a single expression, such as 3#1 ` +
            '(no list, range or step)',
        );
      }
      // croner reads 0 and 8 as Sunday in day-of-week and takes any year; EventBridge does not.
      else if (
        rule.name === 'day-of-week' &&
        !numbersAll(field, /(#?)(\d+)/g, (hash, n) => n >= 1 && n <= (hash ? 5 : 7))
      ) {
        problems.push(notValid(rule, field));
      } else if (
        rule.name === 'year' &&
        !numbersAll(field, /(\/?)(\d+)/g, (step, n) => step !== '' || (n >= 1970 && n <= 2199))
      ) {
        problems.push(notValid(rule, field));
      }
    });
    croner = [
      '0',
      ...fields.map((field, i) => {
        if (field === '?') return '*';
        // A bare L in day-of-week is the last day of the week: Saturday, 7 in EventBridge's numbering.
        if (i === 4 && field === 'L') return '7';
        return field;
      }),
    ];
  } else {
    if (fields.length !== 5 && fields.length !== 6) {
      return {
        ok: false,
        problems: [
          'a crontab line takes five fields (minute hour day-of-month month day-of-week), or six with seconds ' +
            `first, got ${fields.length}`,
        ],
      };
    }
    dialect = fields.length === 5 ? 'crontab' : 'crontab-seconds';
    rules = fields.length === 5 ? CRONTAB_FIELDS : [SECOND_FIELD, ...CRONTAB_FIELDS];
    const dayFields = fields.length === 5 ? [2, 4] : [3, 5];
    fields.forEach((field, i) => {
      // `?` means "any" in a day field, as in Quartz; elsewhere croniter and EventBridge refuse it, and croner
      // would read it as the current clock value.
      if (field.includes('?') && !(field === '?' && dayFields.includes(i))) {
        problems.push(
          `${rules[i]!.name} ${JSON.stringify(field)} is not valid; ? stands only for a whole day-of-month or ` +
            'day-of-week field',
        );
      }
    });
    const mapped = fields.map((field, i) =>
      field === '?' ? '*' : field.split(',').map((part) => startToMax(part, rules[i]!)).join(','),
    );
    croner = fields.length === 5 ? ['0', ...mapped] : mapped;
  }
  if (problems.length > 0) return { ok: false, problems };

  // Name every field croner rejects, by trying each one alone among wildcards.
  const offset = croner.length - rules.length;
  rules.forEach((rule, i) => {
    const probe = croner.map((field, j) => (j === i + offset ? field : j === 0 ? '0' : '*'));
    const reason = cronerError(dialect, probe.join(' '));
    if (reason !== undefined) problems.push(notValid(rule, fields[i]!));
  });
  const pattern = croner.join(' ');
  if (problems.length === 0) {
    const reason = cronerError(dialect, pattern);
    if (reason !== undefined) problems.push(`not a valid cron expression: ${reason}`);
  }
  if (problems.length > 0) return { ok: false, problems };

  const parts: CronParts = { kind: 'cron', dialect, pattern };
  // The zone moves matches by hours at most, so UTC tells whether any date matches at all.
  if (cronNext({ ...parts, expression: inner, timezone: 'UTC' }, Date.UTC(1970, 0, 1) - 1) === undefined) {
    return { ok: false, problems: ['no date matches the expression (after 1970)'] };
  }
  return { ok: true, value: parts };
}

/** `5/15` → `5-59/15`: a start with a step and no range runs to the field's maximum (croner wants the range). */
function startToMax(part: string, rule: FieldRule): string {
  const m = START_STEP.exec(part);
  return m === null || rule.max === undefined ? part : `${m[1]}-${rule.max}/${m[2]}`;
}

function notValid(rule: FieldRule, value: string): string {
  return `${rule.name} ${JSON.stringify(value)} is not valid; it takes ${rule.takes}`;
}

/** True when every number in the field passes `ok`; `prefix` is what the regex captured before it (# or /). */
function numbersAll(field: string, numbers: RegExp, ok: (prefix: string, n: number) => boolean): boolean {
  for (const m of field.matchAll(numbers)) if (!ok(m[1] ?? '', Number(m[2]))) return false;
  return true;
}
