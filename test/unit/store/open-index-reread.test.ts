/**
 * With `indexProjection: 'all'` the open index hands the sweep whole items, but as the index's copy,
 * eventually consistent with the table (issue 17, "Deploys and consistency" (c)). The sweep must act on
 * the run as the table holds it: the store reads each one again, consistently. DynamoDB Local updates
 * its indexes at once, so the stale copy is made with aws-sdk-client-mock.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../../shared/store/store.js';

const client = new DynamoDBClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
// The store talks through a document client made from `client`: mock that class.
const dynamo = mockClient(DynamoDBDocumentClient);
afterEach(() => dynamo.reset());

const key = { pk: 'JOB#nightly', sk: 'RUN#2026-12-01T00:00:00.000Z' };
const T = '2026-12-01T00:05:00.000Z';

describe('the sweep’s work list from an index that projects every attribute', () => {
  it('reads each run again, consistently, and returns the table’s version, not the index copy', async () => {
    // The index still shows the run running; the table has it ended (and out of the open set).
    const stale = {
      ...key,
      type: 'run',
      runId: 'nightly@2026-12-01T00:00:00.000Z',
      status: 'running',
      openShard: 'open#0',
      openUntil: T,
    };
    const current = { ...key, type: 'run', runId: stale.runId, status: 'succeeded' };
    dynamo.on(QueryCommand).resolves({ Items: [stale] });
    dynamo.on(BatchGetCommand).resolves({ Responses: { 'open-all': [current] } });
    const store = new Store(client, { tableName: 'open-all' });

    const page = await store.queryOpenDue(0, Date.parse(T), 25);

    expect(page.items).toEqual([current]);
    const [read] = dynamo.commandCalls(BatchGetCommand);
    expect(read?.args[0].input.RequestItems?.['open-all']).toEqual({ Keys: [key], ConsistentRead: true });
  });

  it('a run the table no longer holds (expired, deleted) is left out', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [{ ...key, type: 'run', status: 'running' }] });
    dynamo.on(BatchGetCommand).resolves({ Responses: { 'open-gone': [] } });
    const store = new Store(client, { tableName: 'open-gone' });

    expect((await store.queryOpenDue(0, Date.parse(T), 25)).items).toEqual([]);
  });
});
