import { describe, expect, it } from 'vitest';
import { nextSlot, parseSchedule, previousSlot, slotsBetween } from '../../../shared/schedule/index.js';

const DAY_MS = 86_400_000;
const at = (iso: string) => Date.parse(iso);
const isos = (slots: number[]) => slots.map((t) => new Date(t).toISOString());

function localDate(timezone: string, t: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, dateStyle: 'short' }).format(t);
}

function localTime(timezone: string, t: number): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: timezone, timeStyle: 'medium' }).format(t);
}

/** The slots whose local date (in the schedule's zone) is `date`. */
function slotsOnLocalDay(expression: string, timezone: string, date: string): string[] {
  const schedule = parseSchedule(expression, { timezone });
  const noonUtc = at(`${date}T12:00:00Z`);
  return isos(
    slotsBetween(schedule, noonUtc - 2 * DAY_MS, noonUtc + 2 * DAY_MS).filter(
      (t) => localDate(timezone, t) === date,
    ),
  );
}

// 2026 transitions. New York: 8 March 02:00 EST -> 03:00 EDT, 1 November 02:00 EDT -> 01:00 EST.
// Berlin: 29 March 02:00 CET -> 03:00 CEST, 25 October 03:00 CEST -> 02:00 CET. Sydney (southern
// hemisphere): 5 April 03:00 AEDT -> 02:00 AEST, 4 October 02:00 AEST -> 03:00 AEDT. Kolkata: none.
const CASES: { zone: string; date: string; change: string; expected: Record<string, string> }[] = [
  {
    zone: 'America/New_York',
    date: '2026-03-08',
    change: 'spring forward',
    expected: {
      '01:30': '2026-03-08T06:30:00.000Z',
      '02:30': '2026-03-08T07:00:00.000Z',
      '03:30': '2026-03-08T07:30:00.000Z',
    },
  },
  {
    zone: 'America/New_York',
    date: '2026-11-01',
    change: 'fall back',
    expected: {
      '01:30': '2026-11-01T05:30:00.000Z',
      '02:30': '2026-11-01T07:30:00.000Z',
      '03:30': '2026-11-01T08:30:00.000Z',
    },
  },
  {
    zone: 'Europe/Berlin',
    date: '2026-03-29',
    change: 'spring forward',
    expected: {
      '01:30': '2026-03-29T00:30:00.000Z',
      '02:30': '2026-03-29T01:00:00.000Z',
      '03:30': '2026-03-29T01:30:00.000Z',
    },
  },
  {
    zone: 'Europe/Berlin',
    date: '2026-10-25',
    change: 'fall back',
    expected: {
      '01:30': '2026-10-24T23:30:00.000Z',
      '02:30': '2026-10-25T00:30:00.000Z',
      '03:30': '2026-10-25T02:30:00.000Z',
    },
  },
  {
    zone: 'Australia/Sydney',
    date: '2026-04-05',
    change: 'fall back',
    expected: {
      '01:30': '2026-04-04T14:30:00.000Z',
      '02:30': '2026-04-04T15:30:00.000Z',
      '03:30': '2026-04-04T17:30:00.000Z',
    },
  },
  {
    zone: 'Australia/Sydney',
    date: '2026-10-04',
    change: 'spring forward',
    expected: {
      '01:30': '2026-10-03T15:30:00.000Z',
      '02:30': '2026-10-03T16:00:00.000Z',
      '03:30': '2026-10-03T16:30:00.000Z',
    },
  },
  {
    zone: 'Asia/Kolkata',
    date: '2026-03-08',
    change: 'no change (control)',
    expected: {
      '01:30': '2026-03-07T20:00:00.000Z',
      '02:30': '2026-03-07T21:00:00.000Z',
      '03:30': '2026-03-07T22:00:00.000Z',
    },
  },
  {
    zone: 'Asia/Kolkata',
    date: '2026-11-01',
    change: 'no change (control)',
    expected: {
      '01:30': '2026-10-31T20:00:00.000Z',
      '02:30': '2026-10-31T21:00:00.000Z',
      '03:30': '2026-10-31T22:00:00.000Z',
    },
  },
];

