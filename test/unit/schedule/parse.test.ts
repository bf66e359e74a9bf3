import { describe, expect, it } from 'vitest';
import { InvalidScheduleError } from '../../../shared/errors.js';
import { parseSchedule } from '../../../shared/schedule/index.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

/** The message parseSchedule throws for the expression, or undefined when it parses. */
function errorOf(expression: string, options: Parameters<typeof parseSchedule>[1] = { anchor: T0 }): string {
  try {
    parseSchedule(expression, options);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidScheduleError);
    return (e as Error).message;
  }
  throw new Error(`${expression} parsed`);
}

describe('parseSchedule: rate', () => {
  it.each([
    ['rate(1 second)', 1000],
    ['rate(30 seconds)', 30_000],
    ['rate(1 minute)', 60_000],
    ['rate(5 minutes)', 300_000],
    ['rate(1 hour)', 3_600_000],
    ['rate(12 hours)', 43_200_000],
    ['rate(1 day)', 86_400_000],
    ['rate(2 days)', 172_800_000],
  ])('reads %s as a period of %i ms', (expression, periodMs) => {
    // act
    const schedule = parseSchedule(expression, { anchor: T0 });

    // assert
    expect(schedule).toMatchObject({ kind: 'rate', periodMs, anchor: T0, timezone: 'UTC', expression });
  });

  it('accepts the plural with 1 and the singular with more (EventBridge would not)', () => {
    // act
    const plural = parseSchedule('rate(1 minutes)', { anchor: T0 });
    const singular = parseSchedule('rate(5 minute)', { anchor: T0 });

    // assert
    expect(plural).toMatchObject({ periodMs: 60_000 });
    expect(singular).toMatchObject({ periodMs: 300_000 });
  });

  it('anchors to startAt when no anchor is given', () => {
    // prepare
    const startAt = Date.parse('2026-12-01T00:00:00Z');

    // act
    const schedule = parseSchedule('rate(5 minutes)', { startAt });

    // assert
    expect(schedule).toMatchObject({ anchor: startAt, startAt });
  });

  it('prefers the anchor over startAt', () => {
    // act
    const schedule = parseSchedule('rate(5 minutes)', { anchor: T0, startAt: T0 + 60_000 });

    // assert
    expect(schedule).toMatchObject({ anchor: T0, startAt: T0 + 60_000 });
  });

  it.each([
    ['rate(0 minutes)', 'schedule "rate(0 minutes)": the period must be at least 1 second'],
    ['rate(0 seconds)', 'schedule "rate(0 seconds)": the period must be at least 1 second'],
    [
      'rate(-5 minutes)',
      'schedule "rate(-5 minutes)": the value must be a whole number of at least 1, got "-5"',
    ],
    [
      'rate(1.5 hours)',
      'schedule "rate(1.5 hours)": the value must be a whole number of at least 1, got "1.5"',
    ],
    ['rate(5)', 'schedule "rate(5)": a rate takes a whole number and a unit, as in rate(5 minutes)'],
    ['rate()', 'schedule "rate()": a rate takes a whole number and a unit, as in rate(5 minutes)'],
    ['rate(5 weeks)', 'schedule "rate(5 weeks)": unknown unit "weeks"; use seconds, minutes, hours or days'],
    [
      'rate(x weeks)',
      'schedule "rate(x weeks)": unknown unit "weeks"; use seconds, minutes, hours or days; ' +
        'the value must be a whole number of at least 1, got "x"',
    ],
  ])('rejects %s', (expression, message) => {
    // act
    const error = errorOf(expression);

    // assert
    expect(error).toBe(message);
  });

  it('says a rate needs an anchor when neither anchor nor startAt is given', () => {
    // act
    const error = errorOf('rate(5 minutes)', {});

    // assert
    expect(error).toBe(
      'schedule "rate(5 minutes)": a rate schedule needs an anchor: ' +
        "pass options.anchor (the job's creation time) or startAt",
    );
  });
});

