/**
 * The definition item is read consistently (issue 17, "Deploys and consistency" (b)): it is written just
 * before the job item that names it, and an eventually consistent GetItem right after a create may miss
 * it. DynamoDB Local is always consistent, so the miss is made with aws-sdk-client-mock.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { definitionKey } from '../../../shared/store/model.js';
import { Store } from '../../../shared/store/store.js';

const client = new DynamoDBClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
// The store talks through a document client made from `client`: mock that class.
const dynamo = mockClient(DynamoDBDocumentClient);
afterEach(() => dynamo.reset());

const definition = { id: 'fresh', payload: { n: 1 } };

describe('definition item read', () => {
  it('asks for a strongly consistent read of the definition item', async () => {
    dynamo.on(GetCommand).resolves({
      Item: { ...definitionKey('fresh', 'd1'), type: 'definition', definition },
    });
    const store = new Store(client, { tableName: 't-consistent' });

    expect(await store.getDefinition('fresh', 'd1')).toEqual(definition);

    const [call] = dynamo.commandCalls(GetCommand);
    expect(call?.args[0].input).toMatchObject({
      TableName: 't-consistent',
      Key: definitionKey('fresh', 'd1'),
      ConsistentRead: true,
    });
  });

  it('a miss is not cached: the next read (the message delivered again) finds the item', async () => {
    dynamo
      .on(GetCommand)
      .resolvesOnce({})
      .resolves({ Item: { ...definitionKey('fresh', 'd2'), type: 'definition', definition } });
    const store = new Store(client, { tableName: 't-miss' });

    expect(await store.getDefinition('fresh', 'd2')).toBeUndefined();
    expect(await store.getDefinition('fresh', 'd2')).toEqual(definition);
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(2);
  });
});
