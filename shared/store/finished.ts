/**
 * What `afterLastRun: delete` needs of the table: whether a job still has a run without a final fate, and
 * a delete that only removes a job whose schedule has ended (shared/runs/finish.ts decides when).
 */
import { DeleteCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { aliased, StoreBase } from './base.js';
import { isTerminal, jobKey, OPEN_INDEX, type RunItem } from './model.js';

export class FinishedJobs extends StoreBase {
  /**
   * Whether any run of `jobId` has no final fate yet. A run not final is in the open index (keys only,
   * eventually consistent), so each one found there is read again, consistently, to see its status.
   * Costs one query of the job's open-index shard (its open runs' keys, filtered to this job).
   */
  async hasOpenRun(jobId: string): Promise<boolean> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand(
          aliased({
            TableName: this.tableName,
            IndexName: OPEN_INDEX,
            KeyConditionExpression: 'openShard = :shard',
            FilterExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':shard': `open#${this.shardOf(jobId)}`, ':pk': `JOB#${jobId}` },
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const key of page.Items ?? []) {
        const { Item } = await this.doc.send(
          new GetCommand({
            TableName: this.tableName,
            Key: { pk: key.pk, sk: key.sk },
            ConsistentRead: true,
          }),
        );
        const run = Item as RunItem | undefined;
        if (run && !isTerminal(run.status)) return true;
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return false;
  }

  /**
   * Deletes a job whose schedule has ended, conditional on the version read: a put, a resume or a tick
   * advance since then keeps it. True when it was deleted.
   */
  async deleteFinishedJob(jobId: string, version: number): Promise<boolean> {
    return this.conditional(
      new DeleteCommand(
        aliased({
          TableName: this.tableName,
          Key: jobKey(jobId),
          ConditionExpression:
            'version = :version AND attribute_not_exists(nextRunAt) AND attribute_not_exists(deferred) AND ' +
            '(attribute_not_exists(#running) OR size(#running) = :zero) AND attribute_not_exists(held)',
          ExpressionAttributeNames: { '#running': 'running' },
          ExpressionAttributeValues: { ':version': version, ':zero': 0 },
        }),
      ),
    );
  }
}