describe('parseSchedule: EventBridge cron', () => {
  it('maps the six fields to croner, seconds first, with ? as *', () => {
    // act
    const schedule = parseSchedule('cron(0 18 ? * MON-FRI *)', { timezone: 'Europe/Berlin' });

    // assert
    expect(schedule).toEqual({
      kind: 'cron',
      dialect: 'eventbridge',
      pattern: '0 0 18 * * MON-FRI *',
      expression: 'cron(0 18 ? * MON-FRI *)',
      timezone: 'Europe/Berlin',
    });
  });

  it.each([
    'cron(0 10 * * ? *)',
    'cron(15 12 * * ? *)',
    'cron(0 18 ? * MON-FRI *)',
    'cron(0 8 1 * ? *)',
    'cron(0/15 * * * ? *)',
    'cron(0/10 * ? * MON-FRI *)',
    'cron(0/5 8-17 ? * MON-FRI *)',
    'cron(0 9 ? * 2#1 *)',
    'cron(0 0 L * ? *)',
    'cron(0 0 ? * 6L *)',
    'cron(0 0 1W * ? *)',
    'cron(0 0 LW * ? *)',
    'cron(0 0 ? * L *)',
    'cron(0 12 1 JAN,JUL ? 2027-2030)',
    'cron(0 12 ? * mon-fri *)',
    'cron(*/5 * * * ? *)',
  ])('accepts %s', (expression) => {
    // act
    const schedule = parseSchedule(expression, {});

    // assert
    expect(schedule).toMatchObject({ kind: 'cron', dialect: 'eventbridge' });
  });

  it.each([
    [
      'cron(0 12 * * *)',
      'cron expressions take six fields (minutes hours day-of-month month day-of-week year), got 5',
    ],
    [
      'cron(0 0 12 * * ? *)',
      'cron expressions take six fields (minutes hours day-of-month month day-of-week year), got 7',
    ],
    [
      'cron(0 12 * * MON *)',
      'one of day-of-month and day-of-week must be ?, as in cron(0 12 * * ? *) or cron(0 12 ? * MON-FRI *)',
    ],
    ['cron(0 12 ? * ? *)', 'day-of-month and day-of-week cannot both be ?; give one of them a value or *'],
    ['cron(60 12 * * ? *)', 'minutes "60" is not valid; it takes 0-59 with , - * /'],
    ['cron(0 24 * * ? *)', 'hours "24" is not valid; it takes 0-23 with , - * /'],
    ['cron(0 12 32 * ? *)', 'day-of-month "32" is not valid; it takes 1-31 with , - * ? / L W'],
    ['cron(0 12 * 13 ? *)', 'month "13" is not valid; it takes 1-12 or JAN-DEC with , - * /'],
    ['cron(0 12 * FOO ? *)', 'month "FOO" is not valid; it takes 1-12 or JAN-DEC with , - * /'],
    [
      'cron(0 12 ? * 0 *)',
      'day-of-week "0" is not valid; it takes 1-7 (1 is Sunday) or SUN-SAT with , - * ? L #',
    ],
    [
      'cron(0 12 ? * 8 *)',
      'day-of-week "8" is not valid; it takes 1-7 (1 is Sunday) or SUN-SAT with , - * ? L #',
    ],
    [
      'cron(0 12 ? * 2#6 *)',
      'day-of-week "2#6" is not valid; it takes 1-7 (1 is Sunday) or SUN-SAT with , - * ? L #',
    ],
    [
      'cron(0 9 ? * 3#1,6#3 *)',
      'day-of-week "3#1,6#3" is not valid; with # it takes a single expression, such as 3#1 (no list, range or step)',
    ],
    [
      'cron(0 9 ? * 2-3#1 *)',
      'day-of-week "2-3#1" is not valid; with # it takes a single expression, such as 3#1 (no list, range or step)',
    ],
    ['cron(/15 * * * ? *)', 'minutes "/15" is not valid; a step needs a start, as in 0/15 or */15'],
    ['cron(0 /24 * * ? *)', 'hours "/24" is not valid; a step needs a start, as in 0/15 or */15'],
    [
      'cron(0 22-2 ? * MON *)',
      'hours "22-2" is not valid; a range runs from low to high: write 22-23,0-2 for 22-2',
    ],
    [
      'cron(0 8 ? * FRI-MON *)',
      'day-of-week "FRI-MON" is not valid; a range runs from low to high: write FRI-SAT,SUN-MON for FRI-MON',
    ],
    [
      'cron(0 8 ? * SAT-SUN *)',
      'day-of-week "SAT-SUN" is not valid; a range runs from low to high: write SAT,SUN for SAT-SUN',
    ],
    [
      'cron(30 9 L-2 * ? *)',
      'day-of-month "L-2" is not valid; L takes no offset (L-2 is Quartz syntax): write L, LW or a day number',
    ],
    ['cron(65/15 10 * * ? *)', 'minutes "65/15" is not valid; it takes 0-59 with , - * /'],
    ['cron(0 12 * * ? 1969)', 'year "1969" is not valid; it takes 1970-2199 with , - * /'],
    ['cron(0 12 * * ? 2200)', 'year "2200" is not valid; it takes 1970-2199 with , - * /'],
    ['cron(? 12 * * ? *)', 'minutes "?" is not valid; it takes 0-59 with , - * /'],
    ['cron(0 0 30 2 ? *)', 'no date matches the expression (after 1970)'],
    [
      'cron(61 25 * * ? *)',
      'minutes "61" is not valid; it takes 0-59 with , - * /; hours "25" is not valid; it takes 0-23 with , - * /',
    ],
  ])('rejects %s', (expression, rule) => {
    // act
    const error = errorOf(expression);

    // assert
    expect(error).toBe(`schedule ${JSON.stringify(expression)}: ${rule}`);
  });
});

