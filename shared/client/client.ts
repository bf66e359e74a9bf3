/**
 * `PunctualClient`: the operations of the `punctual` CLI for applications. The CLI is a thin layer over
 * it, so every operation has one implementation: this file is the only caller of shared/ops. It is the
 * edge where time is read (`now` = the clock, Date.now by default), like the Lambda handlers.
 */
import { resolve } from 'node:path';
import type { z } from 'zod';
import type { CalendarDefinition } from '../calendars/calendar.js';
import { PunctualError } from '../errors.js';
import type { jobSchema as jobInputSchema } from '../jobs/schema.js';
import {
  type CalendarDeleteResult,
  deleteCalendar,
  getCalendar,
  listCalendars,
  putCalendar,
} from '../ops/calendars.js';
import {
  type ClaimDeps,
  deleteJob,
  describeJob,
  listJobs,
  pauseJob,
  putJob,
  resumeJob,
  scheduleSlots,
  triggerJob,
  upcomingSlot,
} from '../ops/jobs.js';
import { type JobFilter, listAllJobs, listJobsPage, overdueMs } from '../ops/list.js';
import {
  backfill,
  canonicalRunId,
  listRuns,
  type RunPhase,
  replayRun,
  reportRun,
  runsInWindow,
  showRun,
} from '../ops/runs.js';
import { type JobItem, jobIdPrefixProblem, parseRunId, type RunStatus } from '../store/model.js';
import { lookaheadFor } from '../tick/lookahead.js';
import { DEFAULT_TICK_CONFIG } from '../tick/tick.js';
import { readAlarms } from './alarms.js';
import {
  type Connection,
  connectLocal,
  connectStack,
  connectTable,
  noLocalRuntime,
  type PoolQueues,
  readDevState,
  STACK_TICK_MS,
  type StackOptions,
  stateFilePath,
  type TableOptions,
} from './connection.js';
import {
  type DlqEntry,
  listPoolDlq,
  type PurgeResult,
  purgePool,
  type RedriveResult,
  redrivePool,
  selectPools,
} from './dlq.js';
import { assessStatus, queueDepths, readHeartbeats, type StatusReport } from './health.js';
import {
  type BackfillResult,
  type CompletionResult,
  type Job,
  type JobDetail,
  jobDetailView,
  jobView,
  type PutJobResult,
  type Run,
  runView,
} from './views.js';

/** A job as written in a jobs file or sent to `putJob` (durations as `30s` or milliseconds). */
export type JobInput = z.input<typeof jobInputSchema>;

/** A time given to the client: a Date, epoch milliseconds, or an ISO-8601 string with a zone. */
export type Instant = Date | number | string;

interface CommonOptions {
  /** The clock (epoch ms) the operations read `now` from; Date.now by default. For tests. */
  clock?: () => number;
  /**
   * The job ids this client may reach, as its grant does (`grantManageJobs(fn, { jobIdPrefix })`): a job
   * or run id outside it is refused here with a clear error instead of an AccessDenied from DynamoDB.
   * Listing then needs a `jobId` (runs) or `tags` (jobs): a scoped grant allows no Scan.
   */
  jobIdPrefix?: string;
}

/** A deployed stack, found through its outputs: `new PunctualClient({ stackName: 'Punctual' })`. */
export type StackClientOptions = StackOptions & CommonOptions;
/** A table and queues named directly: `new PunctualClient({ tableName, queues: { default: url } })`. */
export type TableClientOptions = TableOptions & CommonOptions;
export type PunctualClientOptions = StackClientOptions | TableClientOptions;

export interface ListRunsOptions {
  jobId?: string;
  status?: RunStatus;
  /** Runs whose slot is at or after this time. */
  since?: Instant;
  /** Runs whose slot is before this time. */
  until?: Instant;
  /** Most runs returned (default 50). */
  limit?: number;
  /**
   * `happened`: runs that started or ended, newest first; `upcoming`: slots sent that have not started,
   * soonest first; absent: both. Ignored when `status` is given.
   */
  phase?: RunPhase;
}

/** A window of slot times, [from, to). */
export interface WindowOptions {
  /** Start of the window, inclusive. */
  from: Instant;
  /** End of the window, exclusive. */
  to: Instant;
}

export interface JobRunsOptions extends WindowOptions {
  /** Most runs in this page (1 to 1000, default 1000). */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
}

