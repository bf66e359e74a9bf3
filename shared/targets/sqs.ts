/** The `sqs` target: one message whose body is the run context. */
import { createHash } from 'node:crypto';
import { SendMessageCommand, type SendMessageCommandOutput } from '@aws-sdk/client-sqs';
import { isAsyncTarget } from '../jobs/schema.js';
import type { SqsTarget } from '../jobs/types.js';
import { idempotencyKey, runMessage, sdkTargetError, untilAborted } from './common.js';
import type { RunContext, TargetClients, TargetResult } from './types.js';

/** Message attribute carrying the run id. */
export const RUN_ID_ATTRIBUTE = 'punctual-run-id';
/** Message attribute carrying the idempotency key (the run id), so a consumer can dedupe without parsing the body. */
export const IDEMPOTENCY_ATTRIBUTE = 'idempotency-key';
/** Message attribute carrying the attempt number (a Number). */
export const ATTEMPT_ATTRIBUTE = 'punctual-attempt';

/** SQS's limit on MessageDeduplicationId: 128 characters. */
const MAX_DEDUPLICATION_ID = 128;

/**
 * A FIFO queue's deduplication id for this delivery: the idempotency key, so that a retry of a send whose
 * answer was lost (a timeout, a 5xx after the message was taken) is dropped by SQS within its 5-minute
 * window instead of delivered twice. An asynchronous target's attempts are separate hand-offs, each with
 * its own completion token the worker must receive, so their id is `key#attempt`. The id is limited to
 * 128 characters (a run id can be longer): a longer one is sent as its SHA-256, in hex.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
 */
export function deduplicationId(target: SqsTarget, ctx: RunContext): string {
  const id = isAsyncTarget(target) ? `${idempotencyKey(ctx)}#${ctx.attempt}` : idempotencyKey(ctx);
  return id.length <= MAX_DEDUPLICATION_ID ? id : createHash('sha256').update(id).digest('hex');
}

export async function invokeSqs(
  target: SqsTarget,
  ctx: RunContext,
  deps: { clients: TargetClients; signal: AbortSignal },
): Promise<TargetResult> {
  const what = `sqs ${target.queueUrl}`;
  // A FIFO queue refuses a message without a group id, and without a deduplication id unless content-based
  // deduplication is on. Group = job (its runs stay in order).
  const fifo = target.queueUrl.endsWith('.fifo')
    ? { MessageGroupId: ctx.jobId, MessageDeduplicationId: deduplicationId(target, ctx) }
    : {};
  const command = new SendMessageCommand({
    QueueUrl: target.queueUrl,
    MessageBody: runMessage(ctx),
    MessageAttributes: {
      [IDEMPOTENCY_ATTRIBUTE]: { DataType: 'String', StringValue: idempotencyKey(ctx) },
      [RUN_ID_ATTRIBUTE]: { DataType: 'String', StringValue: ctx.runId },
      [ATTEMPT_ATTRIBUTE]: { DataType: 'Number', StringValue: String(ctx.attempt) },
    },
    ...fifo,
  });
  let output: SendMessageCommandOutput;
  try {
    output = await untilAborted(deps.clients.sqs.send(command, { abortSignal: deps.signal }), deps.signal);
  } catch (error) {
    if (deps.signal.aborted) throw error;
    throw sdkTargetError(what, error);
  }
  return { detail: `MessageId ${output.MessageId ?? '(none)'}` };
}
