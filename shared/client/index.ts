/**
 * The typed client of punctual, for applications (the `"."` entry of the package): create, read and
 * operate jobs and runs of a deployed stack or of the local runtime.
 *
 * @example
 * import { JobNotFoundError, PunctualClient } from 'punctual';
 *
 * const client = await PunctualClient.local();
 * await client.putJob({ id: 'hello', schedule: 'rate(1 minute)', target: { type: 'handler', name: 'noop' } });
 */
export {
  CalendarInUseError,
  type CompletionRefusal,
  CompletionRefusedError,
  InvalidScheduleError,
  JobNotFoundError,
  JobValidationError,
  PunctualError,
  RunNotFoundError,
  type Violation,
} from '../errors.js';
export type { SerializedJob } from '../jobs/index.js';
export type { CalendarDeleteResult } from '../ops/calendars.js';
export { JOB_STATES, type JobFilter, type JobState } from '../ops/list.js';
export type {
  BackfillOptions,
  Deployment,
  Instant,
  JobInput,
  JobRunsOptions,
  ListRunsOptions,
  PunctualClientOptions,
  RunPage,
  SlotList,
  StackClientOptions,
  TableClientOptions,
  WindowOptions,
} from './client.js';
export { PunctualClient } from './client.js';
export type { AwsOptions, PoolQueues } from './connection.js';
export type { DlqEntry, PurgeResult, RedriveResult } from './dlq.js';
export type { StatusReport } from './health.js';
export type {
  Attempt,
  BackfillResult,
  CompletionResult,
  Job,
  JobDetail,
  PutJobResult,
  Run,
  RunStatusName,
} from './views.js';
export { slotSent } from './views.js';
