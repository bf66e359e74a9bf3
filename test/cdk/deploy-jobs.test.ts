/**
 * The declared-jobs custom resource handler (functions/deploy-jobs.ts) against DynamoDB Local: the
 * CloudFormation lifecycle of a stack's jobs, through the same putJob/deleteJob the CLI uses.
 */
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { describe, expect, inject, it } from 'vitest';
import {
  createDeployJobsHandler,
  type JobsResourceProperties,
  physicalIdFor,
} from '../../functions/deploy-jobs.js';
import { localDynamoClient, localSqsClient } from '../../local/emulators.js';
import { parseJob } from '../../shared/jobs/index.js';
import { deleteCalendar } from '../../shared/ops/calendars.js';
import { pauseJob, putJob } from '../../shared/ops/jobs.js';
import { SqsDispatcher } from '../../shared/queue/dispatcher.js';
import { silentLog } from '../../shared/runs/lifecycle.js';
import { RecordingSignals } from '../../shared/signals.js';
import type { JobItem } from '../../shared/store/model.js';
import { Store } from '../../shared/store/store.js';
import { ensureTable } from '../../shared/store/table.js';
import { DEFAULT_TICK_CONFIG } from '../../shared/tick/tick.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const dynamo = localDynamoClient(inject('endpoints').dynamo);
const POOLS = ['default', 'batch'];

const job = (id: string, extra: Record<string, unknown> = {}) =>
  parseJob({ id, schedule: 'rate(5 minutes)', target: { type: 'handler', name: 'noop' }, ...extra });

function properties(tableName: string, jobs: unknown[], shards = 4): JobsResourceProperties {
  return { TableName: tableName, Shards: String(shards), Pools: POOLS, Jobs: JSON.stringify(jobs) };
}

const common = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  ResponseURL: 'https://example.com/response',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Punctual/1',
  RequestId: 'request',
  LogicalResourceId: 'SchedulerJobs',
  ResourceType: 'Custom::PunctualJobs',
};

function create(props: JobsResourceProperties): CloudFormationCustomResourceEvent<JobsResourceProperties> {
  return {
    ...common,
    RequestType: 'Create',
    ResourceProperties: { ...props, ServiceToken: common.ServiceToken },
  };
}
function update(
  props: JobsResourceProperties,
  old: JobsResourceProperties,
): CloudFormationCustomResourceEvent<JobsResourceProperties> {
  return {
    ...common,
    RequestType: 'Update',
    PhysicalResourceId: physicalIdFor(old.TableName),
    ResourceProperties: { ...props, ServiceToken: common.ServiceToken },
    OldResourceProperties: old,
  };
}
function remove(props: JobsResourceProperties): CloudFormationCustomResourceEvent<JobsResourceProperties> {
  return {
    ...common,
    RequestType: 'Delete',
    PhysicalResourceId: physicalIdFor(props.TableName),
    ResourceProperties: { ...props, ServiceToken: common.ServiceToken },
  };
}

async function newTable(): Promise<{ tableName: string; store: Store }> {
  const tableName = `deploy-jobs-${randomUUID().slice(0, 8)}`;
  await ensureTable(dynamo, tableName);
  return { tableName, store: new Store(dynamo, { tableName, shards: 4 }) };
}

async function stored(store: Store, id: string): Promise<JobItem | undefined> {
  return (await store.getJobRaw(id)) as JobItem | undefined;
}

let clock = T0;
const handler = createDeployJobsHandler({ dynamo, clock: () => clock, log: silentLog });

