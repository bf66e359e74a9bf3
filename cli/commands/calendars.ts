/** `punctual calendars put | get | list | delete`: exclusion calendars (docs/jobs.md "Exclusion calendars"). */
import { readFile } from 'node:fs/promises';
import type { CalendarDefinition } from '../../shared/calendars/calendar.js';
import { CALENDAR_USERS_SHOWN, PunctualError } from '../../shared/errors.js';
import { parseJobsFile } from '../../shared/jobs/index.js';
import { errorMessage } from '../../shared/util.js';
import type { Target } from '../context.js';
import { UsageError } from '../context.js';
import { type Io, keyValues, printJson, table } from '../format.js';

export interface CalendarPutFlags {
  file?: string;
  timezone?: string;
  date?: string[];
  range?: string[];
  cron?: string[];
  description?: string;
  json?: boolean;
}

/** `--range 2026-12-24..2027-01-02` as `{ from, to }`. */
export function parseRangeOption(text: string): { from: string; to: string } {
  const [from, to, ...rest] = text.split('..');
  if (!from || !to || rest.length) {
    throw new PunctualError(
      `--range ${JSON.stringify(text)}: write FROM..TO in local time, e.g. 2026-12-24..2027-01-02 or 2026-12-24T18:00..2026-12-27`,
    );
  }
  return { from, to };
}

/** The calendar the flags describe (validated by the put). */
export function calendarFromFlags(flags: CalendarPutFlags): Record<string, unknown> {
  return {
    ...(flags.description !== undefined ? { description: flags.description } : {}),
    ...(flags.timezone !== undefined ? { timezone: flags.timezone } : {}),
    ...(flags.date ? { dates: flags.date } : {}),
    ...(flags.range ? { ranges: flags.range.map(parseRangeOption) } : {}),
    ...(flags.cron ? { cron: flags.cron } : {}),
  };
}

export async function runCalendarPut(
  io: Io,
  target: Target,
  name: string | undefined,
  flags: CalendarPutFlags,
): Promise<void> {
  let calendars: [string, unknown][];
  if (flags.file) {
    if (name || flags.date || flags.range || flags.cron || flags.timezone)
      throw new UsageError('give either -f FILE or a calendar name with flags, not both');
    let text: string;
    try {
      text = await readFile(flags.file, 'utf8');
    } catch (error) {
      throw new PunctualError(`cannot read ${JSON.stringify(flags.file)}: ${errorMessage(error)}`);
    }
    const file = parseJobsFile(text, flags.file);
    calendars = Object.entries(file.calendars ?? {}).map(([key, { name: _, ...rest }]) => [key, rest]);
    if (!calendars.length) throw new PunctualError(`${flags.file} declares no calendars: (a calendars: map)`);
  } else {
    if (!name)
      throw new UsageError(
        'name the calendar: `punctual calendars put NAME --date …`, or put a file with -f FILE',
      );
    calendars = [[name, calendarFromFlags(flags)]];
  }
  const written: CalendarDefinition[] = [];
  for (const [key, input] of calendars) {
    written.push(
      await target.client.putCalendar(key, input as Parameters<Target['client']['putCalendar']>[1]),
    );
    if (!flags.json) io.out(`put calendar ${key}: applies from the next slot a tick claims\n`);
  }
  if (flags.json) printJson(io, written);
}

export async function runCalendarList(io: Io, target: Target, flags: { json?: boolean }): Promise<void> {
  const calendars = await target.client.listCalendars();
  if (flags.json) {
    printJson(io, calendars);
    return;
  }
  if (!calendars.length) {
    io.out('no calendars\n');
    return;
  }
  io.out(
    table(
      ['NAME', 'ZONE', 'EXCLUDES'],
      calendars.map((c) => [
        c.name,
        c.timezone,
        [
          c.dates?.length ? `${c.dates.length} date(s)` : '',
          c.ranges?.length ? `${c.ranges.length} range(s)` : '',
          ...(c.cron ?? []),
        ]
          .filter(Boolean)
          .join(', '),
      ]),
    ),
  );
}

export async function runCalendarGet(
  io: Io,
  target: Target,
  name: string,
  flags: { json?: boolean },
): Promise<void> {
  const calendar = await target.client.getCalendar(name);
  if (flags.json) {
    printJson(io, calendar);
    return;
  }
  io.out(
    keyValues([
      ['name', calendar.name],
      ['zone', calendar.timezone],
      ...(calendar.description ? ([['description', calendar.description]] as [string, string][]) : []),
      ['dates', calendar.dates?.length ? calendar.dates.join(', ') : '-'],
      [
        'ranges',
        calendar.ranges?.length ? calendar.ranges.map((r) => `[${r.from}, ${r.to})`).join(', ') : '-',
      ],
      ['cron', calendar.cron?.length ? calendar.cron.join(', ') : '-'],
    ]),
  );
}

export async function runCalendarDelete(
  io: Io,
  target: Target,
  name: string,
  flags: { json?: boolean; force?: boolean },
): Promise<void> {
  const result = await target.client.deleteCalendar(name, { force: flags.force === true });
  if (flags.json) {
    printJson(io, result);
    return;
  }
  io.out(`deleted calendar ${name}\n`);
  if (result.excludedBy.length) {
    const shown = result.excludedBy.slice(0, CALENDAR_USERS_SHOWN);
    const more = result.excludedBy.length - shown.length;
    io.err(
      `warning: ${result.excludedBy.length} job(s) still exclude it (${shown.join(', ')}${more ? `, and ${more} more` : ''}): ` +
        'the next tick that plans each marks it invalid, and it runs nothing until the calendar is put back and ' +
        'the job put again\n',
    );
  }
}
