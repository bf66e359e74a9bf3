import { describe, expect, it } from 'vitest';
import { nextSlot, parseSchedule, previousSlot, slotsBetween } from '../../../shared/schedule/index.js';

const at = (iso: string) => Date.parse(iso);
const isos = (slots: number[]) => slots.map((t) => new Date(t).toISOString());

/** The first `n` slots after `fromIso`, as ISO strings. */
function firstSlots(expression: string, fromIso: string, n: number, timezone = 'UTC'): string[] {
  return isos(
    slotsBetween(parseSchedule(expression, { timezone }), at(fromIso), Number.POSITIVE_INFINITY, n),
  );
}

// The examples of https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html and
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html, in UTC.
// 2026-01-01 is a Thursday.
describe('cron: EventBridge’s documented examples', () => {
  it('cron(0 10 * * ? *) runs at 10:00 every day', () => {
    // act
    const slots = firstSlots('cron(0 10 * * ? *)', '2026-01-01T00:00:00Z', 3);

    // assert
    expect(slots).toEqual([
      '2026-01-01T10:00:00.000Z',
      '2026-01-02T10:00:00.000Z',
      '2026-01-03T10:00:00.000Z',
    ]);
  });

  it('cron(15 12 * * ? *) runs at 12:15 every day', () => {
    // act
    const slots = firstSlots('cron(15 12 * * ? *)', '2026-01-01T12:15:00Z', 2);

    // assert
    expect(slots).toEqual(['2026-01-02T12:15:00.000Z', '2026-01-03T12:15:00.000Z']);
  });

  it('cron(0 18 ? * MON-FRI *) runs at 18:00 Monday to Friday', () => {
    // act
    const slots = firstSlots('cron(0 18 ? * MON-FRI *)', '2026-01-01T00:00:00Z', 4);

    // assert
    expect(slots).toEqual([
      '2026-01-01T18:00:00.000Z',
      '2026-01-02T18:00:00.000Z',
      '2026-01-05T18:00:00.000Z',
      '2026-01-06T18:00:00.000Z',
    ]);
  });

  it('cron(0 8 1 * ? *) runs at 08:00 on the first of each month', () => {
    // act
    const slots = firstSlots('cron(0 8 1 * ? *)', '2026-01-01T00:00:00Z', 3);

    // assert
    expect(slots).toEqual([
      '2026-01-01T08:00:00.000Z',
      '2026-02-01T08:00:00.000Z',
      '2026-03-01T08:00:00.000Z',
    ]);
  });

  it('cron(0/15 * * * ? *) runs every 15 minutes', () => {
    // act
    const slots = firstSlots('cron(0/15 * * * ? *)', '2026-01-01T00:50:00Z', 3);

    // assert
    expect(slots).toEqual([
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T01:15:00.000Z',
      '2026-01-01T01:30:00.000Z',
    ]);
  });

  it('cron(0/10 * ? * MON-FRI *) runs every 10 minutes on weekdays, not over the weekend', () => {
    // act
    const slots = firstSlots('cron(0/10 * ? * MON-FRI *)', '2026-01-02T23:45:00Z', 3);

    // assert
    expect(slots).toEqual([
      '2026-01-02T23:50:00.000Z',
      '2026-01-05T00:00:00.000Z',
      '2026-01-05T00:10:00.000Z',
    ]);
  });

  it('cron(0/5 8-17 ? * MON-FRI *) runs every 5 minutes from 08:00 to 17:55 on weekdays', () => {
    // act
    const slots = firstSlots('cron(0/5 8-17 ? * MON-FRI *)', '2026-01-02T17:50:00Z', 3);

    // assert
    expect(slots).toEqual([
      '2026-01-02T17:55:00.000Z',
      '2026-01-05T08:00:00.000Z',
      '2026-01-05T08:05:00.000Z',
    ]);
  });

  it('cron(0 9 ? * 2#1 *) runs at 09:00 on the first Monday of each month', () => {
    // act
    const slots = firstSlots('cron(0 9 ? * 2#1 *)', '2026-01-01T00:00:00Z', 3);

    // assert
    expect(slots).toEqual([
      '2026-01-05T09:00:00.000Z',
      '2026-02-02T09:00:00.000Z',
      '2026-03-02T09:00:00.000Z',
    ]);
  });

  it('cron(0 0 L * ? *) runs at midnight on the last day of each month', () => {
    // act
    const slots = firstSlots('cron(0 0 L * ? *)', '2026-01-01T00:00:00Z', 3);

    // assert
    expect(slots).toEqual([
      '2026-01-31T00:00:00.000Z',
      '2026-02-28T00:00:00.000Z',
      '2026-03-31T00:00:00.000Z',
    ]);
  });

  it('cron(0 0 ? * 6L *) runs at midnight on the last Friday of each month', () => {
    // act
    const slots = firstSlots('cron(0 0 ? * 6L *)', '2026-01-01T00:00:00Z', 3);

    // assert
    expect(slots).toEqual([
      '2026-01-30T00:00:00.000Z',
      '2026-02-27T00:00:00.000Z',
      '2026-03-27T00:00:00.000Z',
    ]);
  });

  it('cron(0 0 1W * ? *) runs on the weekday nearest the first, within the month', () => {
    // act: 1 Jan 2026 is a Thursday, 1 Feb and 1 Mar Sundays, 1 Aug a Saturday
    const winter = firstSlots('cron(0 0 1W * ? *)', '2025-12-31T00:00:00Z', 3);
    const august = firstSlots('cron(0 0 1W * ? *)', '2026-07-31T00:00:00Z', 1);

    // assert
    expect(winter).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-02-02T00:00:00.000Z',
      '2026-03-02T00:00:00.000Z',
    ]);
    expect(august).toEqual(['2026-08-03T00:00:00.000Z']);
  });

  it('cron(0 0 LW * ? *) runs on the last weekday of each month', () => {
    // act
    const slots = firstSlots('cron(0 0 LW * ? *)', '2026-01-01T00:00:00Z', 2);

    // assert
    expect(slots).toEqual(['2026-01-30T00:00:00.000Z', '2026-02-27T00:00:00.000Z']);
  });

  it('cron(0 0 ? * L *) runs on the last day of each week, Saturday', () => {
    // act
    const slots = firstSlots('cron(0 0 ? * L *)', '2026-01-01T00:00:00Z', 2);

    // assert
    expect(slots).toEqual(['2026-01-03T00:00:00.000Z', '2026-01-10T00:00:00.000Z']);
  });

  it('a year field limits the years, and the schedule ends after the last', () => {
    // prepare
    const schedule = parseSchedule('cron(0 12 1 JAN ? 2027-2028)', {});

    // act
    const slots = slotsBetween(schedule, at('2026-01-01T00:00:00Z'), Number.POSITIVE_INFINITY, 10);

    // assert
    expect(isos(slots)).toEqual(['2027-01-01T12:00:00.000Z', '2028-01-01T12:00:00.000Z']);
    expect(nextSlot(schedule, at('2028-01-01T12:00:00Z'))).toBeUndefined();
  });

  it('reads day-of-week 1 as Sunday', () => {
    // act
    const slots = firstSlots('cron(0 12 ? * 1 *)', '2026-01-01T00:00:00Z', 1);

    // assert
    expect(slots).toEqual(['2026-01-04T12:00:00.000Z']);
  });

  it('evaluates the fields in the schedule’s zone', () => {
    // act
    const slots = firstSlots('cron(0 2 * * ? *)', '2026-01-01T00:00:00Z', 2, 'Europe/Berlin');

    // assert: 02:00 CET is 01:00 UTC
    expect(slots).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-02T01:00:00.000Z']);
  });
});

