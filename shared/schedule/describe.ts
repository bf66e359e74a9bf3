import type { CronSchedule, Schedule } from './types.js';
import { formatLocal } from './zone.js';

const UNITS: [ms: number, name: string][] = [
  [86_400_000, 'day'],
  [3_600_000, 'hour'],
  [60_000, 'minute'],
  [1000, 'second'],
];

/**
 * A schedule in plain words, for a table: `every 5 minutes`, `at 2026-12-01 00:00:00 Europe/Berlin`,
 * `cron 0 2 * * ? * (Europe/Berlin): daily at 02:00`. The gloss after the colon is given only for the
 * common shapes (every N minutes, hourly, daily, weekdays, monthly).
 *
 * A list's parts are joined with ` + `.
 *
 * @example
 * describeSchedule(parseSchedule('rate(5 minutes)', { anchor: 0 })); // 'every 5 minutes'
 */
export function describeSchedule(schedule: Schedule): string {
  switch (schedule.kind) {
    case 'rate': {
      const [ms, name] = UNITS.find(([unit]) => schedule.periodMs % unit === 0) ?? [1, 'millisecond'];
      const n = schedule.periodMs / ms;
      return n === 1 ? `every ${name}` : `every ${n} ${name}s`;
    }
    case 'at':
      return `at ${formatLocal(schedule.timezone, schedule.at)} ${schedule.timezone}`;
    case 'cron': {
      const fields = userFields(schedule);
      const gloss = glossCron(schedule.dialect, fields);
      return `cron ${fields.join(' ')} (${schedule.timezone})${gloss ? `: ${gloss}` : ''}`;
    }
    case 'union':
      return schedule.parts.map(describeSchedule).join(' + ');
  }
}

/** The fields as the user wrote them (without `cron(` `)` and extra spaces). */
function userFields(s: CronSchedule): string[] {
  const text = s.expression.trim();
  const inner = s.dialect === 'eventbridge' ? text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')) : text;
  return inner.trim().split(/\s+/);
}

const WEEKDAYS: Record<CronSchedule['dialect'], string[]> = {
  eventbridge: ['MON-FRI', '2-6'],
  crontab: ['MON-FRI', '1-5'],
  'crontab-seconds': ['MON-FRI', '1-5'],
};

function glossCron(dialect: CronSchedule['dialect'], written: string[]): string | undefined {
  // Normalise to minute hour dom month dow; a seconds field must be 0 and a year field *.
  let fields = written.map((f) => (f === '?' ? '*' : f.toUpperCase()));
  if (dialect === 'crontab-seconds') {
    if (fields[0] !== '0') return undefined;
    fields = fields.slice(1);
  }
  if (dialect === 'eventbridge') {
    if (fields[5] !== '*') return undefined;
    fields = fields.slice(0, 5);
  }
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  if (month !== '*') return undefined;
  const at = (h: string, m: string) => `${h.padStart(2, '0')}:${m.padStart(2, '0')}`;
  const num = (f: string) => /^\d{1,2}$/.test(f);
  const anyDay = dom === '*' && dow === '*';

  if (anyDay && hour === '*') {
    if (minute === '*') return 'every minute';
    const step = /^(?:\*|0)\/(\d+)$/.exec(minute)?.[1];
    if (step !== undefined && 60 % Number(step) === 0)
      return Number(step) === 1 ? 'every minute' : `every ${Number(step)} minutes`;
    if (num(minute)) return `hourly at minute ${Number(minute)}`;
    return undefined;
  }
  if (!num(minute) || !num(hour)) return undefined;
  if (anyDay) return `daily at ${at(hour, minute)}`;
  if (dom === '*' && WEEKDAYS[dialect].includes(dow)) return `weekdays at ${at(hour, minute)}`;
  if (num(dom) && dow === '*') return `monthly on day ${Number(dom)} at ${at(hour, minute)}`;
  return undefined;
}
