/**
 * The exclusion calendars as one tick invocation sees them: read once (one Query of the calendar
 * partition), the first time a due job that excludes one is planned, then kept for the rest of the
 * invocation. A calendar edit therefore takes effect from the next slot a tick claims.
 */
import { type CompiledCalendar, compileCalendar } from '../calendars/calendar.js';
import type { Store } from '../store/store.js';

export type CalendarSource = () => Promise<ReadonlyMap<string, CompiledCalendar>>;

/** Memoizes the read; a failed read is not kept (the next job that needs it tries again). */
export function calendarSource(store: Pick<Store, 'listCalendars'>): CalendarSource {
  let loaded: Promise<ReadonlyMap<string, CompiledCalendar>> | undefined;
  return () => {
    loaded ??= store
      .listCalendars()
      .then((items) => new Map(items.map((item) => [item.name, compileCalendar(item.definition)])))
      .catch((error: unknown) => {
        loaded = undefined;
        throw error;
      });
    return loaded;
  };
}