describe('cron: classic crontab', () => {
  it('*/5 * * * * runs every five minutes', () => {
    // act
    const slots = firstSlots('*/5 * * * *', '2026-01-01T00:03:00Z', 3);

    // assert
    expect(slots).toEqual([
      '2026-01-01T00:05:00.000Z',
      '2026-01-01T00:10:00.000Z',
      '2026-01-01T00:15:00.000Z',
    ]);
  });

  it.each(['0', '7', 'SUN'])('reads day-of-week %s as Sunday', (sunday) => {
    // act
    const slots = firstSlots(`0 12 * * ${sunday}`, '2026-01-01T00:00:00Z', 1);

    // assert
    expect(slots).toEqual(['2026-01-04T12:00:00.000Z']);
  });

  it('runs on either day field when both are restricted, as Vixie cron does', () => {
    // act: the 1st of the month, or a Monday
    const slots = firstSlots('0 0 1 * 1', '2026-01-20T00:00:00Z', 3);

    // assert
    expect(slots).toEqual([
      '2026-01-26T00:00:00.000Z',
      '2026-02-01T00:00:00.000Z',
      '2026-02-02T00:00:00.000Z',
    ]);
  });

  it('six fields put seconds first', () => {
    // act
    const slots = firstSlots('*/20 * * * * *', '2026-01-01T00:00:00Z', 3);

    // assert
    expect(slots).toEqual([
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:40.000Z',
      '2026-01-01T00:01:00.000Z',
    ]);
  });
});