describe('deploy-jobs custom resource', () => {
  it('sends a created job’s first slots at once, with the tick’s claim protocol', async () => {
    const sqs = localSqsClient(inject('endpoints').sqs);
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: `deploy-jobs-${randomUUID().slice(0, 8)}` }),
    );
    const { tableName, store } = await newTable();
    const claiming = createDeployJobsHandler({
      dynamo,
      clock: () => T0,
      log: silentLog,
      claim: (tableStore) => ({
        deps: {
          store: tableStore,
          dispatcher: new SqsDispatcher(sqs),
          signals: new RecordingSignals(),
          pools: { queueUrl: () => QueueUrl, dlqUrl: () => undefined },
          log: silentLog,
          clock: () => T0,
        },
        config: { ...DEFAULT_TICK_CONFIG, lookaheadMs: 10_000 },
      }),
    });
    await claiming(create(properties(tableName, [job('soon', { schedule: 'rate(5 seconds)' })])));

    const { items } = await store.queryRuns('soon', { limit: 10, newestFirst: false });
    expect(items.map((run) => [run.scheduledAt, run.status])).toEqual([
      [new Date(T0).toISOString(), 'dispatched'],
      [new Date(T0 + 5_000).toISOString(), 'dispatched'],
      [new Date(T0 + 10_000).toISOString(), 'dispatched'],
    ]);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }),
    );
    const queued =
      Number(Attributes?.ApproximateNumberOfMessages) +
      Number(Attributes?.ApproximateNumberOfMessagesDelayed);
    expect(queued).toBe(3);
    expect((await stored(store, 'soon'))?.nextRunAt).toBe(new Date(T0 + 15_000).toISOString());
    sqs.destroy();
  });

  it('creates the declared jobs on Create, scheduled from the deploy time', async () => {
    const { tableName, store } = await newTable();
    const result = await handler(create(properties(tableName, [job('a'), job('b', { pool: 'batch' })])));
    expect(result).toEqual({
      PhysicalResourceId: physicalIdFor(tableName),
      Data: { Created: 2, Updated: 0, Unchanged: 0, Deleted: 0, LeftDeleted: 0 },
    });
    const a = await stored(store, 'a');
    expect(a).toMatchObject({
      jobId: 'a',
      version: 1,
      enabled: true,
      anchor: new Date(T0).toISOString(),
      dueShard: store.shardOf('a'),
    });
    expect((await stored(store, 'b'))?.definition.pool).toBe('batch');
  });

  it('on Update writes changed jobs, leaves unchanged ones alone and deletes the ones no longer declared', async () => {
    const { tableName, store } = await newTable();
    const before = properties(tableName, [job('keep'), job('change'), job('drop')]);
    await handler(create(before));
    await pauseJob(store, 'keep', T0 + 1_000, 'paused by hand');
    const keptVersion = (await stored(store, 'keep'))!.version;

    clock = T0 + 60_000;
    const after = properties(tableName, [
      job('keep'),
      job('change', { schedule: 'rate(10 minutes)' }),
      job('new'),
    ]);
    const result = await handler(update(after, before));

    expect(result.Data).toEqual({ Created: 1, Updated: 1, Unchanged: 1, Deleted: 1, LeftDeleted: 0 });
    expect(await stored(store, 'drop')).toBeUndefined();
    expect((await stored(store, 'change'))?.definition.schedule).toBe('rate(10 minutes)');
    // Unchanged: not rewritten, so the pause made from the CLI and the version stay.
    expect(await stored(store, 'keep')).toMatchObject({
      version: keptVersion,
      enabled: false,
      note: 'paused by hand',
    });
    expect(await stored(store, 'new')).toMatchObject({ version: 1 });
    clock = T0;
  });

  it('re-puts every declared job when the shard count changes', async () => {
    const { tableName } = await newTable();
    const before = properties(tableName, [job('x'), job('y')], 4);
    await handler(create(before));
    const result = await handler(update(properties(tableName, [job('x'), job('y')], 7), before));
    expect(result.Data).toMatchObject({ Updated: 2, Unchanged: 0 });
    const seven = new Store(dynamo, { tableName, shards: 7 });
    expect((await stored(seven, 'x'))?.dueShard).toBe(seven.shardOf('x'));
  });

  it('refuses a job for a pool the stack does not have, naming the job', async () => {
    const { tableName } = await newTable();
    await expect(handler(create(properties(tableName, [job('lost', { pool: 'gpu' })])))).rejects.toThrow(
      /declared jobs not written \(1\):\n {2}- lost: invalid job "lost":\n {2}- pool "gpu": no such pool/,
    );
  });

  it('deletes the declared jobs on Delete, and tolerates jobs or a table that are gone already', async () => {
    const { tableName, store } = await newTable();
    const props = properties(tableName, [job('p'), job('q')]);
    await handler(create(props));
    await store.deleteJob('q', Date.now());
    const result = await handler(remove(props));
    expect(result).toEqual({
      PhysicalResourceId: physicalIdFor(tableName),
      Data: { Created: 0, Updated: 0, Unchanged: 0, Deleted: 1, LeftDeleted: 0 },
    });
    expect(await stored(store, 'p')).toBeUndefined();
    await expect(handler(remove(properties('no-such-table', [job('p')])))).resolves.toMatchObject({
      Data: { Deleted: 0, LeftDeleted: 0 },
    });
  });

  it('moves to a new table: fills it and leaves the old set to the Delete CloudFormation sends', async () => {
    const first = await newTable();
    const second = await newTable();
    const before = properties(first.tableName, [job('m')]);
    await handler(create(before));
    const result = await handler(update(properties(second.tableName, [job('m')]), before));
    expect(result.PhysicalResourceId).toBe(physicalIdFor(second.tableName));
    expect(await stored(second.store, 'm')).toBeDefined();
    expect(await stored(first.store, 'm')).toBeDefined();
  });
});

