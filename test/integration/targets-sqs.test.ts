import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, LOCAL_REGION, localSqsClient, startSqsEmulator } from '../../local/emulators.js';
import type { SqsTarget } from '../../shared/jobs/types.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import { invokeTarget } from '../../shared/targets/invoke.js';
import { deduplicationId } from '../../shared/targets/sqs.js';
import { type RunContext, type TargetClients, TargetError } from '../../shared/targets/types.js';

let emulator: Emulator;
let sqs: SQSClient;
let clients: TargetClients;

const ctx: RunContext = {
  jobId: 'queue-feeder',
  runId: 'queue-feeder@2026-03-01T02:00:00.000Z',
  scheduledAt: '2026-03-01T02:00:00.000Z',
  attempt: 1,
  manual: false,
  payload: { batch: 7 },
};

async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return QueueUrl!;
}

function send(queueUrl: string, runContext: RunContext = ctx, extra: Partial<SqsTarget> = {}) {
  const target: SqsTarget = { type: 'sqs', queueUrl, timeout: 5000, ...extra };
  return invokeTarget(target, runContext, {
    clients,
    handlers: builtinHandlers(),
    signal: AbortSignal.timeout(5000),
  });
}

async function receiveAll(queueUrl: string) {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['All'],
      WaitTimeSeconds: 0,
    }),
  );
  return Messages ?? [];
}

beforeAll(async () => {
  emulator = await startSqsEmulator();
  sqs = localSqsClient(emulator.endpoint);
  const config = { region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  clients = { sqs, lambda: new LambdaClient(config), eventBridge: new EventBridgeClient(config) };
});

afterAll(async () => {
  sqs.destroy();
  await emulator.stop();
});

describe('sqs target against the SQS emulator', () => {
  it('sends the run context as the body with the idempotency key, run id and attempt as message attributes', async () => {
    // prepare
    const queueUrl = await createQueue('targets-standard');

    // act
    const result = await send(queueUrl);

    // assert
    const messages = await receiveAll(queueUrl);
    expect(messages).toHaveLength(1);
    const message = messages[0]!;
    expect(result.detail).toBe(`MessageId ${message.MessageId}`);
    expect(JSON.parse(message.Body!)).toEqual({
      jobId: 'queue-feeder',
      runId: 'queue-feeder@2026-03-01T02:00:00.000Z',
      idempotencyKey: 'queue-feeder@2026-03-01T02:00:00.000Z',
      scheduledAt: '2026-03-01T02:00:00.000Z',
      attempt: 1,
      manual: false,
      payload: { batch: 7 },
    });
    expect(message.MessageAttributes?.['idempotency-key']).toMatchObject({
      DataType: 'String',
      StringValue: 'queue-feeder@2026-03-01T02:00:00.000Z',
    });
    expect(message.MessageAttributes?.['punctual-run-id']).toMatchObject({
      DataType: 'String',
      StringValue: 'queue-feeder@2026-03-01T02:00:00.000Z',
    });
    expect(message.MessageAttributes?.['punctual-attempt']).toMatchObject({
      DataType: 'Number',
      StringValue: '1',
    });
  });

  /** Every message a FIFO queue holds, received group batch by group batch. */
  async function drainFifo(queueUrl: string) {
    const received: Awaited<ReturnType<typeof receiveAll>> = [];
    for (let i = 0; i < 4; i++) {
      // A FIFO queue hands out one group's messages in order, one batch in flight at a time.
      received.push(...(await receiveAll(queueUrl)));
    }
    return received;
  }

  it('lets a FIFO queue drop a retry of a run already delivered: the deduplication id is the idempotency key', async () => {
    // prepare
    const queueUrl = await createQueue('targets-ordered.fifo', { FifoQueue: 'true' });

    // act: the same attempt twice (an SDK retry), then the run's retry (its first answer lost)
    await send(queueUrl);
    await send(queueUrl);
    await send(queueUrl, { ...ctx, attempt: 2 });
    await send(queueUrl, { ...ctx, runId: 'queue-feeder@2026-03-01T02:05:00.000Z' });

    // assert
    const messages = await drainFifo(queueUrl);
    expect(messages.map((m) => (JSON.parse(m.Body!) as RunContext).runId).sort()).toEqual([
      'queue-feeder@2026-03-01T02:00:00.000Z',
      'queue-feeder@2026-03-01T02:05:00.000Z',
    ]);
    expect(messages.map((m) => (JSON.parse(m.Body!) as RunContext).attempt)).toEqual([1, 1]);
  });

  it('keeps each attempt of an asynchronous target on a FIFO queue: each is a hand-off with its own token', async () => {
    // prepare
    const queueUrl = await createQueue('targets-async.fifo', { FifoQueue: 'true' });
    const async = { completion: 'async' as const };

    // act
    await send(queueUrl, { ...ctx, completionToken: 't1' }, async);
    await send(queueUrl, { ...ctx, completionToken: 't1' }, async);
    await send(queueUrl, { ...ctx, attempt: 2, completionToken: 't2' }, async);

    // assert
    const messages = await drainFifo(queueUrl);
    expect(messages.map((m) => (JSON.parse(m.Body!) as RunContext).completionToken).sort()).toEqual([
      't1',
      't2',
    ]);
  });

  it('sends a run id longer than the 128 characters a deduplication id may hold as its SHA-256', async () => {
    // prepare
    const queueUrl = await createQueue('targets-long.fifo', { FifoQueue: 'true' });
    const jobId = `j${'x'.repeat(127)}`;
    const long = { ...ctx, jobId, runId: `${jobId}@2026-03-01T02:00:00.000Z` };

    // act
    await send(queueUrl, long);
    await send(queueUrl, { ...long, attempt: 2 });

    // assert
    const messages = await drainFifo(queueUrl);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.MessageAttributes?.['idempotency-key']?.StringValue).toBe(long.runId);
    expect(deduplicationId({ type: 'sqs', queueUrl, timeout: 5000 }, long)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('fails as not retryable when the queue does not exist', async () => {
    // prepare
    const missing = `${emulator.endpoint}/000000000000/targets-missing`;

    // act
    const error = await send(missing).then(
      () => undefined,
      (e: unknown) => e,
    );

    // assert
    expect(error).toBeInstanceOf(TargetError);
    expect((error as TargetError).retryable).toBe(false);
    expect((error as TargetError).message).toContain('targets-missing');
  });
});
