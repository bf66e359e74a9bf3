/**
 * The tick against DynamoDB Local and the SQS emulator: claim protocol, races, crashes, catch-up,
 * lost messages and corrupt items. The clock is a parameter: each test moves it by hand.
 */
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { jobKey } from '../../shared/store/model.js';
import { byStatus, countingHandlers, job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;

/** Takes a pool's visible messages off the queue for good: a message lost in transit. */
async function loseMessages(rt: LocalRuntime): Promise<number> {
  const queueUrl = rt.pools[0]!.queueUrl;
  const { Messages = [] } = await rt.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
  );
  for (const message of Messages)
    await rt.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
  return Messages.length;
}
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

describe('claim protocol', () => {
  it('8 ticks racing over 500 due jobs dispatch every slot once and start no run twice', async () => {
    const clock = new ManualClock(T0);
    const { starts, handlers } = countingHandlers();
    runtime = await testRuntime({ clock: clock.fn, handlers, tick: { lookaheadMs: 0 } });
    for (let i = 0; i < 500; i++) {
      await put(
        runtime,
        job(`race-${i}`, { schedule: 'rate(1 minute)', target: { type: 'handler', name: 'count' } }),
        T0 - 1000,
      );
    }

    const reports = await Promise.all(Array.from({ length: 8 }, () => runtime!.tick()));
    const outcomes = await runtime.drain();

    expect(reports.reduce((sum, report) => sum + report.slotsDispatched, 0)).toBe(500);
    expect(outcomes.filter((outcome) => outcome === 'succeeded')).toHaveLength(500);
    expect(outcomes).toHaveLength(500);
    expect(starts.size).toBe(500);
    expect([...starts.values()].every((count) => count === 1)).toBe(true);
    const runs = await runtime.allRuns();
    expect(byStatus(runs)).toEqual({ 'succeeded(ok)': 500 });
    // 1,500 writes and 500 target runs: generous, so a loaded machine never fails it on time.
  }, 240_000);

  it('a tick that dies between its advance and the send leaves the slot to the sweep, which sends it past its grace', async () => {
    const clock = new ManualClock(T0);
    let crashes = 1;
    const { starts, handlers } = countingHandlers();
    runtime = await testRuntime({
      clock: clock.fn,
      handlers,
      tick: { lookaheadMs: 0, deliveryGraceMs: 10_000 },
      faults: {
        beforeSend: () => {
          if (crashes-- > 0) throw new Error('injected crash before send');
        },
      },
    });
    await put(
      runtime,
      job('crashy', { schedule: 'rate(1 minute)', target: { type: 'handler', name: 'count' } }),
      T0 - 1000,
    );

    const first = await runtime.tick();
    expect(first.errors.map((error) => error.error)).toEqual(['injected crash before send']);
    // The job moved on (the advance is the claim); its slot is recorded, waiting for its message.
    const item = await runtime.store.getJob('crashy');
    expect(item?.nextRunAt).toBe('2026-12-01T00:00:59.000Z');
    expect(item?.lease).toBeUndefined();
    expect((await runtime.allRuns()).map((run) => [run.runId, run.status])).toEqual([
      ['crashy@2026-11-30T23:59:59.000Z', 'dispatched'],
    ]);
    expect(await runtime.drain()).toEqual([]);

    // Within the grace the next tick has nothing to send; past it, its sweep sends the run.
    const second = await runtime.tick();
    expect([second.slotsDispatched, second.contended, second.sweep.resent]).toEqual([0, 0, 0]);
    clock.advance(11_000);
    const third = await runtime.tick();
    expect(third.sweep.resent).toBe(1);
    expect(await runtime.drain()).toEqual(['succeeded']);
    expect([...starts.values()]).toEqual([1]);
    expect((await runtime.allRuns()).map((run) => [run.runId, run.status])).toEqual([
      ['crashy@2026-11-30T23:59:59.000Z', 'succeeded'],
    ]);
  });

  it('a tick that dies after its records but before its advance sent nothing: the next tick sends them once', async () => {
    const clock = new ManualClock(T0);
    let crashes = 1;
    const { starts, handlers } = countingHandlers();
    runtime = await testRuntime({
      clock: clock.fn,
      handlers,
      tick: { lookaheadMs: 0 },
      faults: {
        beforeAdvance: () => {
          if (crashes-- > 0) throw new Error('injected crash before advance');
        },
      },
    });
    await put(
      runtime,
      job('twice-planned', { schedule: 'rate(1 minute)', target: { type: 'handler', name: 'count' } }),
      T0 - 1000,
    );

    const first = await runtime.tick();
    expect(first.errors.map((error) => error.error)).toEqual(['injected crash before advance']);
    expect((await runtime.store.getJob('twice-planned'))?.nextRunAt).toBe('2026-11-30T23:59:59.000Z');
    expect(await runtime.drain()).toEqual([]);

    // No lease to wait out: the next tick plans the same slot, finds its record and sends it.
    const second = await runtime.tick();
    expect(second.slotsDispatched).toBe(1);
    expect(await runtime.drain()).toEqual(['succeeded']);
    expect([...starts.values()]).toEqual([1]);
    expect((await runtime.store.getJob('twice-planned'))?.nextRunAt).toBe('2026-12-01T00:00:59.000Z');
  });

  it('of two ticks that planned the same slots, only the one whose advance lands sends them', async () => {
    const clock = new ManualClock(T0);
    const { starts, handlers } = countingHandlers();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let waiting = 0;
    runtime = await testRuntime({
      clock: clock.fn,
      handlers,
      tick: { lookaheadMs: 0 },
      faults: {
        // Both ticks have read the job and written (or found) its records before either advances.
        beforeAdvance: () => {
          waiting += 1;
          if (waiting === 2) release();
        },
      },
    });
    await put(
      runtime,
      job('raced', { schedule: 'rate(1 minute)', target: { type: 'handler', name: 'count' } }),
      T0 - 1000,
    );
    const store = runtime.store;
    const advance = store.advanceJob.bind(store);
    store.advanceJob = async (...args) => {
      await gate;
      return advance(...args);
    };

    const reports = await Promise.all([runtime.tick(), runtime.tick()]);
    expect(reports.map((report) => report.slotsDispatched).sort()).toEqual([0, 1]);
    expect(reports.map((report) => report.contended).sort()).toEqual([0, 1]);
    // One message, one start: the loser sent nothing.
    expect(await runtime.drain()).toEqual(['succeeded']);
    expect([...starts.values()]).toEqual([1]);
  });
});

