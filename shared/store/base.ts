/**
 * What every record module of the store shares: the document client, the table, the shard count, and the
 * conditional write. Every state change is a conditional write: the conditions, not a lock, are what make
 * overlapping ticks and duplicate deliveries harmless.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  type PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { DEFAULT_RETENTION_DAYS, DEFAULT_SHARDS, definitionKey, jobKey, shardOf } from './model.js';

export interface StoreConfig {
  tableName: string;
  /** Shards of the due and open indexes. Changing it needs every job re-put (the shard is stored). */
  shards?: number;
  retentionDays?: number;
}

export type RawItem = Record<string, unknown>;

export interface Page<T> {
  items: T[];
  next?: Record<string, unknown>;
}

export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error)?.name === 'ConditionalCheckFailedException'
  );
}

const KEYWORDS = new Set([
  'SET',
  'REMOVE',
  'ADD',
  'DELETE',
  'AND',
  'OR',
  'NOT',
  'IN',
  'BETWEEN',
  'if_not_exists',
  'list_append',
  'attribute_exists',
  'attribute_not_exists',
  'attribute_type',
  'size',
  'begins_with',
  'contains',
]);

/**
 * Rewrites every bare attribute name of an expression as `#name`, so no attribute can collide with one of
 * DynamoDB's 573 reserved words (`cursor`, `status`, `name`, … are among them).
 */
