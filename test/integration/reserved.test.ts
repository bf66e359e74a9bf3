/**
 * Issue 18, reproduction 4 (confused deputy), its queue and bus part: the executor may write to punctual's
 * own queues and lifecycle bus for its own work; a job must not borrow that. A job targeting a pool queue,
 * a DLQ or the completions queue fails at once and nothing is sent; source `punctual` is refused at
 * validation, and on the lifecycle bus by the executor too.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { ENV, reservedFromEnv } from '../../functions/commons/config.js';
import type { LocalRuntime } from '../../local/runtime.js';
import { JobValidationError } from '../../shared/errors.js';
import { parseJob } from '../../shared/jobs/index.js';
import type { Target } from '../../shared/jobs/types.js';
import { EVENT_SOURCE } from '../../shared/signals.js';
import { checkReserved, LIFECYCLE_SOURCE, type ReservedDestinations } from '../../shared/targets/reserved.js';
import { TargetError } from '../../shared/targets/types.js';
import { job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

const reserved: ReservedDestinations = {
  queueUrls: [
    'https://sqs.eu-west-1.amazonaws.com/123456789012/Punctual-pool-default',
    'https://sqs.eu-west-1.amazonaws.com/123456789012/Punctual-dlq-default',
  ],
  busName: 'Punctual-events',
};

function refusal(target: Target): TargetError | undefined {
  try {
    checkReserved(target, reserved);
  } catch (error) {
    expect(error).toBeInstanceOf(TargetError);
    return error as TargetError;
  }
  return undefined;
}

describe('reserved destinations: the rule', () => {
  it('refuses a pool queue or DLQ whatever the spelling of its URL, final', () => {
    // act
    const spellings = [
      'https://sqs.eu-west-1.amazonaws.com/123456789012/Punctual-pool-default',
      'https://eu-west-1.queue.amazonaws.com/123456789012/Punctual-dlq-default',
      'https://vpce-0abc.sqs.eu-west-1.vpce.amazonaws.com/123456789012/Punctual-pool-default/',
    ].map((queueUrl) => refusal({ type: 'sqs', queueUrl, timeout: 1000 } as Target));

    // assert
    for (const error of spellings) {
      expect(error?.retryable).toBe(false);
      expect(error?.message).toMatch(/refused: the queue is one of punctual's own/);
    }
  });

  it('lets other queues through, even with a similar name or another account', () => {
    // act + assert
    expect(
      refusal({
        type: 'sqs',
        queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders',
        timeout: 1,
      } as Target),
    ).toBeUndefined();
    expect(
      refusal({
        type: 'sqs',
        queueUrl: 'https://sqs.eu-west-1.amazonaws.com/999999999999/Punctual-pool-default',
        timeout: 1,
      } as Target),
    ).toBeUndefined();
  });

  it('refuses source punctual on the lifecycle bus, by name or ARN, and nothing else', () => {
    // prepare
    const event = (eventBusName: string, source: string) =>
      ({ type: 'eventbridge', eventBusName, source, detailType: 'Run Succeeded', timeout: 1 }) as Target;

    // act + assert
    expect(refusal(event('Punctual-events', 'punctual'))?.message).toMatch(
      /source "punctual" on punctual's lifecycle bus would pass for punctual's own run events/,
    );
    expect(
      refusal(event('arn:aws:events:eu-west-1:123456789012:event-bus/Punctual-events', 'punctual')),
    ).toBeDefined();
    expect(refusal(event('Punctual-events', 'punctual.job'))).toBeUndefined();
    expect(refusal(event('default', 'punctual'))).toBeUndefined();
  });

  it('is the source punctual publishes its run events with', () => {
    // act + assert
    expect(LIFECYCLE_SOURCE).toBe(EVENT_SOURCE);
  });

  it("reads the stack's queues and bus from the executor's environment", () => {
    // prepare
    const env = {
      [ENV.pools]: JSON.stringify({
        default: { queueUrl: 'q1', dlqUrl: 'd1' },
        reports: { queueUrl: 'q2', dlqUrl: 'd2' },
      }),
      [ENV.completionsQueue]: 'c',
      [ENV.bus]: 'Punctual-events',
    };

    // act + assert
    expect(reservedFromEnv(env)).toEqual({
      queueUrls: ['q1', 'd1', 'q2', 'd2', 'c'],
      busName: 'Punctual-events',
    });
  });
});

describe('reserved destinations: validation', () => {
  it('refuses source punctual on any bus, naming the field and the rule', () => {
    // act
    const error = (() => {
      try {
        parseJob({
          id: 'forge',
          schedule: 'rate(1 hour)',
          target: {
            type: 'eventbridge',
            eventBusName: 'Punctual-events',
            source: 'punctual',
            detailType: 'Run Succeeded',
          },
        });
      } catch (e) {
        return e as JobValidationError;
      }
      return undefined;
    })();

    // assert
    expect(error).toBeInstanceOf(JobValidationError);
    expect(error?.violations).toEqual([
      {
        path: 'target.source',
        value: 'punctual',
        message: 'must not be "punctual" (punctual\'s own run events use it); e.g. punctual.job, the default',
      },
    ]);
  });
});

describe('reserved destinations: through the executor', () => {
  it('fails a job at its pool queue, DLQ or the completions queue at once, sending nothing', async () => {
    // prepare
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    const pool = runtime.pools[0]!;
    const targets = {
      own: pool.queueUrl,
      dlq: pool.dlqUrl,
      completions: runtime.state.completionsQueueUrl,
    };
    for (const [id, queueUrl] of Object.entries(targets)) {
      const target = { type: 'sqs', queueUrl };
      await put(runtime, job(id, { schedule: 'rate(1 hour)', target, retry: { maxAttempts: 3 } }), T0 - 1000);
    }
    await runtime.tick();

    // act
    await runtime.drain();

    // assert
    const runs = await runtime.allRuns();
    expect(runs).toHaveLength(3);
    for (const run of runs) {
      expect(run.status).toBe('failed');
      expect(run.attempts).toHaveLength(1);
      expect(run.lastError).toMatch(/refused: the queue is one of punctual's own/);
    }
    const depths = await runtime.queueDepths();
    expect(depths[pool.name]).toMatchObject({ queue: 0, delayed: 0 });
    const completions = await runtime.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: runtime.state.completionsQueueUrl, WaitTimeSeconds: 0 }),
    );
    expect(completions.Messages ?? []).toHaveLength(0);
  });
});
