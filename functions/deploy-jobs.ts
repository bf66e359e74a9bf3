/**
 * The custom resource behind the jobs declared in the Scheduler construct (cdk/scheduler.ts), run by the
 * CDK Provider framework (which answers CloudFormation; this handler only returns or throws).
 *
 * - Create / Update: every declared job is written with `putJob`, the same code as `punctual jobs put`
 *   (anchor, cursor and pause kept on update), and its slots within the lookahead are claimed and sent at
 *   once with the tick's claim protocol, so a deploy that adds a job does not wait for the next tick (which
 *   would coalesce the first minute's slots into misses). A job whose stored definition is already the
 *   declared one is left alone, so a deploy does not bump versions for nothing. On Update, a job that was declared
 *   before and is not any more is deleted.
 *   A declared job with `afterLastRun: delete` that was declared before with the same definition and is
 *   gone from the table was deleted by its completion (or by hand): it is left deleted, not created
 *   again; a changed declaration creates it again.
 * - Calendars (the construct's `calendars`): written before the jobs (which may exclude them); on Update,
 *   one no longer declared is deleted after the jobs, but refused (the deploy fails, before anything is
 *   written, naming the jobs) while a job the deploy does not delete still excludes it: one put from the
 *   CLI or the client. `punctual calendars delete NAME --force` first is the override (a deploy's delete
 *   of a calendar already gone is a no-op).
 * - Delete (stack deleted, or jobs no longer declared at all): the declared jobs are deleted, then the
 *   declared calendars, whatever still excludes them (a stack delete is not refused: a job put from the CLI
 *   that excludes one is then marked invalid by the next tick, if the table stays). Their run records stay
 *   until their TTL.
 *
 * The physical id names the table, so a replaced table makes CloudFormation send Delete for the old one
 * (with the old properties) after the new one is filled.
 */
import { isDeepStrictEqual } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { CalendarDefinition } from '../shared/calendars/calendar.js';
import { JobNotFoundError, PunctualError } from '../shared/errors.js';
import { type JobDefinition, parseJob } from '../shared/jobs/index.js';
import { putCalendar } from '../shared/ops/calendars.js';
import { type ClaimDeps, deleteJob, putJob } from '../shared/ops/jobs.js';
import { SqsDispatcher } from '../shared/queue/dispatcher.js';
import type { Log } from '../shared/runs/lifecycle.js';
import { RecordingSignals } from '../shared/signals.js';
import { Store } from '../shared/store/store.js';
import { DEFAULT_TICK_CONFIG } from '../shared/tick/tick.js';
import { errorMessage, mapLimit } from '../shared/util.js';
import { ENV, type PoolQueues, poolRouting } from './commons/config.js';
import { asLog, createLogger } from './commons/powertools.js';

/** The custom resource's properties, as cdk/scheduler.ts sets them (CloudFormation passes strings). */
export interface JobsResourceProperties {
  TableName: string;
  Shards: string;
  Pools: string[];
  /** JSON array of the normalized job definitions. */
  Jobs: string;
  /** JSON array of the declared calendars (absent: none). */
  Calendars?: string;
}

export interface DeployJobsResult {
  PhysicalResourceId: string;
  Data: { Created: number; Updated: number; Unchanged: number; Deleted: number; LeftDeleted: number };
}

export interface DeployJobsDeps {
  dynamo: DynamoDBClient;
  retentionDays?: number;
  clock: () => number;
  log: Log;
  /** How to claim a written job's first slots at once, given the table's store; none: leave it to the tick. */
  claim?: (store: Store) => ClaimDeps;
}

type Event = CloudFormationCustomResourceEvent<JobsResourceProperties>;

/** Physical id of the declared job set of one table. */
export function physicalIdFor(tableName: string): string {
  return `punctual-jobs:${tableName}`;
}

function readProperties(properties: Partial<JobsResourceProperties> | undefined) {
  if (!properties?.TableName) throw new PunctualError('custom resource property TableName is missing');
  const jobs = JSON.parse(properties.Jobs ?? '[]') as unknown;
  if (!Array.isArray(jobs))
    throw new PunctualError('custom resource property Jobs must be a JSON array of jobs');
  const calendars = JSON.parse(properties.Calendars ?? '[]') as unknown;
  if (!Array.isArray(calendars))
    throw new PunctualError('custom resource property Calendars must be a JSON array of calendars');
  const shards = Number(properties.Shards ?? 4);
  return {
    tableName: properties.TableName,
    shards,
    pools: properties.Pools ?? [],
    jobs,
    calendars: calendars as CalendarDefinition[],
  };
}