describe('deploy-jobs: calendars and jobs that end themselves', () => {
  const calendars = (...names: string[]) =>
    JSON.stringify(names.map((name) => ({ name, timezone: 'Europe/London', dates: ['2026-12-25'] })));

  it('writes the declared calendars before the jobs that exclude them; drops one no longer declared', async () => {
    const { tableName, store } = await newTable();
    const before = {
      ...properties(tableName, [job('payroll', { exclude: ['uk-holidays'] })]),
      Calendars: calendars('uk-holidays', 'old-freeze'),
    };

    await handler(create(before));
    const after = { ...before, Calendars: calendars('uk-holidays') };
    await handler(update(after, before));

    expect((await store.listCalendars()).map((c) => c.name)).toEqual(['uk-holidays']);
    expect((await stored(store, 'payroll'))?.definition.exclude).toEqual(['uk-holidays']);
    await handler(remove(after));
    expect(await store.listCalendars()).toEqual([]);
  });

  it('refuses, before writing anything, a deploy that drops a calendar a job it leaves in place still excludes', async () => {
    // prepare: the stack declares "freeze" and a job excluding it; a CLI-put job excludes it too
    const { tableName, store } = await newTable();
    const before = {
      ...properties(tableName, [job('declared', { exclude: ['freeze'] })]),
      Calendars: calendars('freeze'),
    };
    await handler(create(before));
    await putJob(store, job('from-cli', { exclude: ['freeze'] }), T0, { pools: POOLS });

    // act: a deploy that drops the calendar, deletes the declared job that excluded it and adds another
    const after = { ...properties(tableName, [job('added')]), Calendars: '[]' };
    const refused = await handler(update(after, before)).catch((error: unknown) => error);
    const untouched = {
      calendars: (await store.listCalendars()).map((c) => c.name),
      declared: await stored(store, 'declared'),
      added: await stored(store, 'added'),
    };
    // the override: delete it from the CLI first (--force), then deploy
    await deleteCalendar(store, 'freeze', { force: true });
    const result = await handler(update(after, before));

    // assert
    expect((refused as Error).message).toBe(
      'the deploy stops declaring calendar "freeze", but 1 job(s) the deploy leaves in place still exclude it ' +
        '(from-cli): edit them to drop it, keep declaring it, or delete it first with ' +
        '`punctual calendars delete freeze --force`',
    );
    expect(untouched).toEqual({ calendars: ['freeze'], declared: expect.anything(), added: undefined });
    expect(result.Data).toMatchObject({ Created: 1, Deleted: 1 });
    expect(await store.listCalendars()).toEqual([]);
  });

  it('drops a calendar only the jobs it deletes excluded', async () => {
    const { tableName, store } = await newTable();
    const before = {
      ...properties(tableName, [job('declared', { exclude: ['freeze'] })]),
      Calendars: calendars('freeze'),
    };
    await handler(create(before));

    const result = await handler(update({ ...properties(tableName, []), Calendars: '[]' }, before));

    expect(result.Data).toMatchObject({ Deleted: 1 });
    expect(await store.listCalendars()).toEqual([]);
  });

  it('leaves deleted a declared afterLastRun: delete job its completion deleted; a changed one comes back', async () => {
    // prepare: a one-shot that ended and deleted itself (deleteJob stands in for its completion)
    const { tableName, store } = await newTable();
    const oneShot = job('launch', { schedule: 'at(2026-03-01T10:01:00)', afterLastRun: 'delete' });
    const before = properties(tableName, [oneShot, job('other')]);
    await handler(create(before));
    await store.deleteJob('launch', T0 + 120_000);

    // act: a deploy that changes another job; then one that changes the one-shot
    const after = properties(tableName, [oneShot, job('other', { schedule: 'rate(10 minutes)' })]);
    const result = await handler(update(after, before));
    const changed = properties(tableName, [
      { ...oneShot, schedule: 'at(2026-03-02T10:01:00)' },
      job('other', { schedule: 'rate(10 minutes)' }),
    ]);
    const again = await handler(update(changed, after));

    // assert
    expect(result.Data).toEqual({ Created: 0, Updated: 1, Unchanged: 0, Deleted: 0, LeftDeleted: 1 });
    expect(again.Data).toMatchObject({ Created: 1, LeftDeleted: 0 });
    expect((await stored(store, 'launch'))?.definition.schedule).toBe('at(2026-03-02T10:01:00)');
  });
});
