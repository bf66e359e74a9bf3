/**
 * The table's shape, shared by the local runtime (CreateTable) and the CDK construct, so both build the
 * same table.
 */
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DUE_INDEX, OPEN_INDEX } from './model.js';

export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  /**
   * KEYS_ONLY: an index holds keys, and a write costs the index something only when it changes the
   * index's key (a job's next slot, a run's `openUntil`), not every time the job or the run changes; the
   * tick reads the items themselves with BatchGetItem. (Tables created before this projected ALL; the
   * code reads either.)
   */
  projection: 'KEYS_ONLY',
  indexes: [
    { name: DUE_INDEX, partitionKey: { name: 'dueShard', type: 'N' }, sortKey: { name: 'dueAt', type: 'S' } },
    {
      name: OPEN_INDEX,
      partitionKey: { name: 'openShard', type: 'S' },
      sortKey: { name: 'openUntil', type: 'S' },
    },
  ],
} as const;

export function createTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      ...TABLE_KEYS.indexes.flatMap((index) => [
        { AttributeName: index.partitionKey.name, AttributeType: index.partitionKey.type },
        { AttributeName: index.sortKey.name, AttributeType: index.sortKey.type },
      ]),
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: TABLE_KEYS.indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: TABLE_KEYS.projection },
    })),
  };
}

/** Creates the table if it does not exist (idempotent) and waits until it is ACTIVE. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE_KEYS.ttlAttribute, Enabled: true },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let i = 0; i < 100; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