describe('parseSchedule: crontab', () => {
  it('reads five fields as classic crontab, with a zero seconds field for croner', () => {
    // act
    const schedule = parseSchedule('*/5 * * * *', {});

    // assert
    expect(schedule).toMatchObject({ kind: 'cron', dialect: 'crontab', pattern: '0 */5 * * * *' });
  });

  it('reads six fields as crontab with seconds first', () => {
    // act
    const schedule = parseSchedule('*/10 * * * * *', {});

    // assert
    expect(schedule).toMatchObject({ kind: 'cron', dialect: 'crontab-seconds', pattern: '*/10 * * * * *' });
  });

  it.each([
    ['0/15 * * * *', '0 0-59/15 * * * *'],
    ['5/15 * * * *', '0 5-59/15 * * * *'],
    ['0 4/6 * * *', '0 0 4-23/6 * * *'],
    ['0 0 1/2 * *', '0 0 0 1-31/2 * *'],
    ['0 0 * Jan/3 *', '0 0 0 * Jan-12/3 *'],
    ['0 0 * * Mon/2', '0 0 0 * * Mon-6/2'],
    ['15/35 20-35/15 * * * *', '15-59/35 20-35/15 * * * *'],
    ['0,10/20 * * * *', '0 0,10-59/20 * * * *'],
    ['0 0 1 JUL-AUG *', '0 0 0 1 JUL-AUG *'],
    ['0 0 * * FRI-SUN', '0 0 0 * * FRI-7'],
    ['0 0 * * MON-SUN/2', '0 0 0 * * MON-7/2'],
  ])(
    'reads %s as %s (a start/step runs to the field’s maximum; a range may end at SUN)',
    (expression, pattern) => {
      // act
      const schedule = parseSchedule(expression, {});

      // assert
      expect(schedule).toMatchObject({ kind: 'cron', pattern });
    },
  );

  it('takes ? as a whole day field', () => {
    // act
    const schedule = parseSchedule('30 8 ? Jul Sun', {});

    // assert
    expect(schedule).toMatchObject({ pattern: '0 30 8 * Jul Sun' });
  });

  it('trims the expression', () => {
    // act
    const schedule = parseSchedule('  0 2 * * *  ', {});

    // assert
    expect(schedule).toMatchObject({ dialect: 'crontab', pattern: '0 0 2 * * *' });
  });

  it.each([
    [
      '* * * *',
      'a crontab line takes five fields (minute hour day-of-month month day-of-week), or six with seconds first, got 4',
    ],
    ['60 * * * *', 'minute "60" is not valid; it takes 0-59 with , - * /'],
    [
      '* * * * 8',
      'day-of-week "8" is not valid; it takes 0-7 (0 and 7 are Sunday) or SUN-SAT with , - * ? / L #',
    ],
    ['60 * * * * *', 'second "60" is not valid; it takes 0-59 with , - * /'],
    ['60/15 * * * *', 'minute "60/15" is not valid; it takes 0-59 with , - * /'],
    ['? * * * *', 'minute "?" is not valid; ? stands only for a whole day-of-month or day-of-week field'],
    ['* ? * * *', 'hour "?" is not valid; ? stands only for a whole day-of-month or day-of-week field'],
    ['? * * * * *', 'second "?" is not valid; ? stands only for a whole day-of-month or day-of-week field'],
    ['0 22-2/2 * * *', 'hour "22-2/2" is not valid; a range runs from low to high'],
    [
      '0 0 29-L * *',
      'day-of-month "29-L" is not valid; a range ends at a day number: write 29-31 (a day a month lacks is skipped)',
    ],
    [
      '0 0 * NOV-FEB *',
      'month "NOV-FEB" is not valid; a range runs from low to high: write NOV-DEC,JAN-FEB for NOV-FEB',
    ],
    [
      '0 0 L-2 * *',
      'day-of-month "L-2" is not valid; L takes no offset (L-2 is Quartz syntax): write L, LW or a day number',
    ],
    [
      '0 0 ?,5 * *',
      'day-of-month "?,5" is not valid; ? stands only for a whole day-of-month or day-of-week field',
    ],
  ])('rejects %s', (expression, rule) => {
    // act
    const error = errorOf(expression);

    // assert
    expect(error).toBe(`schedule ${JSON.stringify(expression)}: ${rule}`);
  });
});

