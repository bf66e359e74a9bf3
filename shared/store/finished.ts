/**
 * What `afterLastRun: delete` needs of the table besides `RunRecords.hasOpenRun`: a delete that only
 * removes a job whose schedule has ended (shared/runs/finish.ts decides when).
 */
import { aliased, StoreBase } from './base.js';
import { jobKey } from './model.js';

export class FinishedJobs extends StoreBase {
  /**
   * Deletes a job whose schedule has ended, conditional on the version read: a put, a resume or a tick
   * advance since then keeps it. True when it was deleted. The definition item the job referenced
   * (`definitionId`) gets its TTL in the same transaction, as `jobs delete` gives it (StoreBase
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
    return this.leavingDefinition(jobId, { Delete: remove }, definition?.definitionId, definition?.now ?? 0);
  }
}