/** One page of a job's runs in a window, oldest slot first. */
export interface RunPage {
  runs: Run[];
  /** Pass it as `cursor` for the next page; null after the last page. */
  cursor: string | null;
}

/** The slots a job's schedule has in a window, whether or not they have a run yet. */
export interface SlotList {
  slots: string[];
  /** The window holds more slots than the limit: `slots` are its first ones. */
  truncated: boolean;
  /**
   * Of `slots`, those the job's exclusion calendars exclude (slot → calendar), as the calendars are now: the
   * tick records each skipped(calendar) instead of running it.
   */
  excluded: Record<string, string>;
}

export interface BackfillOptions {
  /** Start of the window, inclusive. */
  from: Instant;
  /** End of the window, exclusive, not in the future. */
  to: Instant;
  /** Refuse a window holding more slots than this (default 1000). */
  limit?: number;
  /**
   * Run the slots the job's exclusion calendars exclude too. By default a backfill honours them: an excluded
   * slot is recorded skipped(calendar), naming the calendar, and not run (counted in `excluded`).
   */
  ignoreCalendars?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** Which deployment a client talks to. */
export interface Deployment {
  kind: 'local' | 'stack' | 'table';
  /** `stack Punctual (eu-west-1)`, `local runtime (…/.punctual/local.json, pid 123)`: for messages. */
  label: string;
  tableName: string;
  /** The shards of the due and open indexes. */
  shards: number;
  /** The pools and their queues. */
  pools: Record<string, PoolQueues>;
  /** The tick interval when the deployment fixes it (a stack ticks every minute). */
  tickMs?: number;
  /**
   * The names of the secrets the deployment declares (never their values), when it says: a stack's
   * `SecretNames` output, the local runtime's state. `putJob` then refuses a job naming another.
   */
  secretNames?: string[];
}

function isoOf(field: string, value: Instant): string {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new PunctualError(
      `${field} ${JSON.stringify(value)}: not a time; give a Date, epoch milliseconds or an ISO-8601 string with a zone`,
    );
  }
  return new Date(ms).toISOString();
}

function encodeCursor(key: Record<string, unknown> | undefined): string | null {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : null;
}

function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (key && typeof key === 'object' && !Array.isArray(key)) return key as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new PunctualError(`cursor ${JSON.stringify(cursor)}: not a cursor this client returned`);
}

function checkOptions(options: PunctualClientOptions): void {
  const given = options as Partial<StackOptions & TableOptions>;
  if (typeof given.stackName === 'string' && given.stackName) return;
  if (typeof given.tableName === 'string' && given.tableName) {
    if (!given.queues || typeof given.queues !== 'object' || Array.isArray(given.queues)) {
      throw new PunctualError(
        `queues ${JSON.stringify(given.queues)}: must map each pool to its queue URL ({ default: "https://sqs…" })`,
      );
    }
    return;
  }
  throw new PunctualError(
    'PunctualClient options: give stackName (a deployed stack), or tableName and queues; ' +
      'for the local runtime use `await PunctualClient.local()`',
  );
}

/**
 * Creates, reads and operates jobs and runs of a punctual deployment. Methods return plain objects
 * (`Job`, `JobDetail`, `Run`); a missing job or run throws `JobNotFoundError` / `RunNotFoundError`, an
 * invalid definition `JobValidationError` with every violation. The AWS clients are made on the first
 * call (the constructor does no I/O); `close()` releases them.
 *
 * @example
 * import { PunctualClient } from 'punctual';
 *
 * const client = new PunctualClient({ stackName: 'Punctual', region: 'eu-west-1' });
 * await client.putJob({
 *   id: 'remind-order-1234',
 *   schedule: 'at(2026-12-24T18:00:00)',
 *   target: { type: 'http', url: 'https://example.com/remind', method: 'POST' },
 *   payload: { orderId: 1234 },
 * });
 * const runs = await client.listRuns({ jobId: 'remind-order-1234' });
 */
export class PunctualClient {
  readonly #clock: () => number;
  #connect: () => Promise<Connection>;
  #connection: Promise<Connection> | undefined;

  readonly #prefix: string | undefined;

