/**
 * Locally, a target that would call AWS goes nowhere unless the runtime is told to (`punctual dev
 * --aws-targets`): its run ends skipped(aws-targets-off), recorded like any fate. http, handler and sqs
 * queues on the emulator run as usual.
 */
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { callsAws, type LocalRuntime } from '../../local/runtime.js';
import { job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

describe('AWS targets on the local runtime', () => {
  it('without awsTargets, lambda, eventbridge and an sqs queue in AWS end skipped(aws-targets-off); an emulator queue gets its message', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    const { QueueUrl: localQueue } = await runtime.sqs.send(
      new CreateQueueCommand({ QueueName: `${runtime.state.tableName}-local-target` }),
    );
    const targets = {
      lam: { type: 'lambda', functionName: 'send-reminder' },
      bus: { type: 'eventbridge', eventBusName: 'default', source: 'app', detailType: 'Tick' },
      awsq: { type: 'sqs', queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/agents' },
      localq: { type: 'sqs', queueUrl: localQueue },
    };
    for (const [id, target] of Object.entries(targets)) {
      await put(runtime, job(id, { schedule: 'rate(1 minute)', target }), T0 - 1000);
    }
    await runtime.tick();

    await runtime.drain();

    const fates = Object.fromEntries(
      (await runtime.allRuns()).map((run) => [run.jobId, `${run.status}(${run.reason})`]),
    );
    expect(fates).toEqual({
      lam: 'skipped(aws-targets-off)',
      bus: 'skipped(aws-targets-off)',
      awsq: 'skipped(aws-targets-off)',
      localq: 'succeeded(ok)',
    });
    const received = await runtime.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: localQueue, WaitTimeSeconds: 0, MaxNumberOfMessages: 10 }),
    );
    expect(received.Messages).toHaveLength(1);
  });

  it('tells an AWS target from a local one by its type and, for sqs, the queue URL', () => {
    const emulator = 'http://127.0.0.1:9324';
    expect(callsAws({ type: 'handler', name: 'log', timeout: 1000 } as never, emulator)).toBe(false);
    expect(callsAws({ type: 'http', url: 'https://example.com' } as never, emulator)).toBe(false);
    expect(callsAws({ type: 'sqs', queueUrl: `${emulator}/000000000000/q` } as never, emulator)).toBe(false);
    expect(
      callsAws({ type: 'sqs', queueUrl: 'http://127.0.0.1:9999/000000000000/q' } as never, emulator),
    ).toBe(true);
    expect(callsAws({ type: 'stepfunctions', stateMachineArn: 'arn:aws:states:…' } as never, emulator)).toBe(
      true,
    );
    expect(callsAws({ type: 'ecs', cluster: 'c' } as never, emulator)).toBe(true);
  });
});
