import { describe, expect, it } from 'vitest';
import {
  colorWanted,
  palette,
  relative,
  roughDuration,
  shortTime,
  stripAnsi,
  table,
  visibleWidth,
} from '../../../cli/format.js';

describe('table', () => {
  it('aligns columns on the widest cell, two spaces apart, without trailing spaces', () => {
    const text = table(
      ['ID', 'STATUS'],
      [
        ['a', 'succeeded'],
        ['longer-id', 'failed'],
      ],
    );

    expect(text).toBe('ID         STATUS\na          succeeded\nlonger-id  failed\n');
  });

  it('measures coloured cells by what shows, and cuts free text to its column width', () => {
    const p = palette(true);
    const text = table(['A', 'ERROR'], [[p.red('x'), 'a very long error message']], { maxWidth: { 1: 10 } });

    const [header = '', row = ''] = text.split('\n');
    const shown = stripAnsi(row);
    expect(shown.indexOf('a very')).toBe(header.indexOf('ERROR'));
    expect(visibleWidth(row)).toBe(shown.length);
    expect(shown).toContain('a very lo…');
  });
});

describe('colours', () => {
  it('are off when NO_COLOR is set, even on a terminal', () => {
    expect(colorWanted({ NO_COLOR: '1' }, true)).toBe(false);
  });

  it('are on for a terminal and off for a pipe', () => {
    expect(colorWanted({}, true)).toBe(true);
    expect(colorWanted({}, false)).toBe(false);
  });

  it('leave the text as it is when off', () => {
    expect(palette(false).red('failed')).toBe('failed');
  });
});

describe('times and durations in words', () => {
  it('keeps the two largest units of a duration', () => {
    expect(roughDuration(350)).toBe('350ms');
    expect(roughDuration(4_250)).toBe('4.2s');
    expect(roughDuration(90_000)).toBe('1m30s');
    expect(roughDuration(3_600_000)).toBe('1h');
    expect(roughDuration(93_784_000)).toBe('1d2h');
  });

  it('says how far an instant is from now', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');

    expect(relative('2026-12-01T00:05:00Z', now)).toBe('in 5m');
    expect(relative('2026-11-30T22:00:00Z', now)).toBe('2h ago');
    expect(relative('2026-12-01T00:00:00.400Z', now)).toBe('now');
  });

  it('shortens an ISO time for a table, keeping milliseconds only when they are not zero', () => {
    expect(shortTime('2026-12-01T02:00:00.000Z')).toBe('2026-12-01 02:00:00Z');
    expect(shortTime('2026-12-01T02:00:00.250Z')).toBe('2026-12-01 02:00:00.250Z');
    expect(shortTime(undefined)).toBe('-');
  });
});