describe('rate', () => {
  const anchor = at('2026-01-01T00:00:07Z');

  it.each([
    ['rate(1 minute)', ['2026-01-01T00:00:07.000Z', '2026-01-01T00:01:07.000Z', '2026-01-01T00:02:07.000Z']],
    ['rate(5 minutes)', ['2026-01-01T00:00:07.000Z', '2026-01-01T00:05:07.000Z', '2026-01-01T00:10:07.000Z']],
    ['rate(1 hour)', ['2026-01-01T00:00:07.000Z', '2026-01-01T01:00:07.000Z', '2026-01-01T02:00:07.000Z']],
    ['rate(12 hours)', ['2026-01-01T00:00:07.000Z', '2026-01-01T12:00:07.000Z', '2026-01-02T00:00:07.000Z']],
    ['rate(1 day)', ['2026-01-01T00:00:07.000Z', '2026-01-02T00:00:07.000Z', '2026-01-03T00:00:07.000Z']],
  ])('%s counts from the anchor', (expression, expected) => {
    // prepare
    const schedule = parseSchedule(expression, { anchor });

    // act
    const slots = slotsBetween(schedule, anchor - 1, Number.POSITIVE_INFINITY, 3);

    // assert
    expect(isos(slots)).toEqual(expected);
  });

  it('rate(1 day) is every 24 h, also across a DST change of the job’s zone', () => {
    // prepare: the night of 28-29 March 2026 in Berlin is 23 hours long
    const schedule = parseSchedule('rate(1 day)', {
      anchor: at('2026-03-27T23:00:00Z'),
      timezone: 'Europe/Berlin',
    });

    // act
    const slots = slotsBetween(schedule, at('2026-03-27T00:00:00Z'), at('2026-03-30T00:00:00Z'));

    // assert
    expect(isos(slots)).toEqual([
      '2026-03-27T23:00:00.000Z',
      '2026-03-28T23:00:00.000Z',
      '2026-03-29T23:00:00.000Z',
    ]);
  });

  it('finds the next slot far from the anchor without drifting', () => {
    // prepare
    const schedule = parseSchedule('rate(7 seconds)', { anchor: 3 });

    // act
    const slot = nextSlot(schedule, 1_000_000_000_000);

    // assert
    expect(slot).toBe(1_000_000_001_003); // 142_857_143 periods of 7 s after the anchor
  });

  it('has no slot before the anchor', () => {
    // prepare
    const schedule = parseSchedule('rate(5 minutes)', { anchor });

    // act
    const before = previousSlot(schedule, anchor - 1);
    const first = nextSlot(schedule, anchor - 86_400_000);

    // assert
    expect(before).toBeUndefined();
    expect(first).toBe(anchor);
  });

  it('starts at the first slot at or after startAt, keeping the anchor’s cadence', () => {
    // prepare
    const schedule = parseSchedule('rate(5 minutes)', { anchor, startAt: anchor + 7 * 60_000 });

    // act
    const slot = nextSlot(schedule, 0);

    // assert
    expect(slot).toBe(anchor + 10 * 60_000);
  });
});

