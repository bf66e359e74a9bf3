import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, InvalidDurationError, parseDuration } from '../../../shared/jobs/index.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1m 30s', 90_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['1.5s', 1_500],
    ['0s', 0],
    [' 10m ', 600_000],
    ['250', 250],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('takes a bare number as milliseconds', () => {
    expect(parseDuration(1500)).toBe(1500);
    expect(parseDuration(0)).toBe(0);
  });

  it.each([
    ['5 minutes', '"5 minutes" is not a duration: use a number with a unit, e.g. 30s, 5m, 2h'],
    ['', '"" is not a duration'],
    ['m', '"m" is not a duration'],
    ['1h30', '"1h30" is not a duration'],
    ['-5s', '"-5s" is not a duration'],
    ['30m1h', '"30m1h" is not a duration: write each unit once, largest first (1h30m)'],
    ['1m1m', 'write each unit once'],
    ['0.5ms', '"0.5ms" is not a whole number of milliseconds'],
  ])('refuses %j with a message that says why', (text, message) => {
    expect(() => parseDuration(text)).toThrow(InvalidDurationError);
    expect(() => parseDuration(text)).toThrow(message);
  });

  it.each([
    [-5, '-5 is negative'],
    [1.5, '1.5 is not a whole number of milliseconds'],
    [Number.NaN, 'NaN is not a duration'],
    [Number.POSITIVE_INFINITY, 'is not a duration'],
  ])('refuses the number %d', (value, message) => {
    expect(() => parseDuration(value)).toThrow(message);
  });

  it('keeps the rule apart from the value for field messages', () => {
    const error = (() => {
      try {
        parseDuration('soon');
      } catch (e) {
        return e as InvalidDurationError;
      }
    })();
    expect(error?.value).toBe('soon');
    expect(error?.rule).toBe('is not a duration: use a number with a unit, e.g. 30s, 5m, 2h');
  });
});

describe('formatDuration', () => {
  it.each([
    [300_000, '5m'],
    [5_400_000, '1h30m'],
    [250, '250ms'],
    [0, '0s'],
    [1_500, '1s500ms'],
    [86_400_000, '1d'],
    [90_061_001, '1d1h1m1s1ms'],
  ])('writes %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('is the exact inverse of parseDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 * 86_400_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});