describe('DST: a daily job runs exactly once on the day of a change', () => {
  for (const { zone, date, change, expected } of CASES) {
    for (const [time, slot] of Object.entries(expected)) {
      const [hour, minute] = time.split(':').map(Number) as [number, number];

      it(`${zone} ${date} (${change}): ${time} daily runs at ${slot}`, () => {
        // act
        const eventbridge = slotsOnLocalDay(`cron(${minute} ${hour} * * ? *)`, zone, date);
        const crontab = slotsOnLocalDay(`${minute} ${hour} * * *`, zone, date);

        // assert
        expect(eventbridge).toEqual([slot]);
        expect(crontab).toEqual([slot]);
      });
    }
  }
});

describe('DST: spring forward', () => {
  it('a list of hours is a fixed time too: 30 2,14 runs at 03:00 and 14:30 in New York', () => {
    // act
    const slots = slotsOnLocalDay('30 2,14 * * *', 'America/New_York', '2026-03-08');

    // assert
    expect(slots).toEqual(['2026-03-08T07:00:00.000Z', '2026-03-08T18:30:00.000Z']);
  });

  it('every 30 minutes skips the missing hour and runs once at 03:00 (New York)', () => {
    // prepare
    const schedule = parseSchedule('*/30 * * * *', { timezone: 'America/New_York' });

    // act
    const slots = slotsBetween(schedule, at('2026-03-08T05:45:00Z'), at('2026-03-08T07:45:00Z'));

    // assert: 01:00 EST, 01:30 EST, 03:00 EDT, 03:30 EDT
    expect(isos(slots)).toEqual([
      '2026-03-08T06:00:00.000Z',
      '2026-03-08T06:30:00.000Z',
      '2026-03-08T07:00:00.000Z',
      '2026-03-08T07:30:00.000Z',
    ]);
  });

  it('a stepped job inside the missing hour still runs that day, once, at 03:00 (Berlin)', () => {
    // act
    const slots = slotsOnLocalDay('cron(0/15 2 * * ? *)', 'Europe/Berlin', '2026-03-29');

    // assert
    expect(slots).toEqual(['2026-03-29T01:00:00.000Z']);
  });

  it('an hourly job at :15 runs its missing 02:15 at 03:00, the next valid instant (Sydney)', () => {
    // prepare
    const schedule = parseSchedule('15 * * * *', { timezone: 'Australia/Sydney' });

    // act
    const slots = slotsBetween(schedule, at('2026-10-03T15:00:00Z'), at('2026-10-03T16:30:00Z'));

    // assert: 01:15 AEST, 03:00 AEDT (for 02:15), 03:15 AEDT
    expect(isos(slots)).toEqual([
      '2026-10-03T15:15:00.000Z',
      '2026-10-03T16:00:00.000Z',
      '2026-10-03T16:15:00.000Z',
    ]);
  });
});

