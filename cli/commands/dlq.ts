/**
 * `punctual dlq list|redrive`: the dead-letter queue of each pool.
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
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  ReceiveMessageCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { PunctualError } from '../../shared/errors.js';
import { chunk, errorMessage } from '../../shared/util.js';
import type { PoolInfo, Target } from '../context.js';
import { type Io, palette, printJson, roughDuration, table } from '../format.js';

/** How long a listed message stays invisible if the CLI cannot make it visible again. */
export const LIST_VISIBILITY_SECONDS = 10;

export interface DlqEntry {
  pool: string;
  messageId: string;
  /** Null for a message that is not a punctual run message (`poison`). */
  runId: string | null;
  jobId: string | null;
  attempts: number | null;
  lastError: string | null;
  /** When the run failed (from the body), else when the message was sent. */
  failedAt: string | null;
  ageMs: number | null;
  /** True for a body the executor could not read; `lastError` says why. */
  poison: boolean;
  receiveCount: number;
}

function selectPools(target: Target, pool: string | undefined): [string, PoolInfo][] {
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

async function visibleCount(target: Target, url: string): Promise<number> {
  const { Attributes } = await target.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

/** Up to `limit` messages of one DLQ, left in the queue. */
async function peek(target: Target, url: string, limit: number): Promise<Message[]> {
  const seen = new Map<string, Message>();
  const expected = await visibleCount(target, url);
  try {
    let waitSeconds = 0;
    while (seen.size < limit) {
      const { Messages = [] } = await target.sqs.send(
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
      if (fresh.length) continue;
      // A short poll samples a subset of SQS's servers: one long poll before giving up on the rest.
      if (waitSeconds > 0 || seen.size >= expected) break;
      waitSeconds = 1;
    }
  } finally {
    // Visible again now: listing must not delay a redrive or hide a message from the console.
    const handles = [...seen.values()].filter((message) => message.ReceiptHandle);
    for (const batch of chunk(handles, 10)) {
      await target.sqs
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
  return [...seen.values()];
}

export async function runDlqList(
  io: Io,
  target: Target,
  options: { pool?: string; limit?: number; json?: boolean },
  now: number,
): Promise<void> {
  const entries: DlqEntry[] = [];
  for (const [name, pool] of selectPools(target, options.pool)) {
    const messages = await peek(target, pool.dlqUrl, options.limit ?? 100);
    entries.push(...messages.map((message) => describeDlqMessage(name, message, now)));
  }
  entries.sort((a, b) => (a.failedAt ?? '').localeCompare(b.failedAt ?? ''));
  if (options.json) {
    printJson(io, entries);
    return;
  }
  if (!entries.length) {
    io.out('the dead-letter queues are empty\n');
    return;
  }
  const p = palette(io.color);
  io.out(
    table(
      ['POOL', 'RUN ID', 'JOB', 'ATTEMPTS', 'AGE', 'LAST ERROR'],
      entries.map((entry) => [
        entry.pool,
        entry.runId ?? p.red('(unreadable)'),
        entry.jobId ?? '-',
        entry.attempts === null ? '-' : String(entry.attempts),
        entry.ageMs === null ? '-' : roughDuration(Math.max(0, entry.ageMs)),
        entry.lastError ?? '',
      ]),
      { right: [3], maxWidth: { 5: 70 } },
    ),
  );
  io.out(
    p.dim(
      `listing leaves the messages in place; redrive them with: punctual dlq redrive${options.pool ? ` --pool ${options.pool}` : ''}\n`,
    ),
  );
}

export interface RedriveResult {
  pool: string;
  /** COMPLETED, FAILED, CANCELLED, or EMPTY when there was nothing to move. */
  status: string;
  moved: number;
  toMove: number;
  failureReason: string | null;
}

export async function redrivePool(
  target: Target,
  name: string,
  pool: PoolInfo,
  onProgress: (moved: number, toMove: number) => void,
  options: { pollMs?: number; timeoutMs?: number } = {},
): Promise<RedriveResult> {
  const toMove = await visibleCount(target, pool.dlqUrl);
  if (toMove === 0) return { pool: name, status: 'EMPTY', moved: 0, toMove: 0, failureReason: null };
  const { Attributes } = await target.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: pool.queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const destination = Attributes?.QueueArn;
  if (!destination)
    throw new PunctualError(`pool "${name}": cannot read the ARN of its queue ${pool.queueUrl}`);
  try {
    await target.sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: pool.dlqArn, DestinationArn: destination }),
    );
  } catch (error) {
    throw new PunctualError(
      `pool "${name}": StartMessageMoveTask from ${pool.dlqArn} failed: ${errorMessage(error)}`,
    );
  }
  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  for (;;) {
    await sleep(options.pollMs ?? 1000);
    const { Results = [] } = await target.sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: pool.dlqArn, MaxResults: 1 }),
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

export async function runDlqRedrive(
  io: Io,
  target: Target,
  options: { pool?: string; json?: boolean },
): Promise<number> {
  const results: RedriveResult[] = [];
  for (const [name, pool] of selectPools(target, options.pool)) {
    const result = await redrivePool(target, name, pool, (moved, total) =>
      io.err(`redrive ${name}: ${moved}/${total} moved\n`),
    );
    results.push(result);
    if (!options.json) {
      if (result.status === 'EMPTY') io.out(`${name}: the DLQ is empty; nothing to redrive\n`);
      else
        io.out(
          `${name}: ${result.status.toLowerCase()}, ${result.moved} of ${result.toMove} message(s) moved back to the pool's queue${result.failureReason ? ` (${result.failureReason})` : ''}\n`,
        );
    }
  }
  if (options.json) printJson(io, results);
  else if (results.some((result) => result.moved > 0)) {
    io.out('each one replays its run once more; follow them with: punctual runs list --since 10m\n');
  }
  return results.some((result) => result.status === 'FAILED') ? 1 : 0;
}
