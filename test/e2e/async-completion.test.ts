/**
 * Runs that outlive a Lambda, end to end on the local runtime (DynamoDB Local + the SQS emulator, time
 * compressed with a manual clock): an `sqs` target with `completion: async` hands each run to the example
 * worker (examples/worker.ts), which heartbeats and reports on the completions queue.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { sendReport } from '../../examples/worker.js';
import { CompletionRefusedError } from '../../shared/client/index.js';
import { type AsyncSetup, asyncSetup, handedOff, MINUTE, minute, takeOne } from '../support/async.js';
import { byStatus, T0 } from '../support/runtime.js';

let setup: AsyncSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

describe('asynchronous completion on the local runtime', () => {
  it('a run lasting 30 compressed minutes with heartbeats succeeds with its real duration; the slots due meanwhile are skipped(overlap)', async () => {
    setup = await asyncSetup({ overlap: 'skip', heartbeatTimeout: '5m' });
    const { rt, worker } = setup;
    const handed = await handedOff(setup);
    expect(handed.completionToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

    for (let m = 1; m < 30; m++) {
      await sendReport(worker, handed, 'heartbeat');
      await minute(setup);
    }
    const midway = await rt.store.getRun(handed.runId);
    expect(midway?.status).toBe('running');
    expect(midway?.lastHeartbeatAt).toBe(new Date(T0 + 29 * MINUTE).toISOString());
    await sendReport(worker, handed, 'complete', { output: { pages: 12 } });
    await minute(setup);

    const runs = await rt.allRuns();
    const first = runs.find((run) => run.runId === handed.runId)!;
    expect(first.status).toBe('succeeded');
    expect(first.output).toEqual({ pages: 12 });
    expect(first.attempts[0]).toMatchObject({
      status: 'succeeded',
      report: 'complete',
      durationMs: 30 * MINUTE,
    });
    expect(rt.signals.metrics.filter((m) => m.name === 'RunDuration').map((m) => m.value)).toEqual([
      30 * MINUTE,
    ]);
    // Slots at +10 and +20 came due while it ran; +30 came due after its end and was handed off in turn.
    expect(byStatus(runs)).toEqual({ 'succeeded(ok)': 1, 'skipped(overlap)': 2, running: 1 });
    expect(runs.find((run) => run.status === 'running')?.scheduledAt).toBe(
      new Date(T0 + 30 * MINUTE).toISOString(),
    );
  });

  it('queue: the slot due meanwhile waits and starts when the asynchronous run ends', async () => {
    setup = await asyncSetup({ overlap: 'queue', startingDeadline: '30m' });
    const { rt, worker } = setup;
    const handed = await handedOff(setup);
    for (let m = 1; m <= 12; m++) {
      await sendReport(worker, handed, 'heartbeat');
      await minute(setup);
    }
    expect(byStatus(await rt.allRuns())).toEqual({ running: 1, queued: 1 });

    await sendReport(worker, handed, 'complete');
    await rt.drainCompletions();
    await rt.drain();

    const runs = await rt.allRuns();
    expect(byStatus(runs)).toEqual({ 'succeeded(ok)': 1, running: 1 });
    expect(runs[1]?.startedAt).toBe(new Date(T0 + 12 * MINUTE).toISOString());
  });

  it('a killed worker: the attempt is lost after heartbeatTimeout, retried with a new token, the old token refused', async () => {
    setup = await asyncSetup({ heartbeatTimeout: '5m', retry: { maxAttempts: 2, backoff: '1s' } });
    const { clock, rt, worker, client } = setup;
    const first = await handedOff(setup);
    await sendReport(worker, first, 'heartbeat');
    await minute(setup);
    // The worker dies here: no more heartbeats. Five minutes after the last one the sweep declares it lost.
    for (let m = 0; m < 4; m++) await minute(setup);
    expect((await rt.store.getRun(first.runId))?.status).toBe('running');
    clock.advance(MINUTE + 1_000);
    const report = await rt.tick();
    expect(report.sweep.retried).toBe(1);
    expect(rt.signals.sum('HeartbeatsMissed')).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the retry's DelaySeconds (1 s backoff) is real
    clock.advance(1_000);
    expect(await rt.drain()).toEqual(['handed-off']);
    const second = await takeOne(worker);

    expect(second.attempt).toBe(2);
    expect(second.completionToken).not.toBe(first.completionToken);
    const refused = await client
      .complete(first.runId, first.completionToken)
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CompletionRefusedError);
    expect(refused).toMatchObject({ refused: 'attempt-ended', kept: true });
    expect((refused as Error).message).toMatch(/attempt 1 of run .* ended lost/);
    const done = await client.complete(second.runId, second.completionToken);
    expect(done.outcome).toBe('succeeded');
    expect(
      done.run.attempts.map((attempt) => [attempt.status, attempt.lateReports.map((late) => late.type)]),
    ).toEqual([
      ['lost', ['complete']],
      ['succeeded', []],
    ]);
  });

  it('an attempt still running past maxRunDuration is failed(timeout) and its message goes to the DLQ', async () => {
    setup = await asyncSetup({ heartbeatTimeout: '2m', maxRunDuration: '15m', retry: { maxAttempts: 1 } });
    const { rt, worker } = setup;
    const handed = await handedOff(setup);
    for (let m = 1; m <= 16; m++) {
      await sendReport(worker, handed, 'heartbeat');
      await minute(setup);
    }

    const run = await rt.store.getRun(handed.runId);
    expect(run).toMatchObject({ status: 'failed', reason: 'timeout' });
    expect(run?.lastError).toMatch(/ran past maxRunDuration/);
    expect(rt.signals.sum('HeartbeatsMissed')).toBe(0);
    const { Messages } = await rt.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: rt.pools[0]!.dlqUrl, MaxNumberOfMessages: 10 }),
    );
    expect(Messages?.map((message) => JSON.parse(message.Body ?? '{}').runId)).toEqual([handed.runId]);
  });
});
