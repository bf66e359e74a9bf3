/**
 * The dead-letter queue of each pool: list its messages, move them back, delete them (`listDlq`,
 * `redriveDlq`, `purgeDlq` of the client; `punctual dlq list|redrive|purge`).
 *
 * Listing reads without deleting: SQS has no "peek", so messages are received with a short visibility
 * timeout (LIST_VISIBILITY_SECONDS) and made visible again at once with ChangeMessageVisibility(0). While a
 * listing runs, the messages it holds are invisible to anyone else (a redrive started at the same moment
 * skips them); if the CLI dies mid-listing they come back on their own after the timeout. Each listing adds
 * one to their ApproximateReceiveCount; a DLQ has no redrive policy, so that changes nothing.
 *
 * Redrive is SQS's own `StartMessageMoveTask`, polled with `ListMessageMoveTasks` until it ends. The
 * destination is given explicitly (the pool's queue): failed runs are *sent* to the DLQ by the executor
 * (with the run id and the last error), not moved there by a redrive policy, so SQS cannot tell their
 * source by itself (it would fail the task with CouldNotDetermineMessageSource).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { PunctualError } from '../errors.js';
import { roughDuration } from '../jobs/duration.js';
import { chunk, errorMessage } from '../util.js';
import type { Connection, PoolQueues } from './connection.js';

/** How long a listed message stays invisible if the CLI cannot make it visible again. */
export const LIST_VISIBILITY_SECONDS = 10;

export const dlqEntrySchema = z
  .object({
    pool: z.string(),
    messageId: z.string(),
    runId: z.string().nullable().describe('null for a message that is not a punctual run message (poison)'),
    jobId: z.string().nullable(),
    attempts: z.number().int().nullable(),
    lastError: z.string().nullable(),
    failedAt: z.iso.datetime().nullable().describe('when the run failed, else when the message was sent'),
    ageMs: z.number().nullable(),
    poison: z.boolean().describe('a body the executor could not read; lastError says why'),
    receiveCount: z.number().int(),
  })
  .describe('A message of a DLQ');

export type DlqEntry = z.infer<typeof dlqEntrySchema>;

/** The pools named (all when none is), sorted; each with the DLQ URL and ARN the caller needs. */
export function selectPools(target: Connection, pool: string | undefined): [string, PoolQueues][] {
  const all = Object.entries(target.pools).sort(([a], [b]) => a.localeCompare(b));
  if (!pool) return all;
  const found = all.filter(([name]) => name === pool);
  if (!found.length) {
    throw new PunctualError(
      `pool "${pool}" does not exist in ${target.label}; its pools: ${all.map(([name]) => name).join(', ') || 'none'}`,
    );
  }
  return found;
}

export function describeDlqMessage(pool: string, message: Message, now: number): DlqEntry {
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(message.Body ?? '') as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      body = parsed as Record<string, unknown>;
  } catch {
    // not JSON: shown as poison below
  }
  const str = (value: unknown) => (typeof value === 'string' ? value : null);
  const sent = Number(message.Attributes?.SentTimestamp);
  const poison = body.poison === true || typeof body.runId !== 'string';
  const failedAt =
    str(body.failedAt) ??
    str(body.receivedAt) ??
    (Number.isFinite(sent) ? new Date(sent).toISOString() : null);
  return {
    pool,
    messageId: message.MessageId ?? '',
    runId: poison ? null : str(body.runId),
    jobId: poison ? null : str(body.jobId),
    attempts: typeof body.attempts === 'number' ? body.attempts : null,
    lastError: poison
      ? (str(body.error) ?? `unreadable message: ${(message.Body ?? '').slice(0, 200)}`)
      : str(body.lastError),
    failedAt,
    ageMs: failedAt ? now - Date.parse(failedAt) : null,
    poison,
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
  };
}

export async function visibleCount(sqs: SQSClient, url: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

/** Up to `limit` messages of one DLQ, left in the queue. */
export async function peek(sqs: SQSClient, url: string, limit: number): Promise<Message[]> {
  return (await sweep(sqs, url, limit, () => false)).left;
}

/**
 * Receives up to `limit` messages of one DLQ: those `take` chooses are deleted, the rest made visible again
 * at once (whatever happens, in `finally`: a failed sweep hides nothing for longer than the timeout).
 */
async function sweep(
  sqs: SQSClient,
  url: string,
  limit: number,
  take: (message: Message) => boolean,
): Promise<{ taken: Message[]; left: Message[] }> {
  const seen = new Map<string, Message>();
  const taken: Message[] = [];
  const expected = await visibleCount(sqs, url);
  try {
    let waitSeconds = 0;
    while (seen.size < limit) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: Math.min(10, limit - seen.size),
          VisibilityTimeout: LIST_VISIBILITY_SECONDS,
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
        }),
      );
      const fresh = Messages.filter((message) => message.MessageId && !seen.has(message.MessageId));
      for (const message of fresh) seen.set(message.MessageId ?? '', message);
      const chosen = fresh.filter(take);
      if (chosen.length) await deleteMessages(sqs, url, chosen);
      taken.push(...chosen);
      if (fresh.length) continue;
      // A short poll samples a subset of SQS's servers: one long poll before giving up on the rest.
      if (waitSeconds > 0 || seen.size >= expected) break;
      waitSeconds = 1;
    }
  } finally {
    // Visible again now: listing must not delay a redrive or hide a message from the console.
    const ids = new Set(taken.map((message) => message.MessageId));
    const handles = [...seen.values()].filter(
      (message) => message.ReceiptHandle && !ids.has(message.MessageId),
    );
    for (const batch of chunk(handles, 10)) {
      await sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: url,
            Entries: batch.map((message, i) => ({
              Id: `m${i}`,
              ReceiptHandle: message.ReceiptHandle ?? '',
              VisibilityTimeout: 0,
            })),
          }),
        )
        .catch(() => undefined);
    }
  }
  const ids = new Set(taken.map((message) => message.MessageId));
  return { taken, left: [...seen.values()].filter((message) => !ids.has(message.MessageId)) };
}