describe('sweep', () => {
  it('re-sends a run whose message vanished from the queue', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0, deliveryGraceMs: 10_000 } });
    await put(runtime, job('vanish', { schedule: 'rate(5 minutes)' }), T0 - 1000);
    await runtime.tick();
    expect(await loseMessages(runtime)).toBe(1);

    clock.advance(11_000);
    const report = await runtime.tick();
    const outcomes = await runtime.drain();

    expect(report.sweep.resent).toBe(1);
    expect(outcomes).toEqual(['succeeded']);
  });

  it('records missed(lost) when a vanished message is found past its starting deadline', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0, deliveryGraceMs: 10_000 } });
    await put(runtime, job('vanish-late', { schedule: 'rate(1 hour)', startingDeadline: '30s' }), T0 - 1000);
    await runtime.tick();
    expect(await loseMessages(runtime)).toBe(1);

    clock.advance(40_000);
    const report = await runtime.tick();

    expect(report.sweep.missed).toBe(1);
    expect(byStatus(await runtime.allRuns())).toEqual({ 'missed(lost)': 1 });
  });
});

describe('catch-up', () => {
  async function sixPastDue(fields: Record<string, unknown>) {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('behind', { schedule: 'rate(1 minute)', ...fields }), T0);
    clock.set(T0 + 5 * 60_000 + 30_000);
    const report = await runtime.tick();
    return { report, runs: await runtime.allRuns() };
  }

  it('skip: records every past-due slot missed(catch-up-skip) and runs none', async () => {
    const { runs } = await sixPastDue({ catchUp: 'skip' });
    expect(byStatus(runs)).toEqual({ 'missed(catch-up-skip)': 6 });
  });

  it('latest: runs the newest slot and records the older ones missed(coalesced)', async () => {
    const { runs } = await sixPastDue({ catchUp: 'latest' });
    expect(byStatus(runs)).toEqual({ dispatched: 1, 'missed(coalesced)': 5 });
    expect(runs.find((run) => run.status === 'dispatched')?.scheduledAt).toBe('2026-12-01T00:05:00.000Z');
  });

  it('all + maxCatchUp: runs the oldest maxCatchUp slots, records the rest missed(catch-up-limit)', async () => {
    const { runs } = await sixPastDue({ catchUp: 'all', maxCatchUp: 3 });
    expect(byStatus(runs)).toEqual({ dispatched: 3, 'missed(catch-up-limit)': 3 });
    expect(runs.filter((run) => run.status === 'dispatched').map((run) => run.scheduledAt)).toEqual([
      '2026-12-01T00:00:00.000Z',
      '2026-12-01T00:01:00.000Z',
      '2026-12-01T00:02:00.000Z',
    ]);
  });

  it('keeps the cadence on its anchor after catching up', async () => {
    await sixPastDue({ catchUp: 'latest' });
    const item = await runtime!.store.getJob('behind');
    expect(item?.anchor).toBe('2026-12-01T00:00:00.000Z');
    expect(item?.nextRunAt).toBe('2026-12-01T00:06:00.000Z');
    expect(item?.counts?.missed).toBe(5);
  });
});

