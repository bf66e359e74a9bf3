import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, LOCAL_REGION, localSqsClient, startSqsEmulator } from '../../local/emulators.js';
import type { SqsTarget } from '../../shared/jobs/types.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import { invokeTarget } from '../../shared/targets/invoke.js';
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

function send(queueUrl: string, runContext: RunContext = ctx) {
  const target: SqsTarget = { type: 'sqs', queueUrl, timeout: 5000 };
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
  it('sends the run context as the body with the run id as a message attribute', async () => {
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
      scheduledAt: '2026-03-01T02:00:00.000Z',
      attempt: 1,
      manual: false,
      payload: { batch: 7 },
    });
    expect(message.MessageAttributes?.['punctual-run-id']).toMatchObject({
      DataType: 'String',
      StringValue: 'queue-feeder@2026-03-01T02:00:00.000Z',
    });
  });

  it('lets a FIFO queue drop a duplicate send of the same attempt but keep a retry', async () => {
    // prepare
    const queueUrl = await createQueue('targets-ordered.fifo', { FifoQueue: 'true' });

    // act
    await send(queueUrl);
    await send(queueUrl);
    await send(queueUrl, { ...ctx, attempt: 2 });

    // assert
    const attempts: number[] = [];
    for (let i = 0; i < 3; i++) {
      // A FIFO queue hands out one group's messages in order, one batch in flight at a time.
      for (const message of await receiveAll(queueUrl)) {
        attempts.push((JSON.parse(message.Body!) as RunContext).attempt);
      }
    }
    expect(attempts.sort()).toEqual([1, 2]);
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