export function aliasNames(expression: string, names: Record<string, string>): string {
  return expression.replace(/(?<![#:\w])([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()/g, (match, word: string) => {
    if (KEYWORDS.has(word)) return match;
    names[`#${word}`] = word;
    return `#${word}`;
  });
}

type Expressions = {
  UpdateExpression?: string;
  ConditionExpression?: string;
  KeyConditionExpression?: string;
  FilterExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
};

/** Applies {@link aliasNames} to every expression of a command input and drops unused names and values. */
export function aliased<T extends Expressions>(input: T): T {
  const names: Record<string, string> = { ...input.ExpressionAttributeNames };
  const out = { ...input };
  for (const key of [
    'UpdateExpression',
    'ConditionExpression',
    'KeyConditionExpression',
    'FilterExpression',
  ] as const) {
    if (out[key]) out[key] = aliasNames(out[key], names);
  }
  // DynamoDB refuses a name the expressions do not use, so keep only those that appear.
  const text = [
    out.UpdateExpression,
    out.ConditionExpression,
    out.KeyConditionExpression,
    out.FilterExpression,
  ].join(' ');
  const used = Object.fromEntries(
    Object.entries(names).filter(([alias]) => new RegExp(`${alias}(?![\\w])`).test(text)),
  );
  out.ExpressionAttributeNames = Object.keys(used).length ? used : undefined;
  if (out.ExpressionAttributeValues) {
    const values = Object.entries(out.ExpressionAttributeValues).filter(([key]) =>
      new RegExp(`${key}(?![\\w])`).test(text),
    );
    out.ExpressionAttributeValues = values.length ? Object.fromEntries(values) : undefined;
  }
  return out;
}

export class StoreBase {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly shards: number;
  readonly retentionDays: number;

  constructor(client: DynamoDBClient, config: StoreConfig) {
    this.doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
    });
    this.tableName = config.tableName;
    this.shards = config.shards ?? DEFAULT_SHARDS;
    this.retentionDays = config.retentionDays ?? DEFAULT_RETENTION_DAYS;
  }

  /** Sends a conditional write: true when it was applied, false when its condition failed. */
  protected async conditional(command: UpdateCommand | PutCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.doc.send(command as UpdateCommand);
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * The items an index query named, in the query's order: the indexes project keys only (an item that
   * already carries more, from a table whose indexes project ALL, is taken as it is only for an
   * eventually consistent use; a consistent one reads the table again). BatchGetItem, 100
   * keys a call; keys it leaves unprocessed (throttling) are asked again. An item deleted in between is
   * left out. `consistent` false halves the read cost: every use is followed by a conditional write.
   */
  protected async itemsOf(keys: RawItem[], consistent: boolean): Promise<RawItem[]> {
    if (!keys.length) return [];
    // An index that projects every attribute (`indexProjection: 'all'`) hands over whole items, but as
    // its copy, eventually consistent with the table: kept only where every use is a conditional write
    // on what was read (the tick's claim). A consistent read (the sweep's) reads the table itself, so the
    // sweep acts only on what it re-read.
    if (!consistent && keys.every((key) => key.type !== undefined)) return keys;
    const found = new Map<string, RawItem>();
    for (let i = 0; i < keys.length; i += 100) {
      let request: Record<string, unknown>[] = keys
        .slice(i, i + 100)
        .map((key) => ({ pk: key.pk, sk: key.sk }));
      for (let attempt = 0; request.length && attempt < 8; attempt++) {
        if (attempt) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
        const result = await this.doc.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: request, ConsistentRead: consistent } },
          }),
        );
        for (const item of result.Responses?.[this.tableName] ?? [])
          found.set(`${item.pk}\u0000${item.sk}`, item);
        request = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
      if (request.length)
        throw new Error(`BatchGetItem left ${request.length} keys unprocessed after 8 tries`);
    }
    return keys.flatMap((key): RawItem[] => {
      const item = found.get(`${key.pk}\u0000${key.sk}`);
      return item ? [item] : [];
    });
  }

  /**
   * Drops run ids from a job's `running` set (a run that ended without its job being told). Here, as the
   * job and run modules both need it.
   */
  async forgetRunning(jobId: string, runIds: string[]): Promise<void> {
    if (!runIds.length) return;
    try {
      await this.doc.send(
        new UpdateCommand(
          aliased({
            TableName: this.tableName,
            Key: jobKey(jobId),
            UpdateExpression: 'DELETE running :runs',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':runs': new Set(runIds) },
          }),
        ),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  shardOf(jobId: string): number {
    return shardOf(jobId, this.shards);
  }

  expiresAt(now: number): number {
    return Math.floor(now / 1000) + this.retentionDays * 86_400;
  }

  /**
   * The TTL a definition item gets once no job item references it: the run records that reference it
   * were created before that instant, so each expires (created + retention) before the item does; a day
   * more covers a claim racing the edit. A put of the same definition again writes the item afresh,
   * without the TTL.
   */
  definitionExpiresAt(now: number): number {
    return this.expiresAt(now) + 86_400;
  }

  /**
   * Writes `jobWrite` (an Update or Delete of the job item, conditional) and, in the same transaction
   * when `droppedDefinitionId` is set, gives that definition item its TTL: it is referenced no more by
   * the job, only by run records that expire before it. False when the job's condition failed. Shared by
   * an edit, `jobs delete` and `afterLastRun: delete` (FinishedJobs).
   */
  protected async leavingDefinition(
    jobId: string,
    jobWrite: { Update: Record<string, unknown> } | { Delete: Record<string, unknown> },
    droppedDefinitionId: string | undefined,
    now: number,
  ): Promise<boolean> {
    const alone = () =>
      this.conditional(
        'Update' in jobWrite
          ? new UpdateCommand(jobWrite.Update as never)
          : new DeleteCommand(jobWrite.Delete as never),
      );
    if (droppedDefinitionId === undefined) return alone();
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            jobWrite as never,
            {
              Update: {
                TableName: this.tableName,
                Key: definitionKey(jobId, droppedDefinitionId),
                UpdateExpression: 'SET expiresAt = :expires',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeValues: { ':expires': this.definitionExpiresAt(now) },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (
        !(error instanceof TransactionCanceledException) &&
        (error as Error)?.name !== 'TransactionCanceledException'
      )
        throw error;
      const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return false;
      // The definition item is not there (removed by hand, or a table of an older version): the job's
      // write alone.
      if (reasons[1]?.Code === 'ConditionalCheckFailed') return alone();
      throw error;
    }
  }
}