  constructor(options: PunctualClientOptions) {
    checkOptions(options);
    this.#clock = options.clock ?? Date.now;
    if (options.jobIdPrefix !== undefined) {
      const problem = jobIdPrefixProblem(options.jobIdPrefix);
      if (problem) throw new PunctualError(`jobIdPrefix ${JSON.stringify(options.jobIdPrefix)}: ${problem}`);
    }
    this.#prefix = options.jobIdPrefix;
    this.#connect =
      'stackName' in options && options.stackName
        ? () => connectStack(options)
        : async () => connectTable(options as TableOptions);
  }

  /**
   * The `punctual dev` running in `dir` (default: the current directory), found through its state file
   * `dir/.punctual/local.json`.
   *
   * @example
   * const client = await PunctualClient.local();
   * console.log(await client.listJobs());
   * client.close();
   */
  static async local(dir: string = process.cwd(), options: CommonOptions = {}): Promise<PunctualClient> {
    dir = resolve(dir);
    const file = stateFilePath(dir);
    const state = await readDevState(file);
    if (!state) throw noLocalRuntime(dir);
    const client = new PunctualClient({
      tableName: state.tableName,
      queues: state.pools ?? {},
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.jobIdPrefix !== undefined ? { jobIdPrefix: options.jobIdPrefix } : {}),
    });
    client.#connect = () => connectLocal(file, state);
    // Connect now: a state file left by a runtime that died is reported here, not at the first call.
    await client.#target();
    return client;
  }

  /** Refuses a job id outside `jobIdPrefix`. */
  #own(jobId: string, what = 'job'): void {
    if (this.#prefix !== undefined && !jobId.startsWith(this.#prefix))
      throw new PunctualError(
        `${what} ${JSON.stringify(jobId)}: outside this client's jobIdPrefix ${JSON.stringify(this.#prefix)}; ` +
          "its grant (grantManageJobs / grantReadRuns with { jobIdPrefix }) reaches that application's jobs only",
      );
  }

  /** Refuses a run id whose job is outside `jobIdPrefix`. */
  #ownRun(runId: string): void {
    if (this.#prefix === undefined) return;
    const jobId = parseRunId(canonicalRunId(runId))?.jobId;
    this.#own(jobId ?? runId, `run ${JSON.stringify(runId)} of job`);
  }

  /** A listing's filter narrowed to `jobIdPrefix`; a scoped grant has no Scan, so it needs tags. */
  #ownFilter(filter: JobFilter): JobFilter {
    if (this.#prefix === undefined) return filter;
    if (!filter.tags || Object.keys(filter.tags).length === 0)
      throw new PunctualError(
        `listJobs with jobIdPrefix ${JSON.stringify(this.#prefix)} needs a tags filter: a grant scoped to a prefix ` +
          'allows no Scan of the table, and a tag is a Query (tag your jobs, e.g. { app: "billing" })',
      );
    const prefix = filter.prefix ?? this.#prefix;
    this.#own(prefix, 'prefix');
    return { ...filter, prefix };
  }

  #target(): Promise<Connection> {
    this.#connection ??= this.#connect().catch((error: unknown) => {
      this.#connection = undefined;
      throw error;
    });
    return this.#connection;
  }

  /** Which deployment this client talks to (resolves the stack on the first call). */
  async deployment(): Promise<Deployment> {
    const target = await this.#target();
    return {
      kind: target.kind,
      label: target.label,
      tableName: target.store.tableName,
      shards: target.store.shards,
      pools: target.pools,
      ...(target.tickMs !== undefined ? { tickMs: target.tickMs } : {}),
      ...(target.secretNames ? { secretNames: target.secretNames } : {}),
    };
  }

  /** What a put or a resume needs to claim the job's first slots at once, with the tick's protocol. */
  #claim(target: Connection): ClaimDeps {
    return {
      deps: { ...target.deps, clock: this.#clock },
      config: {
        ...DEFAULT_TICK_CONFIG,
        lookaheadMs:
          target.lookaheadMs ??
          (target.tickMs !== undefined ? lookaheadFor(target.tickMs) : DEFAULT_TICK_CONFIG.lookaheadMs),
      },
    };
  }

  #job(item: JobItem, now: number, tickMs: number): Job {
    return jobView(item, upcomingSlot(item, now), overdueMs(item, now, tickMs));
  }

  /**
   * Creates or updates a job (an update keeps the cadence unless the schedule changed). Throws
   * `JobValidationError` listing every violation, a pool the deployment lacks included.
   *
   * @example
   * const { job, created } = await client.putJob({
   *   id: `reminder-${userId}`,
   *   schedule: `at(${new Date(Date.now() + 3_600_000).toISOString().slice(0, 19)})`,
   *   target: { type: 'lambda', functionArn: reminderArn },
   *   payload: { userId },
   * });
   */
  async putJob(definition: JobInput): Promise<PutJobResult> {
    const target = await this.#target();
    const now = this.#clock();
    // The claim sends a new (or re-anchored) job's first slots at once, as the tick would.
    const result = await putJob(target.store, definition, now, {
      ...(this.#prefix !== undefined ? { jobIdPrefix: this.#prefix } : {}),
      pools: Object.keys(target.pools),
      ...(target.handlerNames ? { handlerNames: target.handlerNames } : {}),
      ...(target.secretNames ? { secretNames: target.secretNames } : {}),
      ...(target.targetAccess ? { targetAccess: target.targetAccess } : {}),
      ...(target.ecsNetwork ? { ecsNetwork: target.ecsNetwork } : {}),
      claim: this.#claim(target),
    });
    return {
      job: this.#job(result.job, now, target.tickMs ?? STACK_TICK_MS),
      created: result.created,
      changes: result.changes,
      warnings: result.warnings,
    };
  }

  /**
   * Creates or replaces an exclusion calendar (dates, ranges or cron expressions in a time zone). It applies
   * from the next slot a tick claims. Throws `JobValidationError` naming field, value and rule.
   *
   * @example
   * await client.putCalendar('uk-bank-holidays', { timezone: 'Europe/London', dates: ['2026-12-25', '2026-12-28'] });
   * await client.putJob({ id: 'payroll', schedule: 'cron(0 9 ? * MON-FRI *)', exclude: ['uk-bank-holidays'], target });
   */
  async putCalendar(
    name: string,
    calendar: Omit<CalendarDefinition, 'name' | 'timezone'> & { timezone?: string },
  ): Promise<CalendarDefinition> {
    const target = await this.#target();
    return (await putCalendar(target.store, name, calendar, this.#clock())).definition;
  }

  /** One calendar. Throws a `PunctualError` when there is none by that name. */
  async getCalendar(name: string): Promise<CalendarDefinition> {
    return getCalendar((await this.#target()).store, name);
  }

  /** Every calendar, by name. */
  async listCalendars(): Promise<CalendarDefinition[]> {
    return listCalendars((await this.#target()).store);
  }

  /**
   * Deletes a calendar. Refused with `CalendarInUseError` (naming the jobs) while a job excludes it, unless
   * `force`: then each job that still excludes it is marked invalid by the next tick that plans it, naming
   * the calendar, and runs nothing until the calendar is put back and the job put again (`excludedBy` lists
   * them). Finding them reads the table once (a Scan). Throws a `PunctualError` when there is no such calendar.
   *
   * @example await client.deleteCalendar('freeze-2026'); // CalendarInUseError while payroll excludes it
   */
  async deleteCalendar(name: string, options: { force?: boolean } = {}): Promise<CalendarDeleteResult> {
    return deleteCalendar((await this.#target()).store, name, options);
  }

  /** A job with its definition, state, last 10 runs and next 10 slots. Throws `JobNotFoundError`. */
  async getJob(id: string): Promise<JobDetail> {
    this.#own(id);
    const target = await this.#target();
    const now = this.#clock();
    const description = await describeJob(target.store, id, now);
    const overdue = overdueMs(description.job, now, target.tickMs ?? STACK_TICK_MS);
    return jobDetailView(description, upcomingSlot(description.job, now), overdue);
  }

  /**
   * Every job that matches `filter` (all of them without one), sorted by id; invalid ones included, with
   * `invalid` set. A filter with a tag reads only the jobs that carry it; without a tag the table is
   * scanned (docs/jobs.md, "Tags and search"). Throws `JobValidationError` for a bad filter.
   *
   * @example const payments = await client.listJobs({ tags: { team: 'payments' }, prefix: 'invoice-', status: 'paused' });
   */
  async listJobs(filter: JobFilter = {}): Promise<Job[]> {
    const target = await this.#target();
    const now = this.#clock();
    const tickMs = target.tickMs ?? STACK_TICK_MS;
    return (await listAllJobs(target.store, this.#ownFilter(filter), { now, tickMs })).map((item) =>
      this.#job(item, now, tickMs),
    );
  }

  /**
   * One page of {@link listJobs}: at most `limit` (default 100, at most 1,000) candidates examined, and a
   * `cursor` to pass back for the next page while there is one. A page may hold fewer jobs than `limit`.
   *
   * @example
   * let cursor: string | undefined;
   * do { const page = await client.listJobsPage({ tags: { env: 'prod' } }, { cursor }); cursor = page.cursor; } while (cursor);
   */
  async listJobsPage(
    filter: JobFilter = {},
    options: { limit?: number; cursor?: string | undefined } = {},
  ): Promise<{ jobs: Job[]; cursor?: string }> {
    const target = await this.#target();
    const now = this.#clock();
    const tickMs = target.tickMs ?? STACK_TICK_MS;
    const page = await listJobsPage(target.store, this.#ownFilter(filter), {
      now,
      tickMs,
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
    });
    return {
      jobs: page.jobs.map((item) => this.#job(item, now, tickMs)),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    };
  }

  /** Pauses a job (no slot is due until it is resumed); idempotent. Throws `JobNotFoundError`. */
  async pauseJob(id: string, options: { note?: string } = {}): Promise<Job> {
    this.#own(id);
    const target = await this.#target();
    const now = this.#clock();
    const item = await pauseJob(target.store, id, now, options.note ?? 'paused by operator');
    return this.#job(item, now, target.tickMs ?? STACK_TICK_MS);
  }

  /**
   * Resumes a paused job. Slots that passed while paused are recorded skipped(paused), or with
   * `replay: true` handed to the job's catch-up policy. Throws `JobNotFoundError`.
   */
  async resumeJob(id: string, options: { replay?: boolean } = {}): Promise<Job> {
    this.#own(id);
    const target = await this.#target();
    const now = this.#clock();
    const item = await resumeJob(target.store, id, now, {
      replay: options.replay ?? false,
      claim: this.#claim(target),
    });
    return this.#job(item, now, target.tickMs ?? STACK_TICK_MS);
  }

  /** Deletes a job; its run records stay until they expire. Throws `JobNotFoundError`. */
  async deleteJob(id: string): Promise<void> {
    this.#own(id);
    const target = await this.#target();
    await deleteJob(target.store, id, this.#clock());
  }

  /** Runs a job once now, as run `id@manual-<time>`; the schedule is unchanged. Throws `JobNotFoundError`. */
  async triggerJob(id: string): Promise<Run> {
    this.#own(id);
    const target = await this.#target();
    return runView(await triggerJob(target.deps, id, this.#clock()));
  }

  /** Runs, newest slot first. Throws `JobNotFoundError` for a `jobId` that has neither a job nor runs. */
  async listRuns(options: ListRunsOptions = {}): Promise<Run[]> {
    if (this.#prefix !== undefined) {
      if (options.jobId === undefined)
        throw new PunctualError(
          `listRuns with jobIdPrefix ${JSON.stringify(this.#prefix)} needs a jobId: a grant scoped to a prefix allows no Scan of the table`,
        );
      this.#own(options.jobId);
    }
    const target = await this.#target();
    const runs = await listRuns(target.store, {
      ...(options.jobId !== undefined ? { jobId: options.jobId } : {}),
      ...(options.status !== undefined ? { status: options.status } : {}),
      ...(options.since !== undefined ? { since: isoOf('since', options.since) } : {}),
      ...(options.until !== undefined ? { until: isoOf('until', options.until) } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(options.phase !== undefined ? { phase: options.phase } : {}),
    });
    return runs.map(runView);
  }

  /**
   * A job's runs whose slot is in the window [from, to), oldest first, a page at a time (one query of at
   * most `limit` runs). The console's timeline and charts read a window with it.
   *
   * @example
   * let cursor: string | undefined;
   * do {
   *   const page = await client.listJobRuns('nightly-report', { from: '2026-12-01T00:00:00Z', to: new Date(), cursor });
   *   for (const run of page.runs) console.log(run.runId, run.status);
   *   cursor = page.cursor ?? undefined;
   * } while (cursor);
   */
  async listJobRuns(jobId: string, options: JobRunsOptions): Promise<RunPage> {
    this.#own(jobId);
    const target = await this.#target();
    const page = await runsInWindow(
      target.store,
      jobId,
      { from: isoOf('from', options.from), to: isoOf('to', options.to) },
      {
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
        ...(options.cursor ? { start: decodeCursor(options.cursor) } : {}),
      },
    );
    return { runs: page.runs.map(runView), cursor: encodeCursor(page.next) };
  }

  /**
   * The slots of a job's schedule in the window [from, to), at most `limit` (default 10 000), whether or
   * not they have a run: what the tick will claim, or should have. Throws `JobNotFoundError`.
   */
  async jobSlots(jobId: string, options: WindowOptions & { limit?: number }): Promise<SlotList> {
    this.#own(jobId);
    const target = await this.#target();
    return scheduleSlots(
      target.store,
      jobId,
      { from: Date.parse(isoOf('from', options.from)), to: Date.parse(isoOf('to', options.to)) },
      options.limit ?? 10_000,
    );
  }

  /** One run with its attempts. Throws `RunNotFoundError`. */
  async getRun(runId: string): Promise<Run> {
    this.#ownRun(runId);
    const target = await this.#target();
    return runView(await showRun(target.store, runId));
  }

  /** Runs a missed, skipped, failed or cancelled run again under its own id. Throws `RunNotFoundError`. */
  async replayRun(runId: string): Promise<Run> {
    this.#ownRun(runId);
    const target = await this.#target();
    return runView(await replayRun(target.deps, runId, this.#clock()));
  }

  /**
   * Runs every slot of a past window [from, to) as ordinary runs; idempotent (a slot with a run keeps it)
   * and bounded (`limit`, default 1000). Honours the job's exclusion calendars unless `ignoreCalendars`: an
   * excluded slot is recorded skipped(calendar) instead of run (`excluded`). Throws `JobNotFoundError`.
   */
  async backfill(jobId: string, options: BackfillOptions): Promise<BackfillResult> {
    this.#own(jobId);
    const target = await this.#target();
    const window = {
      from: Date.parse(isoOf('from', options.from)),
      to: Date.parse(isoOf('to', options.to)),
    };
    return backfill(target.deps, jobId, window, this.#clock(), {
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(options.ignoreCalendars ? { ignoreCalendars: true } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }

  /**
   * Reports that the worker holding `token` (the run context's `completionToken`) is still at work on
   * the run: the attempt is lost only after `heartbeatTimeout` without one. Throws
   * `CompletionRefusedError` when the token is not the current attempt's (stop working: the attempt was
   * lost or ended) and `RunNotFoundError`.
   *
   * @example
   * const timer = setInterval(() => client.heartbeat(ctx.runId, ctx.completionToken).catch(stop), 60_000);
   */
  async heartbeat(runId: string, token: string): Promise<CompletionResult> {
    return this.#report({ runId, token, type: 'heartbeat' });
  }

  /**
   * Ends an asynchronous run `succeeded`, with an optional JSON `output` (at most 16 KiB) kept on the run.
   * Idempotent: the same report again answers `duplicate`. Throws `CompletionRefusedError` (wrong token,
   * older attempt, attempt already declared lost: then the report is kept in its history) and
   * `RunNotFoundError`.
   *
   * @example await client.complete(ctx.runId, ctx.completionToken, { rows: 1200 });
   */
  async complete(runId: string, token: string, output?: unknown): Promise<CompletionResult> {
    return this.#report({ runId, token, type: 'complete', ...(output !== undefined ? { output } : {}) });
  }

  /**
   * Ends the attempt `failed` with `error`: retried with a new attempt (and token) while the job's retry
   * budget lasts, else the run fails and goes to the DLQ. Throws like `complete`.
   *
   * @example await client.fail(ctx.runId, ctx.completionToken, 'upstream returned 503 three times');
   */
  async fail(runId: string, token: string, error: string): Promise<CompletionResult> {
    return this.#report({ runId, token, type: 'fail', error });
  }

  async #report(report: Parameters<typeof reportRun>[1]): Promise<CompletionResult> {
    this.#ownRun(report.runId);
    const target = await this.#target();
    const result = await reportRun(target.deps, report, this.#clock());
    return { outcome: result.outcome, run: runView(result.run) };
  }

  /** The messages of the pools' DLQs (all pools, or `pool`), left in place, oldest failure first. */
  async listDlq(options: { pool?: string; limit?: number } = {}): Promise<DlqEntry[]> {
    const target = await this.#target();
    const now = this.#clock();
    const entries: DlqEntry[] = [];
    for (const [name, pool] of selectPools(target, options.pool)) {
      entries.push(...(await listPoolDlq(target.sqs, name, pool, options.limit ?? 100, now)));
    }
    return entries.sort((a, b) => (a.failedAt ?? '').localeCompare(b.failedAt ?? ''));
  }

  /**
   * Deletes the DLQs' messages, every pool's or one's, all of them or one job's (`jobId`, e.g. a deleted
   * job's). Their runs keep their `failed` records; they can no longer be redriven. `dryRun` deletes
   * nothing and says what would go.
   */
  async purgeDlq(
    options: { pool?: string; jobId?: string; dryRun?: boolean; limit?: number } = {},
  ): Promise<PurgeResult[]> {
    const target = await this.#target();
    const now = this.#clock();
    const results: PurgeResult[] = [];
    for (const [name, pool] of selectPools(target, options.pool)) {
      results.push(
        await purgePool(
          target.sqs,
          name,
          pool,
          {
            ...(options.jobId !== undefined ? { jobId: options.jobId } : {}),
            ...(options.dryRun ? { dryRun: true } : {}),
            ...(options.limit !== undefined ? { limit: options.limit } : {}),
          },
          now,
        ),
      );
    }
    return results;
  }

  /** Moves the DLQs' messages back to their pools' queues (an SQS move task per pool), pool by pool. */
  async redriveDlq(
    options: {
      pool?: string;
      onProgress?: (pool: string, moved: number, toMove: number) => void;
      onPool?: (result: RedriveResult) => void;
      pollMs?: number;
      timeoutMs?: number;
    } = {},
  ): Promise<RedriveResult[]> {
    const target = await this.#target();
    const results: RedriveResult[] = [];
    for (const [name, pool] of selectPools(target, options.pool)) {
      const result = await redrivePool(
        target.sqs,
        name,
        pool,
        (moved, toMove) => options.onProgress?.(name, moved, toMove),
        {
          ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        },
      );
      results.push(result);
      options.onPool?.(result);
    }
    return results;
  }

  /**
   * Health: tick heartbeat, overdue and invalid jobs, queue depths, runs of the last hour, a stack's
   * CloudWatch alarms, problems.
   */
  async status(): Promise<StatusReport> {
    const target = await this.#target();
    const now = this.#clock();
    const [heartbeats, jobs, queues, runs, alarms] = await Promise.all([
      readHeartbeats(target.store),
      listJobs(target.store),
      queueDepths(target),
      listRuns(target.store, {
        since: new Date(now - 3_600_000).toISOString(),
        limit: Number.MAX_SAFE_INTEGER,
      }),
      target.alarms ? readAlarms(target.alarms) : undefined,
    ]);
    // Whose messages a non-empty DLQ holds (a sample, left in place), to tell a deleted job's apart.
    const dlqJobs: Record<string, (string | null)[]> = {};
    for (const [name, pool] of selectPools(target, undefined)) {
      if ((queues[name]?.dlq ?? 0) > 0 && pool.dlqUrl)
        dlqJobs[name] = (await listPoolDlq(target.sqs, name, pool, 10, now)).map((entry) => entry.jobId);
    }
    return assessStatus(
      {
        dlqJobs,
        ...(alarms ? { alarms } : {}),
        label: target.label,
        ...(target.tickMs !== undefined ? { tickMs: target.tickMs } : {}),
        heartbeat: heartbeats.get(0),
        groupHeartbeats: heartbeats,
        shards: target.store.shards,
        jobs,
        queues,
        runs,
      },
      now,
    );
  }

  /**
   * Read capacity units DynamoDB reported for this client's reads since it connected (0 before its first
   * call): the console shows the difference a page view made.
   */
  async consumedReadCapacity(): Promise<number> {
    if (!this.#connection) return 0;
    return (await this.#target()).consumed.read;
  }

  /** Releases the AWS clients. A later call connects again. */
  close(): void {
    const connection = this.#connection;
    this.#connection = undefined;
    void connection?.then(
      (target) => target.close(),
      () => undefined,
    );
  }
}
