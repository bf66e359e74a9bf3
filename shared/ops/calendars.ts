/**
 * Exclusion calendars as operations: put (validated, every violation at once), get, list, delete. The
 * client, the CLI and the deploy custom resource call these.
 */
import { type CalendarDefinition, checkCalendar } from '../calendars/calendar.js';
import { JobValidationError, PunctualError } from '../errors.js';
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

/**
 * Deletes the calendar. A job that still excludes it is marked invalid by the next tick that plans it (with
 * the calendar's name), not run unfiltered.
 */
export async function deleteCalendar(store: Store, name: string): Promise<void> {
  if (!(await store.deleteCalendar(name))) throw new PunctualError(`no calendar "${name}"`);
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