describe('parseSchedule: at', () => {
  it('reads the time in the schedule’s zone', () => {
    // act
    const schedule = parseSchedule('at(2026-12-01T00:00:00)', { timezone: 'Europe/Berlin' });

    // assert
    expect(schedule).toMatchObject({ kind: 'at', at: Date.parse('2026-11-30T23:00:00Z') });
  });

  it('reads the time in UTC by default', () => {
    // act
    const schedule = parseSchedule('at(2026-12-01T08:30:15)', {});

    // assert
    expect(schedule).toMatchObject({ kind: 'at', at: Date.parse('2026-12-01T08:30:15Z') });
  });

  it('moves a time that does not exist (spring forward) to the moment the clock jumps', () => {
    // act
    const schedule = parseSchedule('at(2026-03-08T02:30:00)', { timezone: 'America/New_York' });

    // assert: 03:00 EDT
    expect(schedule).toMatchObject({ at: Date.parse('2026-03-08T07:00:00Z') });
  });

  it('takes the first occurrence of a time that occurs twice (fall back)', () => {
    // act
    const schedule = parseSchedule('at(2026-11-01T01:30:00)', { timezone: 'America/New_York' });

    // assert: 01:30 EDT, not EST
    expect(schedule).toMatchObject({ at: Date.parse('2026-11-01T05:30:00Z') });
  });

  it.each([
    [
      'at(2026-12-01 00:00:00)',
      'the time must be written YYYY-MM-DDThh:mm:ss, in the schedule’s time zone, without an offset',
    ],
    [
      'at(2026-12-01T00:00:00Z)',
      'the time must be written YYYY-MM-DDThh:mm:ss, in the schedule’s time zone, without an offset',
    ],
    ['at(2026-02-29T00:00:00)', '2026-02-29 is not a day of the calendar'],
    ['at(2026-13-01T00:00:00)', '2026-13-01 is not a day of the calendar'],
    ['at(2026-12-01T24:00:00)', '24:00:00 is not a time of day (00:00:00 to 23:59:59)'],
  ])('rejects %s', (expression, rule) => {
    // act
    const error = errorOf(expression);

    // assert
    expect(error).toBe(`schedule ${JSON.stringify(expression)}: ${rule}`);
  });

  it('accepts 29 February in a leap year', () => {
    // act
    const schedule = parseSchedule('at(2028-02-29T12:00:00)', {});

    // assert
    expect(schedule).toMatchObject({ at: Date.parse('2028-02-29T12:00:00Z') });
  });
});

describe('parseSchedule: zone, window and unknown forms', () => {
  it('names an unknown zone', () => {
    // act
    const error = errorOf('cron(0 12 * * ? *)', { timezone: 'Mars/Olympus_Mons' });

    // assert
    expect(error).toBe(
      'schedule "cron(0 12 * * ? *)": unknown time zone "Mars/Olympus_Mons"; use an IANA name such as Europe/Berlin or UTC',
    );
  });

  it('reports every rule the input breaks at once', () => {
    // act
    const error = errorOf('rate(0 minutes)', { timezone: 'Nowhere', startAt: T0, endAt: T0 });

    // assert
    expect(error).toBe(
      'schedule "rate(0 minutes)": unknown time zone "Nowhere"; use an IANA name such as Europe/Berlin or UTC; ' +
        'the period must be at least 1 second; ' +
        'endAt (2026-01-01T00:00:00.000Z) must be after startAt (2026-01-01T00:00:00.000Z)',
    );
  });

  it('rejects a window bound that is not an instant', () => {
    // act
    const error = errorOf('cron(0 12 * * ? *)', { endAt: Number.NaN });

    // assert
    expect(error).toBe(
      'schedule "cron(0 12 * * ? *)": endAt must be an instant in epoch milliseconds, got NaN',
    );
  });

  it('keeps the window on the schedule', () => {
    // act
    const schedule = parseSchedule('cron(0 12 * * ? *)', { startAt: T0, endAt: T0 + 1 });

    // assert
    expect(schedule).toMatchObject({ startAt: T0, endAt: T0 + 1 });
  });

  it.each(['hello', 'every(5 minutes)', 'RATE(5 minutes)', ''])(
    'rejects %j as no known form',
    (expression) => {
      // act
      const error = errorOf(expression);

      // assert
      expect(error).toMatch(/not a schedule expression|a crontab line takes five fields/);
    },
  );

  it('suggests the forms for an unknown one', () => {
    // act
    const error = errorOf('every(5 minutes)');

    // assert
    expect(error).toBe(
      'schedule "every(5 minutes)": not a schedule expression; write rate(5 minutes), cron(0 12 * * ? *), ' +
        'at(2026-12-01T00:00:00) or a crontab line such as */5 * * * *',
    );
  });
});
