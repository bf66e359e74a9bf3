/**
 * The cron forms of a schedule: EventBridge's `cron(min hour dom month dow year)` and crontab lines (five
 * fields, or six with seconds first). croner does the parsing; this file enforces what EventBridge adds,
 * the rules both forms share with the rest of the cron ecosystem, and names the field and the rule an
 * expression breaks.
 */
import { type CronDialect, cronerError, cronNext } from './cron.js';
import type { CronSchedule } from './types.js';

/** What the schedule form parsers collect: the kind-specific fields, or the rules the expression breaks. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

type CronParts = Omit<CronSchedule, 'expression' | 'timezone'>;

interface FieldRule {
  name: string;
  /** What the field takes, for the error message. */
  takes: string;
  /** The field's range. A `start/step` runs to `max` (`5/15` is `5-59/15`). */
  min: number;
  max: number;
  /** Names of the values min, min + 1, … (JAN-DEC, SUN-SAT). */
  names?: string[];
  /** Characters left once names are removed (EventBridge's character sets). */
  chars?: RegExp;
  /** A range may end at SUN, read as 7 (crontab: `FRI-SUN` is Friday to Sunday, as in croniter). */
  sundayEndsAtSeven?: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html#eb-cron-expressions
const EVENTBRIDGE_FIELDS: FieldRule[] = [
  { name: 'minutes', takes: '0-59 with , - * /', min: 0, max: 59, chars: /^[\d,\-*/]+$/ },
  { name: 'hours', takes: '0-23 with , - * /', min: 0, max: 23, chars: /^[\d,\-*/]+$/ },
  { name: 'day-of-month', takes: '1-31 with , - * ? / L W', min: 1, max: 31, chars: /^[\d,\-*/LW]+$/ },
  {
    name: 'month',
    takes: '1-12 or JAN-DEC with , - * /',
    min: 1,
    max: 12,
    names: MONTHS,
    chars: /^[\d,\-*/]*$/,
  },
  {
    name: 'day-of-week',
    takes: '1-7 (1 is Sunday) or SUN-SAT with , - * ? L #',
    min: 1,
    max: 7,
    names: DAYS,
    chars: /^[\d,\-*L#]*$/,
  },
  { name: 'year', takes: '1970-2199 with , - * /', min: 1970, max: 2199, chars: /^[\d,\-*/]+$/ },
];

const CRONTAB_FIELDS: FieldRule[] = [
  { name: 'minute', takes: '0-59 with , - * /', min: 0, max: 59 },
  { name: 'hour', takes: '0-23 with , - * /', min: 0, max: 23 },
  { name: 'day-of-month', takes: '1-31 with , - * ? / L W', min: 1, max: 31 },
  { name: 'month', takes: '1-12 or JAN-DEC with , - * /', min: 1, max: 12, names: MONTHS },
  // 7 is Sunday too, but `Mon/2` is Monday to Saturday by 2, as in robfig/cron, croniter and cron-parser.
  {
    name: 'day-of-week',
    takes: '0-7 (0 and 7 are Sunday) or SUN-SAT with , - * ? / L #',
    min: 0,
    max: 6,
    names: DAYS,
    sundayEndsAtSeven: true,
  },
];
const SECOND_FIELD: FieldRule = { name: 'second', takes: '0-59 with , - * /', min: 0, max: 59 };

/** One list element written `start/step`, without a range (robfig/cron, croniter, cron-parser, EventBridge). */
const START_STEP = /^([^-*/?]+)\/(\d+)$/;

/**
 * Checks the fields and maps them to croner's seconds-first pattern. Every rule the expression breaks is
 * reported, each naming the field, its value and the rule.
 */
export function parseCron(inner: string, written: 'eventbridge' | 'crontab'): Parsed<CronParts> {
  const fields = inner.trim().split(/\s+/).filter(Boolean);
  let dialect: CronDialect;
  let rules: FieldRule[];
  let croner: string[];
  const problems: string[] = [];
  /** Fields already reported, not to be reported again with croner's verdict. */
  const reported = new Set<number>();
  const report = (i: number, problem: string) => {
    problems.push(problem);
    reported.add(i);
  };

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
      if (field === '?' && (i === 2 || i === 4)) return;
      const problem = eventBridgeProblem(field, EVENTBRIDGE_FIELDS[i]!) ?? sharedProblem(field, rules[i]!);
      if (problem !== undefined) report(i, problem);
    });
    croner = [
      '0',
      ...fields.map((field, i) => {
        if (field === '?') return '*';
        // A bare L in day-of-week is the last day of the week: Saturday, 7 in EventBridge's numbering.
        if (i === 4 && field === 'L') return '7';
        return forCroner(field, EVENTBRIDGE_FIELDS[i]!);
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
      const rule = rules[i]!;
      // `?` means "any" in a day field, as in Quartz; elsewhere croniter and EventBridge refuse it, and croner
      // would read it as the current clock value.
      if (field.includes('?') && !(field === '?' && dayFields.includes(i))) {
        report(
          i,
          `${rule.name} ${JSON.stringify(field)} is not valid; ? stands only for a whole day-of-month or ` +
            'day-of-week field',
        );
        return;
      }
      const problem = field === '?' ? undefined : sharedProblem(field, rule);
      if (problem !== undefined) report(i, problem);
    });
    const mapped = fields.map((field, i) => (field === '?' ? '*' : forCroner(field, rules[i]!)));
    croner = fields.length === 5 ? ['0', ...mapped] : mapped;
  }

  // Name every other field croner rejects, by trying each one alone among wildcards.
  const offset = croner.length - rules.length;
  rules.forEach((rule, i) => {
    if (reported.has(i)) return;
    const probe = croner.map((field, j) => (j === i + offset ? field : j === 0 ? '0' : '*'));
    if (cronerError(dialect, probe.join(' ')) !== undefined) problems.push(notValid(rule, fields[i]!));
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

/** What EventBridge refuses in a field (other than a day field's `?`) that croner would take. */
function eventBridgeProblem(field: string, rule: FieldRule): string | undefined {
  const bare = rule.names ? field.replace(new RegExp(rule.names.join('|'), 'gi'), '') : field;
  if (rule.chars && !rule.chars.test(bare)) return notValid(rule, field);
  // EventBridge: "you can't specify more than one expression with #": cron(0 9 ? * 3#1,6#3 *) is invalid.
  if (rule.name === 'day-of-week' && field.includes('#') && !/^\w+#\d+$/.test(field)) {
    return (
      `day-of-week ${JSON.stringify(field)} is not valid; with # it takes a single expression, such as 3#1 ` +
      '(no list, range or step)'
    );
  }
  // croner reads 0 and 8 as Sunday in day-of-week and takes any year; EventBridge does not.
  if (
    rule.name === 'day-of-week' &&
    !numbersAll(field, /(#?)(\d+)/g, (hash, n) => n >= 1 && n <= (hash ? 5 : 7))
  ) {
    return notValid(rule, field);
  }
  if (
    rule.name === 'year' &&
    !numbersAll(field, /(\/?)(\d+)/g, (step, n) => step !== '' || (n >= 1970 && n <= 2199))
  ) {
    return notValid(rule, field);
  }
  return undefined;
}

/** Rules both forms share, with a message that says how to write what was meant. */
function sharedProblem(field: string, rule: FieldRule): string | undefined {
  const value = `${rule.name} ${JSON.stringify(field)} is not valid`;
  // EventBridge and Quartz refuse `/15`; croner's sloppyRanges would read it as `*/15`.
  if (field.split(',').some((part) => part.startsWith('/'))) {
    return `${value}; a step needs a start, as in 0/15 or */15`;
  }
  // Quartz's L-2 (two days before the last): not in the EventBridge reference, and croner has no such offset.
  if (rule.name.startsWith('day-of') && /(^|,)L-/.test(field)) {
    const instead = rule.name === 'day-of-month' ? 'L, LW or a day number' : 'L or a last weekday such as 6L';
    return `${value}; L takes no offset (L-2 is Quartz syntax): write ${instead}`;
  }
  // croniter's 29-L: croner has no range to L, and 29-31 names the same days.
  const toLast = rule.name === 'day-of-month' ? /(?:^|,)(\d+)-L(?:,|$)/.exec(field) : null;
  if (toLast !== null) {
    return `${value}; a range ends at a day number: write ${toLast[1]}-31 (a day a month lacks is skipped)`;
  }
  for (const part of field.split(',')) {
    const range = /^(\w+)-(\w+)(\/\d+)?$/.exec(part);
    if (range === null) continue;
    const [from, to] = [range[1]!, range[2]!];
    const lo = tokenValue(from, rule);
    const hi = rule.sundayEndsAtSeven && to.toUpperCase() === 'SUN' ? 7 : tokenValue(to, rule);
    // A wrap-around range (22-2, FRI-MON): croner, robfig/cron and cron-parser refuse it too.
    if (lo !== undefined && hi !== undefined && lo > hi && lo <= rule.max) {
      const [first, last] = /^\d+$/.test(from)
        ? [String(rule.min), String(rule.max)]
        : [rule.names![0]!, rule.names![rule.max - rule.min]!];
      const span = (a: string, b: string) => (a.toUpperCase() === b.toUpperCase() ? a : `${a}-${b}`);
      const split =
        range[3] === undefined ? `: write ${span(from, last)},${span(first, to)} for ${part}` : '';
      return `${value}; a range runs from low to high${split}`;
    }
  }
  return undefined;
}

/** The number a field token stands for (`5`, `MON`), or undefined when it is neither. */
function tokenValue(token: string, rule: FieldRule): number | undefined {
  if (/^\d+$/.test(token)) return Number(token);
  const index = rule.names?.indexOf(token.toUpperCase()) ?? -1;
  return index < 0 ? undefined : rule.min + index;
}

/**
 * The field as croner takes it. `5/15` → `5-59/15`: a start with a step and no range runs to the field's
 * maximum. croner takes `5/15` only with its sloppyRanges option, which would also take `/15`, and a start
 * beyond the maximum (`65/15`) as a field that matches nothing; written as a range, croner refuses the
 * latter and the field is named. In crontab, `FRI-SUN` → `FRI-7`.
 */
function forCroner(field: string, rule: FieldRule): string {
  return field
    .split(',')
    .map((part) => {
      const m = START_STEP.exec(part);
      if (m !== null) return `${m[1]}-${rule.max}/${m[2]}`;
      return rule.sundayEndsAtSeven ? part.replace(/^(\w+)-SUN(?=\/|$)/i, '$1-7') : part;
    })
    .join(',');
}

function notValid(rule: FieldRule, value: string): string {
  return `${rule.name} ${JSON.stringify(value)} is not valid; it takes ${rule.takes}`;
}

/** True when every number in the field passes `ok`; `prefix` is what the regex captured before it (# or /). */
function numbersAll(field: string, numbers: RegExp, ok: (prefix: string, n: number) => boolean): boolean {
  for (const m of field.matchAll(numbers)) if (!ok(m[1] ?? '', Number(m[2]))) return false;
  return true;
}
