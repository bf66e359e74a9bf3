/** `punctual schedule next`: the next slots of an expression. Pure: no runtime, no AWS. */
import { type NextSlots, nextSlots, parseInstantText } from '../../shared/schedule/next.js';
import { formatLocal, offsetMs } from '../../shared/schedule/zone.js';
import { type Io, palette, printJson, relative, table } from '../format.js';

export interface ScheduleNextOptions {
  tz?: string;
  /** ISO time; default now. */
  after?: string;
  count?: number;
  json?: boolean;
}

/** Parses an instant flag (`--after`, `--since`, …): an ISO-8601 time with a zone (`Z` or an offset). */
export const parseInstantOption: (flag: string, text: string) => number = parseInstantText;

/**
 * The next `count` slots at or after `--after` (default now): the package's `nextSlots`, with the flag named
 * in its errors.
 *
 * @example scheduleNext('cron(0 2 * * ? *)', { tz: 'Europe/Berlin', count: 3 }, Date.now()).slots
 */
export function scheduleNext(
  expression: string | string[],
  options: ScheduleNextOptions,
  now: number,
): NextSlots {
  return nextSlots(expression, {
    ...(options.tz !== undefined ? { timezone: options.tz } : {}),
    after: options.after ? parseInstantOption('--after', options.after) : now,
    ...(options.count !== undefined ? { count: options.count } : {}),
  });
}

function offsetText(timezone: string, instant: number): string {
  const minutes = Math.round(offsetMs(timezone, instant) / 60_000);
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export function runScheduleNext(
  io: Io,
  expression: string | string[],
  options: ScheduleNextOptions,
  now: number,
): void {
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
