/**
 * Several specs on one job (issue 20 feature 3) against DynamoDB Local and the SQS emulator: `schedule`
 * lists expressions; the slots are their union, deduplicated, run ids stay `jobId@slot`, and catch-up and
 * overlap apply to the union.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { validateJob } from '../../shared/jobs/index.js';
import { describeJob } from '../../shared/ops/jobs.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import { byStatus, job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

const MINUTE = 60_000;

/** A handler that blocks until the test opens its gate. */
function gatedHandlers() {
  const starts: string[] = [];
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const handlers = builtinHandlers();
  handlers.register('gate', async (context) => {
    starts.push(context.runId);
    await gate;
  });
  return { starts, handlers, open: () => open() };
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a job with several schedules', () => {
  it('runs the union of the slots once each; an instant both name is one run', async () => {
    // prepare: every 2 and every 3 minutes meet at :00 and :06
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('both', { schedule: ['cron(0/2 * * * ? *)', 'cron(0/3 * * * ? *)'] }), T0);

    // act: a tick a minute for six minutes
    for (let i = 0; i <= 6; i++) {
      await runtime.tick();
      await runtime.drain();
      clock.advance(MINUTE);
    }

    // assert
    const runs = await runtime.allRuns();
    expect(runs.map((r) => `${r.runId} ${r.status}`)).toEqual([
      'both@2026-12-01T00:00:00.000Z succeeded',
      'both@2026-12-01T00:02:00.000Z succeeded',
      'both@2026-12-01T00:03:00.000Z succeeded',
      'both@2026-12-01T00:04:00.000Z succeeded',
      'both@2026-12-01T00:06:00.000Z succeeded',
    ]);
  });

  it('applies catch-up to the union after an outage: latest runs the newest slot of either', async () => {
    // prepare
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(runtime, job('weekly', { schedule: ['cron(0/20 * * * ? *)', 'cron(5 * * * ? *)'] }), T0);
    await runtime.tick();
    await runtime.drain();

    // act: no tick for 66 minutes
    clock.advance(66 * MINUTE);
    await runtime.tick();
    await runtime.drain();

    // assert
    const runs = await runtime.allRuns();
    expect(runs.map((r) => `${r.scheduledAt} ${r.status}(${r.reason})`)).toEqual([
      '2026-12-01T00:00:00.000Z succeeded(ok)',
      '2026-12-01T00:05:00.000Z missed(coalesced)',
      '2026-12-01T00:20:00.000Z missed(coalesced)',
      '2026-12-01T00:40:00.000Z missed(coalesced)',
      '2026-12-01T01:00:00.000Z missed(coalesced)',
      '2026-12-01T01:05:00.000Z succeeded(ok)',
    ]);
    expect((await runtime.store.getJob('weekly'))?.nextRunAt).toBe('2026-12-01T01:20:00.000Z');
  });

  it('applies overlap to the union: a slot of the other expression while a run is running is skipped', async () => {
    // prepare: a run that holds until released
    const clock = new ManualClock(T0);
    const gated = gatedHandlers();
    runtime = await testRuntime({ clock: clock.fn, handlers: gated.handlers, tick: { lookaheadMs: 0 } });
    const rt = runtime;
    const target = { type: 'handler', name: 'gate' };
    await put(rt, job('busy', { schedule: ['rate(10 minutes)', 'cron(1 * * * ? *)'], target }), T0);
    await rt.tick();
    const first = rt.drain();
    await waitFor(async () => gated.starts.length === 1, 'the first run to start');

    // act: the 00:01 slot of the second expression comes while 00:00 is still running
    clock.advance(MINUTE);
    await rt.tick();
    const second = await rt.drain();
    gated.open();
    await first;

    // assert
    expect(second).toEqual(['skipped']);
    expect(byStatus(await rt.allRuns())).toEqual({ 'succeeded(ok)': 1, 'skipped(overlap)': 1 });
    expect(gated.starts).toEqual(['busy@2026-12-01T00:00:00.000Z']);
  });

  it('shows the union in jobs get: the list as written and the next slots of both', async () => {
    // prepare
    runtime = await testRuntime();
    await put(
      runtime,
      job('shop', {
        schedule: ['cron(0 9 ? * MON-FRI *)', 'cron(0 12 ? * SAT *)'],
        timezone: 'Europe/London',
      }),
      Date.parse('2026-12-04T10:00:00Z'),
    );

    // act
    const description = await describeJob(runtime.store, 'shop', Date.parse('2026-12-04T10:00:00Z'));

    // assert
    expect(description.definition?.schedule).toEqual(['cron(0 9 ? * MON-FRI *)', 'cron(0 12 ? * SAT *)']);
    expect(description.nextSlots.slice(0, 3)).toEqual([
      '2026-12-05T12:00:00.000Z',
      '2026-12-07T09:00:00.000Z',
      '2026-12-08T09:00:00.000Z',
    ]);
  });

  it('refuses a bad list naming each expression by its index, the value and the rule', () => {
    // act
    const result = validateJob({
      id: 'a',
      schedule: ['rate(5 minutes)', 'cron(61 * * * ? *)', 'rate(5 minutes)'],
      target: { type: 'handler', name: 'noop' },
    });
    const tooMany = validateJob({
      id: 'a',
      schedule: Array.from({ length: 11 }, (_, i) => `cron(${i} * * * ? *)`),
      target: { type: 'handler', name: 'noop' },
    });

    // assert
    const lines = (r: typeof result) =>
      r.ok ? [] : r.violations.map((v) => `${v.path} ${JSON.stringify(v.value)}: ${v.message}`);
    expect(lines(result)).toEqual([
      expect.stringMatching(/^schedule\[1\] "cron\(61 \* \* \* \? \*\)": .*minute/),
      'schedule[2] "rate(5 minutes)": repeats schedule[0]',
    ]);
    expect(lines(tooMany)).toEqual([expect.stringMatching(/^schedule .*10/)]);
  });
});