describe('a backlog longer than one tick', () => {
  it('latest: runs the newest slot on the first tick and records the 2,000 older ones over the next ticks', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0, maxSlotsPerJob: 500 } });
    await put(runtime, job('chatty', { schedule: 'rate(1 second)' }), T0);
    clock.set(T0 + 2_000_000);

    const first = await runtime.tick();
    const firstRuns = await runtime.allRuns();
    const later = [];
    for (let i = 0; i < 5; i++) later.push(await runtime.tick());

    expect(first.slotsDispatched).toBe(1);
    expect(firstRuns.filter((run) => run.status === 'dispatched').map((run) => run.scheduledAt)).toEqual([
      '2026-12-01T00:33:20.000Z',
    ]);
    expect(later.map((report) => report.slotsRecorded)).toEqual([500, 500, 500, 500, 0]);
    const runs = await runtime.allRuns();
    expect(byStatus(runs)).toEqual({ dispatched: 1, 'missed(coalesced)': 2000 });
    expect(new Set(runs.map((run) => run.runId)).size).toBe(2001);
    const item = await runtime.store.getJob('chatty');
    expect(item?.deferred).toBeUndefined();
    expect(item?.nextRunAt).toBe('2026-12-01T00:33:21.000Z');
    expect(item?.counts?.missed).toBe(2000);
  });
});

describe('lookahead', () => {
  it('sends a future slot ahead with DelaySeconds; the run starts at its second, never before', async () => {
    const now = Date.now();
    const slot = Math.ceil(now / 1000) * 1000 + 3_000;
    runtime = await testRuntime({ tick: { lookaheadMs: 5_000 } });
    await put(
      runtime,
      job('ahead', { schedule: 'rate(1 hour)', startAt: new Date(slot).toISOString() }),
      now,
    );

    const report = await runtime.tick();
    const early = await runtime.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: runtime.pools[0]!.queueUrl, WaitTimeSeconds: 0 }),
    );
    let outcomes: string[] = [];
    for (let i = 0; i < 40 && outcomes.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      outcomes = await runtime.drain();
    }

    expect(report.slotsDispatched).toBe(1);
    expect(early.Messages ?? []).toHaveLength(0);
    expect(outcomes).toEqual(['succeeded']);
    const [run] = await runtime.allRuns();
    const lag = Date.parse(run!.startedAt!) - slot;
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(1_000);
  });
});

