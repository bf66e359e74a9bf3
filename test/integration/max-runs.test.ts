/**
 * Run limits (issue 20 feature 4) against DynamoDB Local and the SQS emulator: `maxRuns: N` counts the
 * scheduled runs that started; the job ends after its Nth, a slot claimed before the limit was reached
 * is recorded skipped(max-runs), and no later slot is owed.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { validateJob } from '../../shared/jobs/index.js';
import { triggerJob } from '../../shared/ops/jobs.js';
import { silentLog } from '../../shared/runs/lifecycle.js';
import { byStatus, job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

const MINUTE = 60_000;

describe('maxRuns', () => {
  it('ends the job after its Nth scheduled run started; manual runs do not count; later slots are not owed', async () => {
    // prepare
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('twice', { schedule: 'rate(1 minute)', maxRuns: 2 }), T0);
    const deps = {
      store: runtime.store,
      dispatcher: runtime.dispatcher,
      signals: runtime.signals,
      pools: runtime.routing,
      log: silentLog,
    };

    // act: slot 1, a manual run, slot 2, then five more minutes of ticks
    await runtime.tick();
    await runtime.drain();
    clock.advance(10_000);
    await triggerJob(deps, 'twice', clock.now);
    await runtime.drain();
    clock.advance(MINUTE - 10_000);
    await runtime.tick();
    await runtime.drain();
    for (let i = 0; i < 5; i++) {
      clock.advance(MINUTE);
      await runtime.tick();
      await runtime.drain();
    }

    // assert
    const runs = await runtime.allRuns();
    expect(runs.map((r) => `${r.runId} ${r.status}`)).toEqual([
      'twice@2026-12-01T00:00:00.000Z succeeded',
      'twice@manual-2026-12-01T00:00:10.000Z succeeded',
      'twice@2026-12-01T00:01:00.000Z succeeded',
    ]);
    const item = await runtime.store.getJob('twice');
    expect(item?.runsStarted).toBe(2);
    expect(item?.nextRunAt).toBeUndefined();
    expect(item?.dueAt).toBeUndefined();
  });

  it('records a slot claimed before the limit was reached skipped(max-runs), never run', async () => {
    // prepare: two slots claimed and sent before either starts
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('once', { schedule: 'rate(1 minute)', maxRuns: 1, overlap: 'allow' }), T0);
    await runtime.tick();
    clock.advance(MINUTE);
    await runtime.tick();

    // act
    await runtime.drain();
    clock.advance(MINUTE);
    await runtime.tick();
    await runtime.drain();

    // assert: every slot claimed has one fate; nothing after the limit was claimed
    const runs = await runtime.allRuns();
    expect(byStatus(runs)).toEqual({ 'succeeded(ok)': 1, 'skipped(max-runs)': 1 });
    expect(runs).toHaveLength(2);
    expect((await runtime.store.getJob('once'))?.nextRunAt).toBeUndefined();
  });

  it('does not count for a job without maxRuns (no write beyond what a start costs)', async () => {
    // prepare
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('free', { schedule: 'rate(1 minute)' }), T0);

    // act
    await runtime.tick();
    await runtime.drain();

    // assert
    const item = await runtime.store.getJob('free');
    expect(item?.runsStarted).toBeUndefined();
    expect(item?.nextRunAt).toBe('2026-12-01T00:01:00.000Z');
  });

  it('refuses a maxRuns that is not a whole number from 1, naming field, value and rule', () => {
    // act
    const results = [0, 1.5, '3', 1_000_001].map((maxRuns) =>
      validateJob({
        id: 'a',
        schedule: 'rate(1 minute)',
        target: { type: 'handler', name: 'noop' },
        maxRuns,
      }),
    );

    // assert
    const messages = results.map((r) =>
      r.ok ? 'ok' : r.violations.map((v) => `${v.path} ${JSON.stringify(v.value)}: ${v.message}`).join('; '),
    );
    expect(messages).toEqual([
      expect.stringMatching(/^maxRuns 0: .*1/),
      expect.stringMatching(/^maxRuns 1\.5: .*whole/),
      expect.stringMatching(/^maxRuns "3": .*number/),
      expect.stringMatching(/^maxRuns 1000001: .*1000000/),
    ]);
  });
});

describe('afterLastRun', () => {
  it('delete: an at() job is deleted once its run has a final fate; its run record stays', async () => {
    // prepare
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('one-shot', { schedule: 'at(2026-12-01T00:01:00)', afterLastRun: 'delete' }), T0);
    await put(runtime, job('kept', { schedule: 'at(2026-12-01T00:01:00)' }), T0);

    // act
    clock.advance(MINUTE);
    await runtime.tick();
    const beforeRun = await runtime.store.getJob('one-shot');
    await runtime.drain();

    // assert: still there while its run was open; gone after; the default keeps the job
    expect(beforeRun?.nextRunAt).toBeUndefined();
    expect(await runtime.store.getJob('one-shot')).toBeUndefined();
    expect((await runtime.store.getRun('one-shot@2026-12-01T00:01:00.000Z'))?.status).toBe('succeeded');
    expect((await runtime.store.getJob('kept'))?.counts).toEqual({ succeeded: 1 });
  });

  it('delete with maxRuns: the job goes when the tick finds its limit reached and no run open', async () => {
    // prepare
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(
      runtime,
      job('limited', {
        schedule: 'rate(1 minute)',
        maxRuns: 2,
        afterLastRun: 'delete',
        tags: { team: 'growth' },
      }),
      T0,
    );

    // act
    await runtime.tick();
    await runtime.drain();
    clock.advance(MINUTE);
    await runtime.tick();
    await runtime.drain();
    const afterSecond = await runtime.store.getJob('limited');
    clock.advance(MINUTE);
    await runtime.tick();

    // assert
    expect(afterSecond?.runsStarted).toBe(2);
    expect(await runtime.store.getJob('limited')).toBeUndefined();
    expect(byStatus(await runtime.allRuns())).toEqual({ 'succeeded(ok)': 2 });
    expect((await runtime.store.queryTagged('team', 'growth', { limit: 10 })).items).toEqual([]);
  });

  it('delete: the definition item the job referenced gets its TTL in the same write (issue 17 defect 7; the model test found it)', async () => {
    // prepare: a payload in the job's definition item
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(
      runtime,
      job('report-once', {
        schedule: 'at(2026-12-01T00:01:00)',
        afterLastRun: 'delete',
        payload: { pad: 'p'.repeat(60 * 1024) },
      }),
      T0,
    );
    const definitionId = (await runtime.store.getJob('report-once'))?.definitionId;
    const definitions = async () =>
      ((await runtime!.dynamo.send(new ScanCommand({ TableName: runtime!.state.tableName }))).Items ?? [])
        .map((item) => unmarshall(item))
        .filter((item) => item.type === 'definition' && item.jobId === 'report-once');

    // act
    clock.advance(MINUTE);
    await runtime.tick();
    const whileOpen = await definitions();
    await runtime.drain();

    // assert: the job is gone; its definition item expires a day after its run record does (before: no
    // TTL, kept for ever)
    expect(definitionId).toEqual(expect.any(String));
    expect(whileOpen.map((item) => item.expiresAt)).toEqual([undefined]);
    expect(await runtime.store.getJob('report-once')).toBeUndefined();
    const run = await runtime.store.getRun('report-once@2026-12-01T00:01:00.000Z');
    expect(run?.status).toBe('succeeded');
    const [definition] = await definitions();
    expect(definition?.definitionId).toBe(definitionId);
    expect(definition?.expiresAt).toBe(Math.floor(clock.now / 1000) + 30 * 86_400 + 86_400);
    expect(definition?.expiresAt).toBeGreaterThan(run?.expiresAt ?? Number.POSITIVE_INFINITY);
  });

  it('refuses an afterLastRun other than delete or keep, naming field, value and rule', () => {
    // act
    const result = validateJob({
      id: 'a',
      schedule: 'rate(1 minute)',
      target: { type: 'handler', name: 'noop' },
      afterLastRun: 'remove',
    });

    // assert
    expect(
      result.ok ? [] : result.violations.map((v) => `${v.path} ${JSON.stringify(v.value)}: ${v.message}`),
    ).toEqual([expect.stringMatching(/^afterLastRun "remove": .*delete.*keep/)]);
  });
});
