import { describe, expect, it } from 'vitest';
import { describeSchedule, parseSchedule } from '../../../shared/schedule/index.js';

const describeOf = (expression: string, timezone = 'UTC') =>
  describeSchedule(parseSchedule(expression, { timezone, anchor: 0 }));

describe('describeSchedule', () => {
  it.each([
    ['rate(1 second)', 'every second'],
    ['rate(30 seconds)', 'every 30 seconds'],
    ['rate(1 minute)', 'every minute'],
    ['rate(5 minutes)', 'every 5 minutes'],
    ['rate(60 minutes)', 'every hour'],
    ['rate(90 minutes)', 'every 90 minutes'],
    ['rate(12 hours)', 'every 12 hours'],
    ['rate(1 day)', 'every day'],
    ['rate(14 days)', 'every 14 days'],
  ])('says %s is %s', (expression, words) => {
    // act
    const text = describeOf(expression);

    // assert
    expect(text).toBe(words);
  });

  it('gives an at() in its zone’s wall-clock time', () => {
    // act
    const text = describeOf('at(2026-12-01T00:00:00)', 'Europe/Berlin');

    // assert
    expect(text).toBe('at 2026-12-01 00:00:00 Europe/Berlin');
  });

  it.each([
    ['cron(0 2 * * ? *)', 'Europe/Berlin', 'cron 0 2 * * ? * (Europe/Berlin): daily at 02:00'],
    ['cron(0 18 ? * MON-FRI *)', 'UTC', 'cron 0 18 ? * MON-FRI * (UTC): weekdays at 18:00'],
    ['cron(0 8 1 * ? *)', 'UTC', 'cron 0 8 1 * ? * (UTC): monthly on day 1 at 08:00'],
    ['cron(0/15 * * * ? *)', 'UTC', 'cron 0/15 * * * ? * (UTC): every 15 minutes'],
    ['cron(30 * * * ? *)', 'UTC', 'cron 30 * * * ? * (UTC): hourly at minute 30'],
    ['*/5 * * * *', 'UTC', 'cron */5 * * * * (UTC): every 5 minutes'],
    ['*/1 * * * *', 'UTC', 'cron */1 * * * * (UTC): every minute'],
    ['* * * * *', 'UTC', 'cron * * * * * (UTC): every minute'],
    ['30 6 * * 1-5', 'America/New_York', 'cron 30 6 * * 1-5 (America/New_York): weekdays at 06:30'],
    ['0 30 6 * * *', 'UTC', 'cron 0 30 6 * * * (UTC): daily at 06:30'],
  ])('glosses the common shape %s', (expression, timezone, words) => {
    // act
    const text = describeOf(expression, timezone);

    // assert
    expect(text).toBe(words);
  });

  it.each([
    ['cron(0 9 ? * 2#1 *)', 'cron 0 9 ? * 2#1 * (UTC)'],
    ['cron(0 0 L * ? *)', 'cron 0 0 L * ? * (UTC)'],
    ['cron(0 12 1 1 ? 2027)', 'cron 0 12 1 1 ? 2027 (UTC)'],
    ['15 */10 * * * *', 'cron 15 */10 * * * * (UTC)'],
  ])('gives the other shapes as written: %s', (expression, words) => {
    // act
    const text = describeOf(expression);

    // assert
    expect(text).toBe(words);
  });
});
