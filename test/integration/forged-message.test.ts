/**
 * Issue 18: a grantee of grantManageJobs({ jobIdPrefix }) may still sqs:SendMessage to every pool queue
 * (a put sends a new job's first slots at once, and triggers and replays send theirs), so application A
 * can put any body there, naming application B's runs. A message only names a run: the executor reads
 * the run record (partition key JOB#<jobId>, which A cannot write outside its prefix) and its job item,
 * and acts on those alone. Every forged message below starts nothing, a replay of a failed run included:
 * only its DLQ entry carries the run's redrive token (the operator's redrive), pinned down last.
 */
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { pauseJob, resumeJob } from '../../shared/ops/jobs.js';
import { countingHandlers, job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

async function forge(rt: LocalRuntime, body: Record<string, unknown>): Promise<void> {
  await rt.sqs.send(
    new SendMessageCommand({ QueueUrl: rt.pools[0]!.queueUrl, MessageBody: JSON.stringify(body) }),
  );
}

async function setup() {
  const clock = new ManualClock(T0);
  const { starts, handlers } = countingHandlers();
  handlers.register('boom', () => {
    throw new Error('boom');
  });
  const rt = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 }, handlers });
  runtime = rt;
  return { clock, starts, rt };
}

describe("a message forged by one application for another's job", () => {
  it('naming a run that does not exist (A cannot create run records under B): dropped, nothing created or started', async () => {
    // prepare
    const { starts, rt } = await setup();
    await put(
      rt,
      job('reports-nightly', { schedule: 'rate(1 hour)', target: { type: 'handler', name: 'count' } }),
      T0 - 1000,
    );
    const runId = 'reports-nightly@2026-11-30T23:00:00.000Z';

    // act
    await forge(rt, {
      v: 1,
      runId,
      jobId: 'reports-nightly',
      scheduledAt: '2026-11-30T23:00:00.000Z',
      attempt: 1,
    });
    const outcomes = await rt.drain();

    // assert
    expect(outcomes).toEqual(['unknown-run']);
    expect(await rt.store.getRun(runId)).toBeUndefined();
    expect(starts.size).toBe(0);
  });

  it("naming B's run that already succeeded, again or as a replay: a duplicate, not started again", async () => {
    // prepare
    const { starts, rt } = await setup();
    await put(
      rt,
      job('reports-nightly', { schedule: 'rate(1 hour)', target: { type: 'handler', name: 'count' } }),
      T0 - 1000,
    );
    await rt.tick();
    await rt.drain();
    const [run] = await rt.allRuns();
    expect(run?.status).toBe('succeeded');
    const base = { v: 1, runId: run!.runId, jobId: run!.jobId, scheduledAt: run!.scheduledAt };

    // act
    await forge(rt, { ...base, attempt: 1 });
    await forge(rt, { ...base, attempt: 2 });
    await forge(rt, { ...base, attempt: 2, replay: true, replays: 1 });
    const outcomes = await rt.drain();

    // assert
    expect(outcomes).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(starts.get(run!.runId)).toBe(1);
    expect((await rt.store.getRun(run!.runId))?.status).toBe('succeeded');
  });

  it("as a replay of B's cancelled run (no DLQ entry, B did not replay it): changes nothing", async () => {
    // prepare: B's run cancelled while its job was paused; B resumes the job.
    const { clock, starts, rt } = await setup();
    await put(
      rt,
      job('reports-nightly', { schedule: 'rate(1 hour)', target: { type: 'handler', name: 'count' } }),
      T0 - 1000,
    );
    await rt.tick();
    await pauseJob(rt.store, 'reports-nightly', clock.now);
    await rt.drain();
    await resumeJob(rt.store, 'reports-nightly', clock.now);
    const [run] = await rt.allRuns();
    expect(run?.status).toBe('cancelled');

    // act
    await forge(rt, {
      v: 1,
      runId: run!.runId,
      jobId: run!.jobId,
      scheduledAt: run!.scheduledAt,
      attempt: run!.attempt + 1,
      replay: true,
      replays: (run!.replays ?? 0) + 1,
    });
    const outcomes = await rt.drain();

    // assert
    expect(outcomes).toEqual(['duplicate']);
    expect(starts.size).toBe(0);
    expect((await rt.store.getRun(run!.runId))?.status).toBe('cancelled');
  });

  it('whose jobId is not the run id’s job: unreadable, moved to the DLQ, nothing started', async () => {
    // prepare
    const { starts, rt } = await setup();

    // act
    await forge(rt, {
      v: 1,
      runId: 'reports-nightly@2026-12-01T00:00:00.000Z',
      jobId: 'billing-x',
      scheduledAt: '2026-12-01T00:00:00.000Z',
      attempt: 1,
    });
    const outcomes = await rt.drain();

    // assert
    expect(outcomes).toEqual(['poisoned']);
    expect(starts.size).toBe(0);
  });

  it("as a replay of B's failed run: changes nothing (before: it ran B's run once more); the operator's redrive of its DLQ entry still does", async () => {
    // prepare
    const { rt } = await setup();
    await put(
      rt,
      job('reports-nightly', {
        schedule: 'rate(1 hour)',
        target: { type: 'handler', name: 'boom' },
        retry: { maxAttempts: 1 },
      }),
      T0 - 1000,
    );
    await rt.tick();
    await rt.drain();
    const [run] = await rt.allRuns();
    expect(run?.status).toBe('failed');
    expect(run?.redriveToken).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const replay = {
      v: 1,
      runId: run!.runId,
      jobId: run!.jobId,
      scheduledAt: run!.scheduledAt,
      attempt: run!.attempt + 1,
      replay: true,
      replays: (run!.replays ?? 0) + 1,
    };

    // act: A forges B's replay, without the token and with a guessed one
    await forge(rt, replay);
    await forge(rt, { ...replay, redrive: 'AAAAAAAAAAAAAAAAAAAAAA' });
    const forged = await rt.drain();

    // assert
    expect(forged).toEqual(['duplicate', 'duplicate']);
    expect(await rt.store.getRun(run!.runId)).toMatchObject({ status: 'failed', attempt: 1 });

    // act: the operator's redrive moves the DLQ entry (its body, token included) back to the queue
    const received = await rt.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: rt.pools[0]!.dlqUrl, MaxNumberOfMessages: 10 }),
    );
    const entries = received.Messages ?? [];
    expect(entries).toHaveLength(1);
    const body = JSON.parse(entries[0]?.Body ?? '{}') as Record<string, unknown>;
    expect(body.redrive).toBe(run!.redriveToken);
    await forge(rt, body);
    const redriven = await rt.drain();

    // assert: B's target and retry budget, from B's run record; the token is spent
    const after = await rt.store.getRun(run!.runId);
    expect(redriven).toEqual(['failed']);
    expect(after?.replays).toBe(1);
    expect(after?.attempt).toBe(2);
    expect(after?.definition.target).toEqual(run!.definition.target);
    // The run failed again: a new token, for its new DLQ entry; the old body (a copy A kept) opens nothing.
    expect(after?.redriveToken).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(after?.redriveToken).not.toBe(run!.redriveToken);
    await forge(rt, { ...body, replays: 2 });
    expect(await rt.drain()).toEqual(['duplicate']);
    expect((await rt.store.getRun(run!.runId))?.attempt).toBe(2);
  });
});