async function deleteMessages(sqs: SQSClient, url: string, messages: Message[]): Promise<void> {
  for (const batch of chunk(messages, 10)) {
    const { Failed = [] } = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: batch.map((message, i) => ({ Id: `m${i}`, ReceiptHandle: message.ReceiptHandle ?? '' })),
      }),
    );
    if (Failed.length)
      throw new PunctualError(
        `DeleteMessageBatch on ${url} failed for ${Failed.length} message(s): ${Failed.map((f) => f.Message ?? f.Code).join('; ')}`,
      );
  }
}

/** What a purge deleted from one pool's DLQ (or, with `dryRun`, would delete). */
export interface PurgeResult {
  pool: string;
  /** The messages deleted (with `dryRun`: that would be). */
  entries: DlqEntry[];
  /** Messages of the DLQ left in place (another job's, with `jobId`). */
  kept: number;
}

/**
 * Deletes the messages of the pool's DLQ, all of them or those of one job (`jobId`; poison messages have
 * none and match no job). Their runs keep their `failed` records; only the chance to redrive them goes.
 * With `dryRun`, nothing is deleted: the result says what would be.
 */
export async function purgePool(
  sqs: SQSClient,
  name: string,
  pool: PoolQueues,
  options: { jobId?: string; dryRun?: boolean; limit?: number },
  now: number,
): Promise<PurgeResult> {
  const url = required(name, pool, 'dlqUrl');
  const matches = (message: Message) =>
    options.jobId === undefined || describeDlqMessage(name, message, now).jobId === options.jobId;
  const { taken, left } = await sweep(
    sqs,
    url,
    options.limit ?? 10_000,
    (message) => !options.dryRun && matches(message),
  );
  const chosen = options.dryRun ? left.filter(matches) : taken;
  return {
    pool: name,
    entries: chosen.map((message) => describeDlqMessage(name, message, now)),
    kept: left.length - (options.dryRun ? chosen.length : 0),
  };
}

export const redriveResultSchema = z
  .object({
    pool: z.string(),
    status: z.string().describe('COMPLETED, FAILED, CANCELLED, or EMPTY when there was nothing to move'),
    moved: z.number().int(),
    toMove: z.number().int(),
    failureReason: z.string().nullable(),
  })
  .describe("The outcome of one pool's redrive");

export type RedriveResult = z.infer<typeof redriveResultSchema>;

function required(name: string, pool: PoolQueues, field: 'dlqUrl' | 'dlqArn'): string {
  const value = pool[field];
  if (!value)
    throw new PunctualError(`pool "${name}": its ${field} is not known; give the client each pool's queues`);
  return value;
}

/** Up to `limit` messages of the pool's DLQ, left in place. */
export async function listPoolDlq(
  sqs: SQSClient,
  name: string,
  pool: PoolQueues,
  limit: number,
  now: number,
): Promise<DlqEntry[]> {
  const messages = await peek(sqs, required(name, pool, 'dlqUrl'), limit);
  return messages.map((message) => describeDlqMessage(name, message, now));
}

export async function redrivePool(
  sqs: SQSClient,
  name: string,
  pool: PoolQueues,
  onProgress: (moved: number, toMove: number) => void,
  options: { pollMs?: number; timeoutMs?: number } = {},
): Promise<RedriveResult> {
  const dlqUrl = required(name, pool, 'dlqUrl');
  const dlqArn = required(name, pool, 'dlqArn');
  const toMove = await visibleCount(sqs, dlqUrl);
  if (toMove === 0) return { pool: name, status: 'EMPTY', moved: 0, toMove: 0, failureReason: null };
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: pool.queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const destination = Attributes?.QueueArn;
  if (!destination)
    throw new PunctualError(`pool "${name}": cannot read the ARN of its queue ${pool.queueUrl}`);
  try {
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: destination }));
  } catch (error) {
    throw new PunctualError(
      `pool "${name}": StartMessageMoveTask from ${dlqArn} failed: ${errorMessage(error)}`,
    );
  }
  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  for (;;) {
    await sleep(options.pollMs ?? 1000);
    const { Results = [] } = await sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 1 }),
    );
    const task = Results[0];
    const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
    const total = task?.ApproximateNumberOfMessagesToMove ?? toMove;
    onProgress(moved, total);
    if (task && task.Status !== 'RUNNING' && task.Status !== 'CANCELLING') {
      return {
        pool: name,
        status: task.Status ?? 'UNKNOWN',
        moved,
        toMove: total,
        failureReason: task.FailureReason ?? null,
      };
    }
    if (Date.now() > deadline) {
      throw new PunctualError(
        `pool "${name}": the move task is still running after ${roughDuration(options.timeoutMs ?? 900_000)}; see \`punctual dlq list\``,
      );
    }
  }
}
