/** The `sqs` target: one message whose body is the run context. */
import { createHash } from 'node:crypto';
import { SendMessageCommand, type SendMessageCommandOutput } from '@aws-sdk/client-sqs';
import type { SqsTarget } from '../jobs/types.js';
import { runMessage, sdkTargetError, untilAborted } from './common.js';
import type { RunContext, TargetClients, TargetResult } from './types.js';

/** Message attribute carrying the run id, so a consumer can dedupe without parsing the body. */
export const RUN_ID_ATTRIBUTE = 'punctual-run-id';

export async function invokeSqs(
  target: SqsTarget,
  ctx: RunContext,
  deps: { clients: TargetClients; signal: AbortSignal },
): Promise<TargetResult> {
  const what = `sqs ${target.queueUrl}`;
  // A FIFO queue refuses a message without a group id, and without a deduplication id unless content-based
  // deduplication is on. Group = job (its runs stay in order); dedup = run + attempt, hashed because the
  // id is limited to 128 characters and a run id can be longer.
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
  const fifo = target.queueUrl.endsWith('.fifo')
    ? {
        MessageGroupId: ctx.jobId,
        MessageDeduplicationId: createHash('sha256').update(`${ctx.runId}#${ctx.attempt}`).digest('hex'),
      }
    : {};
  const command = new SendMessageCommand({
    QueueUrl: target.queueUrl,
    MessageBody: runMessage(ctx),
    MessageAttributes: { [RUN_ID_ATTRIBUTE]: { DataType: 'String', StringValue: ctx.runId } },
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
