/**
 * Exclusion calendars (issue 20 feature 2) against DynamoDB Local and the SQS emulator: a slot a calendar
 * the job excludes is recorded skipped(calendar) with the calendar's name, never run; the cadence keeps
 * its anchor; an edit applies from the next slot a tick claims; the tick reads the calendars once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { CalendarInUseError, JobValidationError } from '../../shared/errors.js';
import { parseJobsDocument } from '../../shared/jobs/index.js';
import { deleteCalendar, putCalendar } from '../../shared/ops/calendars.js';
import { describeJob, pauseJob } from '../../shared/ops/jobs.js';
import { byStatus, job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('exclusion calendars', () => {
  it('records an excluded slot skipped(calendar) with the name, never run; the cadence keeps its anchor', async () => {
    // prepare: hourly from 22:00 on 24 December; the 25th is a holiday (London, UTC in winter)
    const start = Date.parse('2026-12-24T22:00:00Z');
    const clock = new ManualClock(start);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await putCalendar(
      runtime.store,
      'uk-holidays',
      { timezone: 'Europe/London', dates: ['2026-12-25'] },
      start,
    );
    await put(runtime, job('hourly', { schedule: 'rate(1 hour)', exclude: ['uk-holidays'] }), start);

    // act: ticks at 22:00, 23:00, 00:00 (the 25th) and, 24 h later, the 26th 00:00 after an outage
    for (let i = 0; i < 3; i++) {
      await runtime.tick();
      await runtime.drain();
      clock.advance(HOUR);
    }
    clock.set(Date.parse('2026-12-26T00:00:00Z'));
    await runtime.tick();
    await runtime.drain();

    // assert
    const runs = await runtime.allRuns();
    const fate = (iso: string) => {
      const run = runs.find((r) => r.scheduledAt === iso);
      return run ? `${run.status}(${run.reason}${run.calendar ? ` ${run.calendar}` : ''})` : 'none';
    };
    expect(fate('2026-12-24T22:00:00.000Z')).toBe('succeeded(ok)');
    expect(fate('2026-12-24T23:00:00.000Z')).toBe('succeeded(ok)');
    expect(fate('2026-12-25T00:00:00.000Z')).toBe('skipped(calendar uk-holidays)');
    // The outage's slots of the 25th are the calendar's, not catch-up's; the 26th runs.
    expect(fate('2026-12-25T12:00:00.000Z')).toBe('skipped(calendar uk-holidays)');
    expect(fate('2026-12-26T00:00:00.000Z')).toBe('succeeded(ok)');
    expect(byStatus(runs)).toEqual({ 'succeeded(ok)': 3, 'skipped(calendar)': 24 });
    // The anchor did not move: the next slot is on the hour grid.
    expect((await runtime.store.getJob('hourly'))?.nextRunAt).toBe('2026-12-26T01:00:00.000Z');
  });

  it('catch-up latest whose newest owed slot is excluded runs nothing (the documented choice): older slots missed(coalesced)', async () => {
    // prepare: hourly from 20:00 on 24 December; an outage until the 25th 00:30, a holiday
    const start = Date.parse('2026-12-24T20:00:00Z');
    const clock = new ManualClock(start);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await putCalendar(runtime.store, 'xmas', { timezone: 'UTC', dates: ['2026-12-25'] }, start);
    await put(
      runtime,
      job('latest', { schedule: 'rate(1 hour)', catchUp: 'latest', exclude: ['xmas'] }),
      start,
    );
    await runtime.tick();
    await runtime.drain();

    // act: the next tick comes at 00:30 on the 25th: 21:00, 22:00, 23:00 and 00:00 are owed
    clock.set(Date.parse('2026-12-25T00:30:00Z'));
    await runtime.tick();
    await runtime.drain();

    // assert: the newest (00:00) is the calendar's; catch-up coalesced the older ones into it
    const runs = await runtime.allRuns();
    const fate = (iso: string) => {
      const run = runs.find((r) => r.scheduledAt === iso);
      return run ? `${run.status}(${run.reason})` : 'none';
    };
    expect(fate('2026-12-24T20:00:00.000Z')).toBe('succeeded(ok)');
    for (const hour of ['21', '22', '23'])
      expect(fate(`2026-12-24T${hour}:00:00.000Z`)).toBe('missed(coalesced)');
    expect(fate('2026-12-25T00:00:00.000Z')).toBe('skipped(calendar)');
    expect(byStatus(runs)).toEqual({ 'succeeded(ok)': 1, 'missed(coalesced)': 3, 'skipped(calendar)': 1 });
  });

  it('excludes by range and by cron expression, each in its zone', async () => {
    // prepare: every 30 minutes; a night-time cron (New York) and a range (Berlin) exclude
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    // 2026-12-01T00:00Z is 19:00 in New York: 19:00–19:59 local is excluded by the cron.
    await putCalendar(
      runtime.store,
      'ny-evening',
      { timezone: 'America/New_York', cron: ['cron(* 19 * * ? *)'] },
      T0,
    );
    // 02:00–02:30 Berlin is 01:00–01:30 UTC: [01:00, 01:30) excluded.
    await putCalendar(
      runtime.store,
      'berlin-window',
      { timezone: 'Europe/Berlin', ranges: [{ from: '2026-12-01T02:00', to: '2026-12-01T02:30' }] },
      T0,
    );
    await put(
      runtime,
      job('half-hourly', { schedule: 'rate(30 minutes)', exclude: ['ny-evening', 'berlin-window'] }),
      T0,
    );

    // act
    for (let i = 0; i <= 4; i++) {
      await runtime.tick();
      await runtime.drain();
      clock.advance(30 * MINUTE);
    }

    // assert
    const runs = await runtime.allRuns();
    expect(runs.map((r) => `${r.scheduledAt.slice(11, 16)} ${r.status} ${r.calendar ?? ''}`.trim())).toEqual([
      '00:00 skipped ny-evening',
      '00:30 skipped ny-evening',
      '01:00 skipped berlin-window',
      '01:30 succeeded',
      '02:00 succeeded',
    ]);
  });

  it('applies an edit of the calendar from the next slot a tick claims', async () => {
    // prepare
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await putCalendar(runtime.store, 'freeze', { dates: ['2026-12-31'] }, T0);
    await put(runtime, job('minutely', { schedule: 'rate(1 minute)', exclude: ['freeze'] }), T0);
    await runtime.tick();
    await runtime.drain();

    // act: the freeze is moved onto today
    await putCalendar(runtime.store, 'freeze', { dates: ['2026-12-01'] }, T0 + 1000);
    clock.advance(MINUTE);
    await runtime.tick();
    await runtime.drain();

    // assert
    const runs = await runtime.allRuns();
    expect(runs.map((r) => `${r.status}(${r.reason})`)).toEqual(['succeeded(ok)', 'skipped(calendar)']);
  });

  it('reads the calendars once per tick, not once per job', async () => {
    // prepare: 20 jobs due that exclude the same calendar
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await putCalendar(runtime.store, 'none-today', { dates: ['2027-01-01'] }, T0);
    for (let i = 0; i < 20; i++)
      await put(runtime, job(`j${i}`, { schedule: 'rate(1 minute)', exclude: ['none-today'] }), T0);
    const store = runtime.store;
    const original = store.listCalendars.bind(store);
    let reads = 0;
    store.listCalendars = async () => {
      reads += 1;
      return original();
    };

    // act
    clock.advance(MINUTE);
    await runtime.tick();

    // assert
    expect(reads).toBe(1);
  });

  it('refuses a job that excludes an unknown calendar, and marks one whose calendar was deleted invalid', async () => {
    // prepare
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await putCalendar(runtime.store, 'gone-soon', { dates: ['2027-01-01'] }, T0);
    await put(runtime, job('orphan', { schedule: 'rate(1 minute)', exclude: ['gone-soon'] }), T0);

    // act
    const refused = await put(
      runtime,
      job('bad', { schedule: 'rate(1 minute)', exclude: ['nope'] }),
      T0,
    ).catch((error: unknown) => error);
    await runtime.store.deleteCalendar('gone-soon');
    clock.advance(MINUTE);
    await runtime.tick();

    // assert
    expect(refused).toBeInstanceOf(JobValidationError);
    expect((refused as JobValidationError).violations).toEqual([
      {
        path: 'exclude[0]',
        value: 'nope',
        message: 'is not a calendar of this deployment (calendars: gone-soon)',
      },
    ]);
    expect((await runtime.store.getJob('orphan'))?.invalid?.error).toContain('calendar "gone-soon"');
  });

  // A backlog longer than maxSlotsPerJob (500) is cut into a deferred range and recorded a page per tick
  // (shared/tick/tick.ts planFor): those slots are the calendar's too, whatever the catch-up policy.
  it.each([
    // latest: the newest slot (10:00) runs; older ones missed(coalesced)
    { catchUp: 'latest', ran: 1, missed: 'missed(coalesced)', missedCount: 599 - 120 },
    // skip: nothing past due runs; every slot up to 10:00 missed(catch-up-skip)
    { catchUp: 'skip', ran: 0, missed: 'missed(catch-up-skip)', missedCount: 600 - 120 },
    // all (maxCatchUp 3): the 3 oldest are past their starting deadline (missed(deadline)); the rest up to
    // 10:00 missed(catch-up-limit)
    { catchUp: 'all', ran: 0, missed: 'missed(catch-up-limit)', missedCount: 597 - 120, deadline: 3 },
  ])(
    'a $catchUp backlog of 600 slots (> 500 a tick) records its excluded slots skipped(calendar), a page per tick',
    async ({ catchUp, ran, missed, missedCount, deadline }) => {
      // prepare: every minute; maintenance [02:00, 04:00) UTC excludes 120 of them; the tick stops after 00:00
      const clock = new ManualClock(T0);
      runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
      await putCalendar(
        runtime.store,
        'maintenance',
        { ranges: [{ from: '2026-12-01T02:00', to: '2026-12-01T04:00' }] },
        T0,
      );
      await put(
        runtime,
        job('minutely', { schedule: 'rate(1 minute)', catchUp, maxCatchUp: 3, exclude: ['maintenance'] }),
        T0,
      );
      await runtime.tick();
      await runtime.drain();

      // act: the tick is back at 10:00 (600 slots owed: 00:01 to 10:00); ticks until the backlog is written
      clock.set(T0 + 10 * HOUR);
      const reports = [];
      for (let i = 0; i < 4; i++) {
        reports.push(await runtime.tick());
        await runtime.drain();
      }

      // assert: every owed slot has one record; the 120 in the window are the calendar's, named
      expect(reports[0]?.slotsDispatched).toBe(ran);
      expect(reports.map((report) => report.slotsRecorded).every((n) => n <= 500)).toBe(true);
      const runs = (await runtime.allRuns()).filter((run) => run.scheduledAt > '2026-12-01T00:00:00.000Z');
      expect(runs).toHaveLength(600);
      expect(byStatus(runs)).toEqual({
        ...(ran ? { 'succeeded(ok)': ran } : {}),
        ...(deadline ? { 'missed(deadline)': deadline } : {}),
        'skipped(calendar)': 120,
        [missed]: missedCount,
      });
      const skipped = runs.filter((run) => run.status === 'skipped');
      expect(skipped.every((run) => run.calendar === 'maintenance')).toBe(true);
      expect(skipped[0]?.scheduledAt).toBe('2026-12-01T02:00:00.000Z');
      expect(skipped.at(-1)?.scheduledAt).toBe('2026-12-01T03:59:00.000Z');
      const item = await runtime.store.getJob('minutely');
      expect(item?.deferred).toBeUndefined();
      expect(item?.counts).toMatchObject({ skipped: 120, missed: missedCount + (deadline ?? 0) });
      expect(item?.nextRunAt).toBe('2026-12-01T10:01:00.000Z');
    },
  );

  it('a backlog range written while the job is paused keeps its calendar', async () => {
    // prepare: a 600-slot backlog is cut on the first tick after the outage; then the job is paused
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await putCalendar(
      runtime.store,
      'maintenance',
      { ranges: [{ from: '2026-12-01T00:30', to: '2026-12-01T01:00' }] },
      T0,
    );
    await put(runtime, job('minutely', { schedule: 'rate(1 minute)', exclude: ['maintenance'] }), T0);
    clock.set(T0 + 10 * HOUR);
    await runtime.tick();
    await runtime.drain();
    await pauseJob(runtime.store, 'minutely', clock.now);

    // act: the paused job's records are written by the next ticks (nothing sent)
    for (let i = 0; i < 3; i++) await runtime.tick();

    // assert
    const runs = await runtime.allRuns();
    expect(runs).toHaveLength(601);
    expect(byStatus(runs)).toEqual({ 'succeeded(ok)': 1, 'skipped(calendar)': 30, 'missed(coalesced)': 570 });
    expect((await runtime.store.getJob('minutely'))?.deferred).toBeUndefined();
  });

  it('a forced delete: the jobs that excluded the calendar are marked invalid and run nothing until it is put back and they are put again', async () => {
    // prepare: a minutely job excludes "freeze" (which excludes nothing today); one slot runs
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await putCalendar(runtime.store, 'freeze', { dates: ['2027-01-01'] }, T0);
    const definition = job('deploys', { schedule: 'rate(1 minute)', exclude: ['freeze'] });
    await put(runtime, definition, T0);
    await runtime.tick();
    await runtime.drain();

    // act: refused, then forced; two ticks pass; the calendar is put back and the job put again
    const refused = await deleteCalendar(runtime.store, 'freeze').catch((error: unknown) => error);
    const forced = await deleteCalendar(runtime.store, 'freeze', { force: true });
    clock.advance(MINUTE);
    const marked = await runtime.tick();
    clock.advance(MINUTE);
    await runtime.tick();
    const invalid = await runtime.store.getJob('deploys');
    const runsWhileInvalid = await runtime.allRuns();
    clock.advance(MINUTE);
    await putCalendar(runtime.store, 'freeze', { dates: ['2027-01-01'] }, clock.now);
    await put(runtime, definition, clock.now);
    await runtime.tick();
    await runtime.drain();

    // assert
    expect(refused).toBeInstanceOf(CalendarInUseError);
    expect((refused as CalendarInUseError).jobIds).toEqual(['deploys']);
    expect(forced).toEqual({ name: 'freeze', deleted: true, excludedBy: ['deploys'] });
    expect(marked.invalidJobs).toBe(1);
    expect(invalid?.invalid?.error).toBe(
      'exclude names calendar "freeze", which does not exist: put it, or edit the job',
    );
    expect(invalid?.dueAt).toBeUndefined();
    expect(runsWhileInvalid.map((run) => `${run.scheduledAt.slice(11, 16)} ${run.status}`)).toEqual([
      '00:00 succeeded',
    ]);
    const after = await runtime.allRuns();
    // Put again, the job's catch-up (latest) takes the slots that passed while it was invalid.
    expect(after.map((run) => `${run.scheduledAt.slice(11, 16)} ${run.status}(${run.reason})`)).toEqual([
      '00:00 succeeded(ok)',
      '00:01 missed(coalesced)',
      '00:02 missed(coalesced)',
      '00:03 succeeded(ok)',
    ]);
    expect((await runtime.store.getJob('deploys'))?.invalid).toBeUndefined();
  });

  it('refuses a bad calendar naming field, value and rule', async () => {
    // prepare
    runtime = await testRuntime();

    // act
    const error = await putCalendar(
      runtime.store,
      'Bad Name',
      {
        timezone: 'Mars/Olympus',
        dates: ['2026-02-30'],
        ranges: [{ from: '2026-12-02', to: '2026-12-01' }],
        cron: ['cron(61 * * * ? *)'],
      },
      T0,
    ).catch((e: unknown) => e);

    // assert
    const lines = (error as JobValidationError).violations.map(
      (v) => `${v.path} ${JSON.stringify(v.value)}: ${v.message}`,
    );
    expect(lines).toEqual([
      'calendars["Bad Name"] "Bad Name": must be 1–64 lowercase letters, digits and - _ ., starting with a letter or digit',
      expect.stringMatching(/^calendars\["Bad Name"\]\.timezone "Mars\/Olympus": is not an IANA time zone/),
      'calendars["Bad Name"].dates[0] "2026-02-30": is not a day of the calendar',
    ]);
  });

  it('shows the excluded slots in jobs get, with the calendar', async () => {
    // prepare: weekdays at 9 in London from Thursday 24 December
    const now = Date.parse('2026-12-24T00:00:00Z');
    runtime = await testRuntime();
    await putCalendar(
      runtime.store,
      'uk-holidays',
      { timezone: 'Europe/London', dates: ['2026-12-25', '2026-12-28'] },
      now,
    );
    await put(
      runtime,
      job('payroll', {
        schedule: 'cron(0 9 ? * MON-FRI *)',
        timezone: 'Europe/London',
        exclude: ['uk-holidays'],
      }),
      now,
    );

    // act
    const description = await describeJob(runtime.store, 'payroll', now);

    // assert
    expect(description.nextSlots.slice(0, 4)).toEqual([
      '2026-12-24T09:00:00.000Z',
      '2026-12-25T09:00:00.000Z',
      '2026-12-28T09:00:00.000Z',
      '2026-12-29T09:00:00.000Z',
    ]);
    expect(description.excludedSlots).toEqual({
      '2026-12-25T09:00:00.000Z': 'uk-holidays',
      '2026-12-28T09:00:00.000Z': 'uk-holidays',
    });
  });

  it('reads calendars: from a jobs file; a job may exclude only one the file declares', () => {
    // act
    const file = parseJobsDocument({
      calendars: { freeze: { ranges: [{ from: '2026-12-20', to: '2027-01-04' }] } },
      jobs: [
        {
          id: 'deploy',
          schedule: 'rate(1 hour)',
          exclude: ['freeze'],
          target: { type: 'handler', name: 'noop' },
        },
      ],
    });
    const error = (() => {
      try {
        parseJobsDocument({
          calendars: { freeze: { dates: ['2026-12-24'] } },
          jobs: [
            {
              id: 'deploy',
              schedule: 'rate(1 hour)',
              exclude: ['frozen'],
              target: { type: 'handler', name: 'noop' },
            },
          ],
        });
      } catch (e) {
        return e as JobValidationError;
      }
    })();

    // assert
    expect(file.calendars?.freeze).toEqual({
      name: 'freeze',
      timezone: 'UTC',
      ranges: [{ from: '2026-12-20', to: '2027-01-04' }],
    });
    expect(error?.violations).toEqual([
      {
        path: 'jobs[0].exclude[0]',
        value: 'frozen',
        message: 'is not declared under calendars: (declared: freeze)',
      },
    ]);
  });
});
