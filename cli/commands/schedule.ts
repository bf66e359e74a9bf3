/** `punctual schedule next`: the next slots of an expression. Pure: no runtime, no AWS. */
import { PunctualError } from '../../shared/errors.js';
import { describeSchedule, parseSchedule, slotsBetween } from '../../shared/schedule/index.js';
import { formatLocal, offsetMs } from '../../shared/schedule/zone.js';
import { type Io, palette, printJson, relative, table } from '../format.js';

export interface ScheduleNextOptions {
  tz?: string;
  /** ISO time; default now. */
  after?: string;
  count?: number;
  json?: boolean;
}

export interface ScheduleNextResult {
  description: string;
  timezone: string;
  /** ISO-8601 UTC. */
  slots: string[];
}

/** Parses `--after`: an ISO-8601 time with a zone (`Z` or an offset). */
export function parseInstantOption(flag: string, text: string): number {
  const ms = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text)
    ? Date.parse(text)
    : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new PunctualError(
      `${flag} ${JSON.stringify(text)}: not an ISO-8601 time with a zone, e.g. 2026-12-01T00:00:00Z`,
    );
  }
  return ms;
}

/**
 * The next `count` slots at or after `after` (default now). A rate expression is anchored at `after`
 * (rounded up to the second), as a job created at that instant would be: its first slot is the anchor.
 *
 * @example scheduleNext('cron(0 2 * * ? *)', { tz: 'Europe/Berlin', count: 3 }, Date.now()).slots
 */
export function scheduleNext(
  expression: string,
  options: ScheduleNextOptions,
  now: number,
): ScheduleNextResult {
  const after = options.after ? parseInstantOption('--after', options.after) : now;
  const anchor = Math.ceil(after / 1000) * 1000;
  const timezone = options.tz ?? 'UTC';
  const schedule = parseSchedule(expression, { timezone, anchor });
  const slots = slotsBetween(schedule, after - 1, Number.POSITIVE_INFINITY, options.count ?? 10);
  return {
    description: describeSchedule(schedule),
    timezone,
    slots: slots.map((slot) => new Date(slot).toISOString()),
  };
}

function offsetText(timezone: string, instant: number): string {
  const minutes = Math.round(offsetMs(timezone, instant) / 60_000);
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export function runScheduleNext(io: Io, expression: string, options: ScheduleNextOptions, now: number): void {
  const result = scheduleNext(expression, options, now);
  if (options.json) {
    printJson(io, result.slots);
    return;
  }
  const p = palette(io.color);
  io.out(`${p.bold(result.description)}\n`);
  if (!result.slots.length) {
    io.out('no slots: the schedule names no instant at or after that time\n');
    return;
  }
  const local = result.timezone !== 'UTC';
  const rows = result.slots.map((slot, i) => {
    const ms = Date.parse(slot);
    return [
      String(i + 1),
      slot,
      ...(local ? [`${formatLocal(result.timezone, ms)} ${offsetText(result.timezone, ms)}`] : []),
      relative(slot, now),
    ];
  });
  io.out(table(['#', 'UTC', ...(local ? [`LOCAL (${result.timezone})`] : []), 'WHEN'], rows, { right: [0] }));
}
