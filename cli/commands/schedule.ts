/** `punctual schedule next`: the next slots of an expression. Pure: no runtime, no AWS. */
import type { CalendarDefinition } from '../../shared/calendars/calendar.js';
import { PunctualError } from '../../shared/errors.js';
import { loadJobsFile } from '../../shared/jobs/file.js';
import { type NextSlots, nextSlots, parseInstantText } from '../../shared/schedule/next.js';
import { formatLocal, offsetMs } from '../../shared/schedule/zone.js';
import { type Io, palette, printJson, relative, table } from '../format.js';

export interface ScheduleNextOptions {
  tz?: string;
  /** ISO time; default now. */
  after?: string;
  count?: number;
  json?: boolean;
  /** A jobs file whose `calendars:` mark the slots they exclude. */
  calendars?: string;
  /** With `calendars`: only these (default: all of the file's). */
  exclude?: string[];
}

/** The calendars `--calendars FILE [--exclude NAME]…` names. */
export async function calendarsOption(options: ScheduleNextOptions): Promise<CalendarDefinition[]> {
  if (!options.calendars) {
    if (options.exclude)
      throw new PunctualError('--exclude needs --calendars FILE (the file that declares them)');
    return [];
  }
  const declared = (await loadJobsFile(options.calendars)).calendars ?? {};
  const names = options.exclude ?? Object.keys(declared);
  const missing = names.filter((name) => !declared[name]);
  if (missing.length) {
    throw new PunctualError(
      `--exclude ${missing.join(', ')}: not declared under calendars: in ${options.calendars} (declared: ${Object.keys(declared).join(', ') || 'none'})`,
    );
  }
  return names.map((name) => declared[name] as CalendarDefinition);
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
  calendars: readonly CalendarDefinition[] = [],
): NextSlots {
  return nextSlots(expression, {
    calendars,
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

export async function runScheduleNext(
  io: Io,
  expression: string | string[],
  options: ScheduleNextOptions,
  now: number,
): Promise<void> {
  const result = scheduleNext(expression, options, now, await calendarsOption(options));
  if (options.json) {
    // With --calendars the excluded slots come along; without, the list of slots as before.
    printJson(io, options.calendars ? { slots: result.slots, excluded: result.excluded } : result.slots);
    return;
  }
  const p = palette(io.color);
  io.out(`${p.bold(result.description)}\n`);
  if (!result.slots.length) {
    io.out('no slots: the schedule names no instant at or after that time\n');
    return;
  }
  const local = result.timezone !== 'UTC';
  const anyExcluded = Object.keys(result.excluded).length > 0;
  const rows = result.slots.map((slot, i) => {
    const ms = Date.parse(slot);
    return [
      String(i + 1),
      slot,
      ...(local ? [`${formatLocal(result.timezone, ms)} ${offsetText(result.timezone, ms)}`] : []),
      relative(slot, now),
      ...(anyExcluded ? [result.excluded[slot] ? `excluded by ${result.excluded[slot]}: skipped` : ''] : []),
    ];
  });
  const headers = ['#', 'UTC', ...(local ? [`LOCAL (${result.timezone})`] : []), 'WHEN'];
  io.out(table([...headers, ...(anyExcluded ? ['CALENDAR'] : [])], rows, { right: [0] }));
}
