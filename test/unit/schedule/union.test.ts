/** Several expressions on one job (issue 20 feature 3): the slots are the union, deduplicated. */
import { describe, expect, it } from 'vitest';
import { InvalidScheduleError } from '../../../shared/errors.js';
import {
  describeSchedule,
  nextSlot,
  nextSlots,
  parseSchedule,
  planSlots,
  previousSlot,
  slotsBetween,
} from '../../../shared/schedule/index.js';

const at = (iso: string) => Date.parse(iso);
const isos = (slots: number[]) => slots.map((t) => new Date(t).toISOString());

describe('a list of schedules', () => {
  // 2026-12-04 is a Friday.
  const weekdaysAndSaturday = ['cron(0 9 ? * MON-FRI *)', 'cron(0 12 ? * SAT *)'];

  it('names the union of the slots, in order', () => {
    // act
    const schedule = parseSchedule(weekdaysAndSaturday, { timezone: 'Europe/London' });
    const slots = slotsBetween(schedule, at('2026-12-04T00:00:00Z'), Number.POSITIVE_INFINITY, 4);

    // assert
    expect(isos(slots)).toEqual([
      '2026-12-04T09:00:00.000Z',
      '2026-12-05T12:00:00.000Z',
      '2026-12-07T09:00:00.000Z',
      '2026-12-08T09:00:00.000Z',
    ]);
    expect(describeSchedule(schedule)).toBe(
      'cron 0 9 ? * MON-FRI * (Europe/London): weekdays at 09:00 + cron 0 12 ? * SAT * (Europe/London)',
    );
  });

  it('makes one slot of an instant two expressions both name', () => {
    // prepare: every 30 minutes and hourly meet on the hour
    const schedule = parseSchedule(['cron(0/30 * * * ? *)', 'cron(0 * * * ? *)', 'rate(20 minutes)'], {
      anchor: at('2026-12-01T00:00:00Z'),
    });

    // act
    const slots = slotsBetween(schedule, at('2026-12-01T00:00:00Z') - 1, at('2026-12-01T01:00:00Z'));

    // assert
    expect(isos(slots)).toEqual([
      '2026-12-01T00:00:00.000Z',
      '2026-12-01T00:20:00.000Z',
      '2026-12-01T00:30:00.000Z',
      '2026-12-01T00:40:00.000Z',
      '2026-12-01T01:00:00.000Z',
    ]);
    expect(previousSlot(schedule, at('2026-12-01T00:35:00Z'))).toBe(at('2026-12-01T00:30:00Z'));
  });

  it('keeps the window over the union; at() parts end on their own', () => {
    // prepare
    const schedule = parseSchedule(['at(2026-12-01T06:00:00)', 'cron(0 12 * * ? *)'], {
      startAt: at('2026-12-01T00:00:00Z'),
      endAt: at('2026-12-02T13:00:00Z'),
    });

    // act
    const slots = slotsBetween(schedule, 0, Number.POSITIVE_INFINITY, 10);

    // assert
    expect(isos(slots)).toEqual([
      '2026-12-01T06:00:00.000Z',
      '2026-12-01T12:00:00.000Z',
      '2026-12-02T12:00:00.000Z',
    ]);
    expect(nextSlot(schedule, at('2026-12-02T12:00:00Z'))).toBeUndefined();
  });

  it('applies catch-up to the union: latest runs the newest past-due slot of either expression', () => {
    // prepare: an hour missed of two expressions
    const schedule = parseSchedule(['cron(0/20 * * * ? *)', 'cron(5 * * * ? *)']);

    // act
    const plan = planSlots({
      schedule,
      catchUp: 'latest',
      maxCatchUp: 10,
      startingDeadlineMs: 600_000,
      after: at('2026-12-01T00:00:00Z'),
      now: at('2026-12-01T01:06:00Z'),
      lookaheadMs: 0,
      limit: 100,
    });

    // assert
    expect(isos(plan.dispatch)).toEqual(['2026-12-01T01:05:00.000Z']);
    expect(plan.missed.map((m) => `${new Date(m.slot).toISOString()} ${m.reason}`)).toEqual([
      '2026-12-01T00:05:00.000Z coalesced',
      '2026-12-01T00:20:00.000Z coalesced',
      '2026-12-01T00:40:00.000Z coalesced',
      '2026-12-01T01:00:00.000Z coalesced',
    ]);
    expect(new Date(plan.next ?? 0).toISOString()).toBe('2026-12-01T01:20:00.000Z');
  });

  it('reports each bad expression with its index, and a duplicate', () => {
    // act
    const error = (() => {
      try {
        parseSchedule(['rate(5 minutes)', 'cron(bad)', 'rate(5 minutes)'], { anchor: 0 });
      } catch (e) {
        return e;
      }
    })();

    // assert
    expect(error).toBeInstanceOf(InvalidScheduleError);
    expect((error as InvalidScheduleError).rule).toMatch(
      /^\[1\] "cron\(bad\)": .*; \[2\] "rate\(5 minutes\)": is listed twice$/,
    );
    expect(() => parseSchedule([])).toThrow('a list of schedules needs at least one');
  });

  it('nextSlots takes the list, as `schedule next` does with several expressions', () => {
    // act
    const result = nextSlots(weekdaysAndSaturday, { after: '2026-12-05T00:00:00Z', count: 2 });

    // assert
    expect(result.slots).toEqual(['2026-12-05T12:00:00.000Z', '2026-12-07T09:00:00.000Z']);
  });
});