function idOf(job: unknown): string | undefined {
  const id = (job as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : undefined;
}

function isTableGone(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ResourceNotFoundException';
}

/** The handler over explicit dependencies (the tests run it against DynamoDB Local). */
export function createDeployJobsHandler(deps: DeployJobsDeps) {
  const storeFor = (tableName: string, shards: number) =>
    new Store(deps.dynamo, {
      tableName,
      shards,
      ...(deps.retentionDays ? { retentionDays: deps.retentionDays } : {}),
    });

  /** Whether the stored item already holds `definition`, valid, in the right shard: nothing to write. */
  async function unchanged(store: Store, definition: JobDefinition): Promise<boolean> {
    const raw = await store.getJobFull(definition.id);
    if (!raw || raw.invalid || !isDeepStrictEqual(raw.definition, definition)) return false;
    return raw.dueShard === undefined || raw.dueShard === store.shardOf(definition.id);
  }

  /**
   * A job that ends itself (afterLastRun: delete), declared before exactly as now, and absent: its
   * completion deleted it (or an operator did); writing it again would run it again.
   */
  async function deletedSince(store: Store, definition: JobDefinition, before: unknown[]): Promise<boolean> {
    if (definition.afterLastRun !== 'delete') return false;
    const previous = before.find((job) => idOf(job) === definition.id);
    if (previous === undefined || !isDeepStrictEqual(parseJob(previous), definition)) return false;
    return (await store.getJobRaw(definition.id)) === undefined;
  }

  async function putAll(store: Store, jobs: unknown[], pools: string[], now: number, before: unknown[]) {
    const counts = { Created: 0, Updated: 0, Unchanged: 0, LeftDeleted: 0 };
    const failures: string[] = [];
    await mapLimit(jobs, 8, async (input) => {
      try {
        const definition = parseJob(input);
        if (await unchanged(store, definition)) {
          counts.Unchanged += 1;
          return;
        }
        if (await deletedSince(store, definition, before)) {
          counts.LeftDeleted += 1;
          deps.log.info('declared job left deleted: it ended and was deleted (afterLastRun: delete)', {
            jobId: definition.id,
          });
          return;
        }
        const result = await putJob(store, definition, now, {
          pools,
          ...(deps.claim ? { claim: deps.claim(store) } : {}),
        });
        counts[result.created ? 'Created' : 'Updated'] += 1;
        deps.log.info('declared job written', {
          jobId: definition.id,
          created: result.created,
          changes: result.changes,
          slotsSent: result.claimed?.dispatched ?? 0,
          ...(result.warnings.length ? { warnings: result.warnings } : {}),
        });
      } catch (error) {
        failures.push(`${idOf(input) ?? '(no id)'}: ${errorMessage(error)}`);
      }
    });
    if (failures.length > 0) {
      throw new PunctualError(
        `declared jobs not written (${failures.length}):\n  - ${failures.join('\n  - ')}`,
      );
    }
    return counts;
  }

  async function deleteAll(store: Store, ids: string[]): Promise<number> {
    let deleted = 0;
    const failures: string[] = [];
    await mapLimit(ids, 8, async (id) => {
      try {
        await deleteJob(store, id, deps.clock());
        deleted += 1;
        deps.log.info('declared job deleted', { jobId: id });
      } catch (error) {
        // Already gone (deleted from the CLI, or with its table): the goal is reached.
        if (error instanceof JobNotFoundError || isTableGone(error)) return;
        failures.push(`${id}: ${errorMessage(error)}`);
      }
    });
    if (failures.length > 0)
      throw new PunctualError(
        `declared jobs not deleted (${failures.length}):\n  - ${failures.join('\n  - ')}`,
      );
    return deleted;
  }

  async function deleteCalendars(store: Store, names: string[]): Promise<void> {
    for (const name of names) {
      try {
        await store.deleteCalendar(name);
      } catch (error) {
        if (!isTableGone(error)) throw error;
      }
    }
  }

  /**
   * Refuses an Update that stops declaring a calendar some job will still exclude after it: a job the
   * deploy neither deletes nor rewrites without it (one put from the CLI or the client). Checked before
   * anything is written; one Scan of the table (store.jobsExcluding), only when a calendar is dropped.
   */
  async function refuseDroppedInUse(
    store: Store,
    current: ReturnType<typeof readProperties>,
    previous: ReturnType<typeof readProperties>,
  ): Promise<void> {
    const declaredNow = new Set(current.calendars.map((calendar) => calendar.name));
    let dropped = previous.calendars
      .map((calendar) => calendar.name)
      .filter((name) => !declaredNow.has(name));
    if (!dropped.length) return;
    // One already gone (deleted with --force before the deploy: the override) is no longer the deploy's to refuse.
    const stored = new Set((await store.listCalendars()).map((calendar) => calendar.name));
    dropped = dropped.filter((name) => stored.has(name));
    if (!dropped.length) return;
    const jobsNow = new Map(current.jobs.map((job) => [idOf(job), job as { exclude?: unknown }]));
    const jobsBefore = new Set(previous.jobs.map(idOf));
    const users = await store.jobsExcluding(dropped);
    for (const name of dropped) {
      const left = (users.get(name) ?? []).filter((id) => {
        const declared = jobsNow.get(id);
        if (declared) return Array.isArray(declared.exclude) && declared.exclude.includes(name);
        return !jobsBefore.has(id); // declared before and not now: this deploy deletes it
      });
      if (left.length)
        throw new PunctualError(
          `the deploy stops declaring calendar "${name}", but ${left.length} job(s) the deploy leaves in place still exclude it ` +
            `(${left.slice(0, 10).join(', ')}${left.length > 10 ? `, and ${left.length - 10} more` : ''}): ` +
            `edit them to drop it, keep declaring it, or delete it first with \`punctual calendars delete ${name} --force\``,
        );
    }
  }

  return async (event: Event): Promise<DeployJobsResult> => {
    const now = deps.clock();
    const current = readProperties(event.ResourceProperties);
    const store = storeFor(current.tableName, current.shards);
    const PhysicalResourceId = physicalIdFor(current.tableName);
    deps.log.info('declared jobs', {
      requestType: event.RequestType,
      table: current.tableName,
      jobs: current.jobs.length,
    });

    if (event.RequestType === 'Delete') {
      const ids = current.jobs.map(idOf).filter((id): id is string => id !== undefined);
      const Deleted = await deleteAll(store, ids);
      await deleteCalendars(
        store,
        current.calendars.map((calendar) => calendar.name),
      );
      return {
        PhysicalResourceId: event.PhysicalResourceId,
        Data: { Created: 0, Updated: 0, Unchanged: 0, Deleted, LeftDeleted: 0 },
      };
    }

    const previous = event.RequestType === 'Update' ? readProperties(event.OldResourceProperties) : undefined;
    // Same table: compare with what was declared before. Another table: CloudFormation deletes the old set
    // through a Delete event, since the physical id changed.
    const sameTable = previous?.tableName === current.tableName;
    if (previous && sameTable) await refuseDroppedInUse(store, current, previous);
    for (const { name, ...calendar } of current.calendars) await putCalendar(store, name, calendar, now);
    const counts = await putAll(store, current.jobs, current.pools, now, sameTable ? previous.jobs : []);
    let Deleted = 0;
    if (previous && sameTable) {
      const declared = new Set(current.jobs.map(idOf));
      const removed = previous.jobs
        .map(idOf)
        .filter((id): id is string => id !== undefined && !declared.has(id));
      Deleted = await deleteAll(store, removed);
      const names = new Set(current.calendars.map((calendar) => calendar.name));
      await deleteCalendars(
        store,
        previous.calendars.map((calendar) => calendar.name).filter((name) => !names.has(name)),
      );
    }
    return { PhysicalResourceId, Data: { ...counts, Deleted } };
  };
}

const logger = createLogger('punctual-deploy-jobs');

/** The claim of a deployed job's first slots: the pool queues and the lookahead the construct passes. */
function claimFromEnv(env: NodeJS.ProcessEnv): (store: Store) => ClaimDeps {
  const pools = poolRouting(JSON.parse(env[ENV.pools] ?? '{}') as Record<string, PoolQueues>);
  const dispatcher = new SqsDispatcher(new SQSClient({}));
  const config = {
    ...DEFAULT_TICK_CONFIG,
    ...(env[ENV.lookahead] ? { lookaheadMs: Number(env[ENV.lookahead]) } : {}),
  };
  const log = asLog(logger);
  return (store) => ({
    // Missed/skipped records of a claim at deploy time would be logged by the tick's metrics; a fresh
    // job has none, so this claim publishes no events.
    deps: { store, dispatcher, signals: new RecordingSignals(), pools, log, clock: Date.now },
    config,
  });
}
let lambdaHandler: ReturnType<typeof createDeployJobsHandler> | undefined;

export const handler = async (event: Event): Promise<DeployJobsResult> => {
  lambdaHandler ??= createDeployJobsHandler({
    dynamo: new DynamoDBClient({}),
    ...(process.env[ENV.retentionDays] ? { retentionDays: Number(process.env[ENV.retentionDays]) } : {}),
    clock: Date.now,
    log: asLog(logger),
    ...(process.env[ENV.pools] ? { claim: claimFromEnv(process.env) } : {}),
  });
  try {
    return await lambdaHandler(event);
  } catch (error) {
    // The Provider framework reports the message to CloudFormation as the failure reason.
    logger.error('declared jobs not deployed', { error: errorMessage(error) });
    throw error;
  }
};