describe('DST: fall back', () => {
  it('every 30 minutes runs once per wall-clock time through the repeated hour (New York)', () => {
    // prepare
    const schedule = parseSchedule('*/30 * * * *', { timezone: 'America/New_York' });

    // act
    const slots = slotsBetween(schedule, at('2026-11-01T04:15:00Z'), at('2026-11-01T07:45:00Z'));

    // assert: 00:30 EDT, 01:00 EDT, 01:30 EDT, (01:00 and 01:30 EST dropped), 02:00 EST, 02:30 EST
    expect(isos(slots)).toEqual([
      '2026-11-01T04:30:00.000Z',
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T07:00:00.000Z',
      '2026-11-01T07:30:00.000Z',
    ]);
  });

  it('hourly runs once at 02:00, at its first occurrence (Berlin)', () => {
    // prepare
    const schedule = parseSchedule('cron(0 * * * ? *)', { timezone: 'Europe/Berlin' });

    // act
    const slots = slotsBetween(schedule, at('2026-10-24T22:30:00Z'), at('2026-10-25T03:30:00Z'));

    // assert: 01:00 CEST, 02:00 CEST, (02:00 CET dropped), 03:00 CET, 04:00 CET
    expect(isos(slots)).toEqual([
      '2026-10-24T23:00:00.000Z',
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
      '2026-10-25T03:00:00.000Z',
    ]);
  });

  it.each(['America/New_York', 'Europe/Berlin', 'Australia/Sydney'])(
    'every minute shows each wall-clock time once across the change in %s',
    (zone) => {
      // prepare
      const schedule = parseSchedule('* * * * *', { timezone: zone });
      const fallBack = {
        'America/New_York': '2026-11-01T06:00:00Z',
        'Europe/Berlin': '2026-10-25T01:00:00Z',
        'Australia/Sydney': '2026-04-04T16:00:00Z',
      }[zone]!;

      // act
      const slots = slotsBetween(schedule, at(fallBack) - 2 * 3_600_000, at(fallBack) + 2 * 3_600_000);

      // assert: 2 h before and 2 h after the change span 3 h of wall-clock time, one slot a minute
      const times = slots.map((t) => localTime(zone, t));
      expect(new Set(times).size).toBe(times.length);
      expect(slots).toHaveLength(180);
    },
  );

  it('nextSlot from inside the repeated hour skips to the first new wall-clock time', () => {
    // prepare: 01:10 EST is the second pass; 01:30 already ran at 01:30 EDT
    const schedule = parseSchedule('*/30 * * * *', { timezone: 'America/New_York' });

    // act
    const next = nextSlot(schedule, at('2026-11-01T06:10:00Z'));
    const previous = previousSlot(schedule, at('2026-11-01T06:10:00Z'));

    // assert
    expect(next).toBe(at('2026-11-01T07:00:00Z'));
    expect(previous).toBe(at('2026-11-01T05:30:00Z'));
  });

  it('a fixed time in the repeated hour runs at its first occurrence only (Sydney, 02:30 AEDT)', () => {
    // prepare
    const schedule = parseSchedule('cron(30 2 * * ? *)', { timezone: 'Australia/Sydney' });

    // act
    const slots = slotsBetween(schedule, at('2026-04-03T12:00:00Z'), at('2026-04-06T12:00:00Z'));

    // assert
    expect(isos(slots)).toEqual([
      '2026-04-03T15:30:00.000Z',
      '2026-04-04T15:30:00.000Z',
      '2026-04-05T16:30:00.000Z',
    ]);
  });

  it('a skipped calendar day is a gap like any other: its slot runs at the first instant after it (Apia, 2011)', () => {
    // prepare: Pacific/Apia went from 29 December 2011 23:59:59 (-10:00) to 31 December 00:00 (+14:00)
    const schedule = parseSchedule('0 12 * * *', { timezone: 'Pacific/Apia' });

    // act
    const slots = slotsBetween(schedule, at('2011-12-28T00:00:00Z'), at('2011-12-31T12:00:00Z'));

    // assert: 12:00 on the 28th and 29th; the 30th's at 31 December 00:00; 12:00 on the 31st
    expect(isos(slots)).toEqual([
      '2011-12-28T22:00:00.000Z',
      '2011-12-29T22:00:00.000Z',
      '2011-12-30T10:00:00.000Z',
      '2011-12-30T22:00:00.000Z',
    ]);
    expect(slots.map((t) => `${localDate('Pacific/Apia', t)} ${localTime('Pacific/Apia', t)}`)).toEqual([
      '2011-12-28 12:00:00',
      '2011-12-29 12:00:00',
      '2011-12-31 00:00:00',
      '2011-12-31 12:00:00',
    ]);
  });
});
