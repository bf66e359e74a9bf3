/**
 * Exclusion calendars as operations: put (validated, every violation at once), get, list, delete. The
 * client, the CLI and the deploy custom resource call these.
 */
import { type CalendarDefinition, checkCalendar } from '../calendars/calendar.js';
import { CalendarInUseError, JobValidationError, PunctualError } from '../errors.js';
import type { JobDefinition } from '../jobs/types.js';
import type { CalendarItem } from '../store/calendars.js';
import type { Store } from '../store/store.js';

/**
 * Creates or replaces the calendar `name`. It applies from the next slot a tick claims: slots already
 * claimed (sent ahead, up to the lookahead) keep the fate they were claimed with.
 *
 * @throws JobValidationError naming each field, value and rule (`calendars.uk.dates[0] "2026-13-01": …`).
 */
export async function putCalendar(
  store: Store,
  name: string,
  input: unknown,
  now: number,
): Promise<CalendarItem> {
  const result = checkCalendar(name, input);
  if (!result.ok) throw new JobValidationError(result.violations, `calendar "${name}"`);
  return store.putCalendar(result.calendar, now);
}

export async function getCalendar(store: Store, name: string): Promise<CalendarDefinition> {
  const item = await store.getCalendar(name);
  if (!item) throw new PunctualError(`no calendar "${name}"`);
  return item.definition;
}

export async function listCalendars(store: Store): Promise<CalendarDefinition[]> {
  return (await store.listCalendars())
    .map((item) => item.definition)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export interface CalendarDeleteResult {
  name: string;
  deleted: true;
  /** The jobs that still exclude it (a forced delete): each is marked invalid by the next tick that plans it. */
  excludedBy: string[];
}

/**
 * Deletes the calendar, refused while jobs exclude it (`CalendarInUseError`, naming them) unless `force`.
 * Finding them is a Scan of the table (store.jobsExcluding): a delete reads every item once.
 *
 * After a forced delete a job that still excludes it is marked invalid by the next tick that plans it, naming
 * the calendar: it runs nothing (never a slot the calendar was meant to skip) and records nothing until the
 * calendar is put back and the job is put again, when its catch-up policy takes the slots that passed. The
 * same holds for a job that excluded it through a race (a put between the check and the delete).
 *
 * @throws PunctualError when there is no calendar by that name.
 */
export async function deleteCalendar(
  store: Store,
  name: string,
  options: { force?: boolean } = {},
): Promise<CalendarDeleteResult> {
  if (!(await store.getCalendar(name))) throw new PunctualError(`no calendar "${name}"`);
  const excludedBy = (await store.jobsExcluding([name])).get(name) ?? [];
  if (excludedBy.length && !options.force) throw new CalendarInUseError(name, excludedBy);
  if (!(await store.deleteCalendar(name))) throw new PunctualError(`no calendar "${name}"`);
  return { name, deleted: true, excludedBy };
}

/**
 * Refuses a job whose `exclude` names a calendar the store lacks (one Query of the calendar partition, only
 * for a job that excludes one).
 */
export async function checkExcludedCalendars(store: Store, definition: JobDefinition): Promise<void> {
  const exclude = definition.exclude ?? [];
  if (!exclude.length) return;
  const known = new Set((await store.listCalendars()).map((item) => item.name));
  const violations = exclude.flatMap((name, i) =>
    known.has(name)
      ? []
      : [
          {
            path: `exclude[${i}]`,
            value: name,
            message: `is not a calendar of this deployment (calendars: ${[...known].sort().join(', ') || 'none'})`,
          },
        ],
  );
  if (violations.length) throw new JobValidationError(violations, `job "${definition.id}"`);
}
