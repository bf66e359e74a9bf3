/**
 * The tag index: one small item per tag of a job, so that a list filtered by a tag reads the jobs that
 * carry it, not the table.
 *
 *   pk = TAG#<key>=<value>   sk = JOB#<jobId>   (type 'tag', jobId)
 *
 * A put writes the entries of the job's tags before the job item and deletes the entries of the tags it
 * dropped after it, so an entry is never missing for a tag the job item holds; a stale one (a put that
 * stopped half-way, a delete) is harmless: the list reads the job item and keeps only the jobs whose tags
 * match. The entries are written on a put or a delete only, never by the tick or the executor.
 */
import { BatchWriteCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { aliased, type Page, type RawItem, StoreBase } from './base.js';
import { jobKey } from './model.js';

/** The index partition of one tag. */
export function tagKey(key: string, value: string): string {
  return `TAG#${key}=${value}`;
}

function entryKey(jobId: string, key: string, value: string) {
  return { pk: tagKey(key, value), sk: `JOB#${jobId}` };
}

export class TagRecords extends StoreBase {
  /** Writes the index entries of `tags` for `jobId` (writing one again changes nothing). */
  async putTagEntries(jobId: string, tags: Record<string, string>): Promise<void> {
    await this.writeEntries(
      Object.entries(tags).map(([key, value]) => ({
        PutRequest: { Item: { ...entryKey(jobId, key, value), type: 'tag', jobId } },
      })),
    );
  }

  /** Deletes the index entries of `tags` for `jobId`. */
  async deleteTagEntries(jobId: string, tags: Record<string, string>): Promise<void> {
    await this.writeEntries(
      Object.entries(tags).map(([key, value]) => ({ DeleteRequest: { Key: entryKey(jobId, key, value) } })),
    );
  }

  private async writeEntries(requests: Record<string, unknown>[]): Promise<void> {
    // A job has at most 10 tags (MAX_TAGS), inside one BatchWriteItem's 25.
    let pending = requests;
    for (let attempt = 0; pending.length && attempt < 8; attempt++) {
      if (attempt) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      const result = await this.doc.send(
        new BatchWriteCommand({ RequestItems: { [this.tableName]: pending as never } }),
      );
      pending = (result.UnprocessedItems?.[this.tableName] ?? []) as Record<string, unknown>[];
    }
    if (pending.length)
      throw new Error(`BatchWriteItem left ${pending.length} tag entries unwritten after 8 tries`);
  }

  /**
   * One page of the job items tagged `key=value` whose id starts with `prefix`, in id order: a query of the
   * tag's entries (`begins_with` on the id), then the job items they name (BatchGetItem, eventually
   * consistent). A job deleted since is left out; the caller checks the tags of each item it gets.
   */
  async queryTagged(
    key: string,
    value: string,
    options: { prefix?: string; limit: number; start?: Record<string, unknown> },
  ): Promise<Page<RawItem>> {
    const page = await this.doc.send(
      new QueryCommand(
        aliased({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
          ExpressionAttributeValues: { ':pk': tagKey(key, value), ':sk': `JOB#${options.prefix ?? ''}` },
          Limit: options.limit,
          ExclusiveStartKey: options.start,
        }),
      ),
    );
    const ids = (page.Items ?? []).map((item) => String(item.jobId));
    const items = await this.itemsOf(
      ids.map((id) => jobKey(id)),
      false,
    );
    return { items, ...(page.LastEvaluatedKey ? { next: page.LastEvaluatedKey } : {}) };
  }

  /**
   * One page of a Scan for job items (ids starting with `prefix`). A Scan reads every item of the table,
   * run records included, whatever it returns: `Limit` counts the items read, not the ones kept.
   */
  async scanJobsPage(options: {
    prefix?: string;
    limit: number;
    start?: Record<string, unknown>;
  }): Promise<Page<RawItem>> {
    const page = await this.doc.send(
      new ScanCommand(
        aliased({
          TableName: this.tableName,
          FilterExpression: options.prefix ? 'sk = :job AND begins_with(pk, :pk)' : 'sk = :job',
          ExpressionAttributeValues: { ':job': 'JOB', ':pk': `JOB#${options.prefix ?? ''}` },
          Limit: options.limit,
          ExclusiveStartKey: options.start,
        }),
      ),
    );
    return { items: page.Items ?? [], ...(page.LastEvaluatedKey ? { next: page.LastEvaluatedKey } : {}) };
  }
}
