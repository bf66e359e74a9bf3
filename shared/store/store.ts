/**
 * The DynamoDB adapter of punctual's one table. Each kind of record has its own module: jobs
 * ({@link JobRecords}), runs ({@link RunRecords}) and the tick's own records ({@link TickRecords}).
 * `Store` is all three over one client, so a caller holds one object.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StoreBase, type StoreConfig } from './base.js';
import { CalendarRecords } from './calendars.js';
import { FinishedJobs } from './finished.js';
import { JobRecords } from './jobs.js';
import { RunRecords } from './runs.js';
import { TagRecords } from './tags.js';
import { TickRecords } from './tick-state.js';

export {
  aliased,
  aliasNames,
  isConditionFailure,
  type Page,
  type RawItem,
  StoreBase,
  type StoreConfig,
} from './base.js';
export { type CalendarItem, CalendarRecords } from './calendars.js';
export { JobRecords } from './jobs.js';
export { type RunPatch, RunRecords } from './runs.js';
export { TagRecords } from './tags.js';
export { type Heartbeat, TickRecords } from './tick-state.js';

/** The store: one object with every record module's methods, over one document client. */
export type Store = JobRecords & RunRecords & TickRecords & TagRecords & FinishedJobs & CalendarRecords;

// One class per record kind, one object for callers: `Store` is a class whose prototype holds the record
// modules' methods (the mixin pattern of TypeScript's handbook; they share the fields of `StoreBase`).
class StoreOfAllRecords extends StoreBase {
  static terminal = RunRecords.terminal;
}
for (const records of [JobRecords, RunRecords, TickRecords, TagRecords, FinishedJobs, CalendarRecords]) {
  for (const name of Object.getOwnPropertyNames(records.prototype)) {
    if (name === 'constructor') continue;
    Object.defineProperty(
      StoreOfAllRecords.prototype,
      name,
      Object.getOwnPropertyDescriptor(records.prototype, name) as PropertyDescriptor,
    );
  }
}

export const Store = StoreOfAllRecords as unknown as {
  new (client: DynamoDBClient, config: StoreConfig): Store;
  terminal: typeof RunRecords.terminal;
};