describe('the due key (a lower bound of the next slot)', () => {
  it('stays put for an hour while a job fires every minute or five, moves with a daily job, and loses no slot', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    await put(rt, job('minutely', { schedule: 'rate(1 minute)' }), T0 - 1000);
    await put(rt, job('five', { schedule: 'rate(5 minutes)' }), T0 - 1000);
    await put(rt, job('daily', { schedule: 'cron(30 0 * * ? *)' }), T0 - 1000);

    const keys = { minutely: new Set<string>(), five: new Set<string>() };
    const fiveVersions: number[] = [];
    for (let minute = 0; minute <= 70; minute++) {
      clock.set(T0 + minute * 60_000);
      await rt.tick();
      await rt.drain();
      const [minutely, five, daily] = await Promise.all(
        ['minutely', 'five', 'daily'].map((id) => rt.store.getJob(id)),
      );
      keys.minutely.add(minutely!.dueAt!);
      keys.five.add(five!.dueAt!);
      fiveVersions.push(five!.version);
      for (const item of [minutely!, five!, daily!]) expect(item.dueAt! <= item.nextRunAt!).toBe(true);
      // A job that does not step by minutes moves its key to every next slot, as before.
      expect(daily!.dueAt).toBe(daily!.nextRunAt);
    }

    // 71 advances of the minutely job: its key moved once, after an hour (each move is 2 index writes).
    expect(keys.minutely.size).toBe(2);
    expect(keys.five.size).toBe(2);
    // The five-minute job is found every tick but claimed only when a slot is due: its version moves
    // once every five ticks (a claim that finds nothing due would write twice for nothing).
    expect(new Set(fiveVersions).size).toBe(15);
    const runs = await rt.allRuns();
    const count = (id: string) => runs.filter((run) => run.jobId === id && run.status === 'succeeded').length;
    expect(count('minutely')).toBe(71);
    expect(count('five')).toBe(15);
    expect(count('daily')).toBe(1);
    expect(runs.every((run) => run.status === 'succeeded')).toBe(true);
  }, 240_000);
});

describe('bad items', () => {
  it('marks a corrupt job item invalid and dispatches every other job', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    for (const id of ['good-1', 'broken', 'good-2'])
      await put(runtime, job(id, { schedule: 'rate(1 minute)' }), T0 - 1000);
    await runtime.store.doc.send(
      new UpdateCommand({
        TableName: runtime.state.tableName,
        Key: jobKey('broken'),
        UpdateExpression: 'SET #d.#s = :bad',
        ExpressionAttributeNames: { '#d': 'definition', '#s': 'schedule' },
        ExpressionAttributeValues: { ':bad': 'rate(banana)' },
      }),
    );

    const report = await runtime.tick();

    expect(report.invalidJobs).toBe(1);
    expect(report.slotsDispatched).toBe(2);
    const broken = await runtime.store.getJob('broken');
    expect(broken?.invalid?.error).toContain('rate(banana)');
    expect(broken?.dueAt).toBeUndefined();
    expect(
      runtime.signals.events
        .filter((event) => event.type === 'Job Invalid')
        .map((event) => event.detail.jobId),
    ).toEqual(['broken']);
    expect(runtime.signals.sum('InvalidJobs')).toBe(1);
    const second = await runtime.tick();
    expect(second.invalidJobs).toBe(0);
  });
});

describe('metrics an idle stack pays for', () => {
  it('a tick with nothing to do publishes the heartbeat alone; counts appear only when non-zero', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });

    await runtime.tick();
    clock.advance(60_000);
    await runtime.tick();

    // CloudWatch bills each metric for every hour it gets a datapoint: zeros every minute would cost
    // $0.30 a metric-month on a stack with nothing to run.
    expect([...new Set(runtime.signals.metrics.map((metric) => metric.name))]).toEqual(['TickHeartbeat']);

    await put(runtime, job('busy', { schedule: 'rate(1 minute)' }), clock.now - 1000);
    clock.advance(60_000);
    await runtime.tick();
    expect(runtime.signals.sum('SlotsClaimed')).toBeGreaterThan(0);
  });
});
