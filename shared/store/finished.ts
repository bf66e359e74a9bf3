/**
 * What `afterLastRun: delete` needs of the table besides `RunRecords.hasOpenRun`: a delete that only
 * removes a job whose schedule has ended (shared/runs/finish.ts decides when).
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { aliased, StoreBase } from './base.js';
import { definitionKey, jobKey } from './model.js';

export class FinishedJobs extends StoreBase {
  /**
   * Deletes a job whose schedule has ended, conditional on the version read: a put, a resume or a tick
   * advance since then keeps it. True when it was deleted. The definition item the job referenced
   * (`definitionId`) gets its TTL in the same transaction, as `jobs delete` gives it (JobRecords
   * `definitionExpiresAt`: past the expiry of every run record that references it); without it the item
   * would stay for ever (issue 17 defect 7).
   */
  async deleteFinishedJob(
    jobId: string,
    version: number,
    definition?: { definitionId: string; now: number },
  ): Promise<boolean> {
    const remove = aliased({
      TableName: this.tableName,
      Key: jobKey(jobId),
      ConditionExpression:
        'version = :version AND attribute_not_exists(nextRunAt) AND attribute_not_exists(deferred) AND ' +
        '(attribute_not_exists(#running) OR size(#running) = :zero) AND attribute_not_exists(held)',
      ExpressionAttributeNames: { '#running': 'running' },
      ExpressionAttributeValues: { ':version': version, ':zero': 0 },
    });
    const alone = () => this.conditional(new DeleteCommand(remove));
    if (!definition) return alone();
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Delete: remove as never },
            {
              Update: {
                TableName: this.tableName,
                Key: definitionKey(jobId, definition.definitionId),
                UpdateExpression: 'SET expiresAt = :expires',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeValues: { ':expires': this.expiresAt(definition.now) + 86_400 },
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
      // The definition item is not there (removed by hand): the job's delete alone.
      if (reasons[1]?.Code === 'ConditionalCheckFailed') return alone();
      throw error;
    }
  }
}