describe('windows', () => {
  it('includes a slot at startAt and excludes one at endAt', () => {
    // prepare
    const startAt = at('2026-01-01T10:00:00Z');
    const endAt = at('2026-01-03T10:00:00Z');
    const schedule = parseSchedule('cron(0 10 * * ? *)', { startAt, endAt });

    // act
    const slots = slotsBetween(schedule, 0, at('2027-01-01T00:00:00Z'));

    // assert
    expect(isos(slots)).toEqual(['2026-01-01T10:00:00.000Z', '2026-01-02T10:00:00.000Z']);
  });

  it('ends a rate at endAt', () => {
    // prepare
    const schedule = parseSchedule('rate(1 hour)', { startAt: 0, endAt: 3 * 3_600_000 });

    // act
    const slots = slotsBetween(schedule, -1, Number.POSITIVE_INFINITY, 100);

    // assert
    expect(slots).toEqual([0, 3_600_000, 7_200_000]);
    expect(nextSlot(schedule, 7_200_000)).toBeUndefined();
  });

  it('drops an at() outside the window', () => {
    // prepare
    const schedule = parseSchedule('at(2026-06-01T00:00:00)', { endAt: at('2026-06-01T00:00:00Z') });

    // act
    const slot = nextSlot(schedule, 0);

    // assert
    expect(slot).toBeUndefined();
  });
});

describe('at', () => {
  it('names one slot, and none after it', () => {
    // prepare
    const schedule = parseSchedule('at(2026-12-01T00:00:00)', { timezone: 'Europe/Berlin' });
    const slot = at('2026-11-30T23:00:00Z');

    // act
    const next = nextSlot(schedule, 0);
    const after = nextSlot(schedule, slot);

    // assert
    expect(next).toBe(slot);
    expect(after).toBeUndefined();
  });
});

describe('nextSlot, previousSlot and slotsBetween', () => {
  it('nextSlot is strictly after, to the millisecond', () => {
    // prepare
    const schedule = parseSchedule('cron(0 12 * * ? *)', {});

    // act
    const atSlot = nextSlot(schedule, at('2026-01-01T12:00:00Z'));
    const justBefore = nextSlot(schedule, at('2026-01-01T11:59:59.999Z'));

    // assert
    expect(atSlot).toBe(at('2026-01-02T12:00:00Z'));
    expect(justBefore).toBe(at('2026-01-01T12:00:00Z'));
  });

  it('previousSlot includes a slot at the instant', () => {
    // prepare
    const cron = parseSchedule('cron(0 12 * * ? *)', {});
    const rate = parseSchedule('rate(1 day)', { anchor: at('2026-01-01T12:00:00Z') });

    // act
    const cronSlots = [
      previousSlot(cron, at('2026-01-02T12:00:00Z')),
      previousSlot(cron, at('2026-01-02T11:59:59.999Z')),
    ];
    const rateSlots = [
      previousSlot(rate, at('2026-01-02T12:00:00Z')),
      previousSlot(rate, at('2026-01-02T11:59:59.999Z')),
    ];

    // assert
    expect(isos(cronSlots as number[])).toEqual(['2026-01-02T12:00:00.000Z', '2026-01-01T12:00:00.000Z']);
    expect(isos(rateSlots as number[])).toEqual(['2026-01-02T12:00:00.000Z', '2026-01-01T12:00:00.000Z']);
  });

  it('previousSlot stays inside the window', () => {
    // prepare
    const schedule = parseSchedule('cron(0 12 * * ? *)', {
      startAt: at('2026-01-02T00:00:00Z'),
      endAt: at('2026-01-04T00:00:00Z'),
    });

    // act
    const late = previousSlot(schedule, at('2026-02-01T00:00:00Z'));
    const early = previousSlot(schedule, at('2026-01-01T23:00:00Z'));

    // assert
    expect(late).toBe(at('2026-01-03T12:00:00Z'));
    expect(early).toBeUndefined();
  });

  it('slotsBetween includes the upper bound and stops at the limit', () => {
    // prepare
    const schedule = parseSchedule('rate(1 minute)', { anchor: 0 });

    // act
    const bounded = slotsBetween(schedule, 0, 180_000);
    const limited = slotsBetween(schedule, 0, 600_000, 2);

    // assert
    expect(bounded).toEqual([60_000, 120_000, 180_000]);
    expect(limited).toEqual([60_000, 120_000]);
  });

  it('slotsBetween refuses to list an endless schedule without a bound', () => {
    // prepare
    const schedule = parseSchedule('rate(1 minute)', { anchor: 0 });

    // act
    const unbounded = () => slotsBetween(schedule, 0, Number.POSITIVE_INFINITY);

    // assert
    expect(unbounded).toThrow(RangeError);
  });
});
