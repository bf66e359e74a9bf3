/**
 * Exclusion calendars (shared/calendars), one item each in one partition:
 *
 *   pk = CALENDAR   sk = CAL#<name>   (type 'calendar', name, definition, updatedAt)
 *
 * One partition so that the tick reads every calendar with one Query per invocation, and only when a due
 * job excludes one (shared/tick/tick.ts): never a read per job per tick. The job item carries only the
 * names it excludes.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { CalendarDefinition } from '../calendars/calendar.js';
import { type RawItem, StoreBase } from './base.js';

export const CALENDAR_PARTITION = 'CALENDAR';

export function calendarKey(name: string): { pk: string; sk: string } {
  return { pk: CALENDAR_PARTITION, sk: `CAL#${name}` };
}

export interface CalendarItem {
  pk: string;
  sk: string;
  type: 'calendar';
  name: string;
  definition: CalendarDefinition;
  updatedAt: string;
}

export class CalendarRecords extends StoreBase {
  /** Writes the calendar (a create or a whole replacement); it applies from the next slot a tick claims. */
  async putCalendar(definition: CalendarDefinition, now: number): Promise<CalendarItem> {
    const item: CalendarItem = {
      ...calendarKey(definition.name),
      type: 'calendar',
      name: definition.name,
      definition,
      updatedAt: new Date(now).toISOString(),
    };
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
    return item;
  }

  async getCalendar(name: string): Promise<CalendarItem | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: calendarKey(name), ConsistentRead: true }),
    );
    return Item as CalendarItem | undefined;
  }

  /** Every calendar, by name (one Query of the calendar partition, paged). */
  async listCalendars(): Promise<CalendarItem[]> {
    const items: CalendarItem[] = [];
    let next: RawItem | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': CALENDAR_PARTITION },
          ConsistentRead: true,
          ...(next ? { ExclusiveStartKey: next } : {}),
        }),
      );
      items.push(...((page.Items ?? []) as CalendarItem[]));
      next = page.LastEvaluatedKey;
    } while (next);
    return items;
  }

  /**
   * The ids of the jobs that exclude each of `names` (a name no job excludes maps to []), sorted. A Scan of
   * the table with a filter: it reads every item (run records included), whatever it returns, so it is
   * for the rare calendar delete only, never the tick (docs/jobs.md "Exclusion calendars").
   */
  async jobsExcluding(names: readonly string[]): Promise<Map<string, string[]>> {
    const users = new Map<string, string[]>(names.map((name) => [name, []]));
    if (!names.length) return users;
    const values: Record<string, unknown> = { ':job': 'JOB' };
    const any = names.map((name, i) => {
      values[`:c${i}`] = name;
      return `contains(#definition.#exclude, :c${i})`;
    });
    let next: RawItem | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: `sk = :job AND (${any.join(' OR ')})`,
          ProjectionExpression: 'jobId, #definition.#exclude',
          ExpressionAttributeNames: { '#definition': 'definition', '#exclude': 'exclude' },
          ExpressionAttributeValues: values,
          ...(next ? { ExclusiveStartKey: next } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const exclude = (item.definition as { exclude?: unknown } | undefined)?.exclude;
        for (const name of Array.isArray(exclude) ? exclude : [])
          users.get(String(name))?.push(String(item.jobId));
      }
      next = page.LastEvaluatedKey;
    } while (next);
    for (const ids of users.values()) ids.sort();
    return users;
  }

  /** Deletes the calendar; true when it existed. */
  async deleteCalendar(name: string): Promise<boolean> {
    const { Attributes } = await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: calendarKey(name), ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined;
  }
}
