import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scheduleNext } from '../../../cli/commands/schedule.js';
import { InvalidScheduleError, nextSlots, PunctualError } from '../../../index.js';

const BIN = fileURLToPath(new URL('../../../bin/punctual.js', import.meta.url));

/** Runs the CLI binary as a user would (about a second of tsx start-up each). */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

const NOW = Date.parse('2026-12-01T10:00:00.000Z');

describe('schedule next', () => {
  it('lists cron slots evaluated in the zone, as UTC instants', () => {
    const result = scheduleNext('cron(0 2 * * ? *)', { tz: 'Europe/Berlin', count: 3 }, NOW);

    expect(result.slots).toEqual([
      '2026-12-02T01:00:00.000Z',
      '2026-12-03T01:00:00.000Z',
      '2026-12-04T01:00:00.000Z',
    ]);
    expect(result.description).toContain('daily at 02:00');
  });

  it('anchors a rate expression at --after, whose first slot is the anchor itself', () => {
    const result = scheduleNext('rate(90 minutes)', { after: '2026-12-01T00:00:00Z', count: 3 }, NOW);

    expect(result.slots).toEqual([
      '2026-12-01T00:00:00.000Z',
      '2026-12-01T01:30:00.000Z',
      '2026-12-01T03:00:00.000Z',
    ]);
  });

  it('anchors a rate expression at now, rounded up to the second, without --after', () => {
    const result = scheduleNext('rate(1 minute)', { count: 2 }, NOW + 250);

    expect(result.slots).toEqual(['2026-12-01T10:00:01.000Z', '2026-12-01T10:01:01.000Z']);
  });

  it('refuses an invalid expression with the rule it breaks', () => {
    expect(() => scheduleNext('rate(0 minutes)', {}, NOW)).toThrow(InvalidScheduleError);
    expect(() => scheduleNext('rate(0 minutes)', {}, NOW)).toThrow(
      'schedule "rate(0 minutes)": the period must be at least 1 second',
    );
  });

  it('refuses an --after that is not an ISO time with a zone', () => {
    expect(() => scheduleNext('rate(1 minute)', { after: '2026-12-01 00:00' }, NOW)).toThrow(PunctualError);
    expect(() => scheduleNext('rate(1 minute)', { after: '2026-12-01 00:00' }, NOW)).toThrow(
      '--after "2026-12-01 00:00"',
    );
  });
});

describe('punctual schedule next (binary)', () => {
  it('prints an array of ISO-8601 UTC slots with --json', async () => {
    const result = await cli([
      'schedule',
      'next',
      'cron(30 6 ? * MON-FRI *)',
      '--after',
      '2026-12-04T00:00:00Z',
      '--count',
      '2',
      '--json',
    ]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(['2026-12-04T06:30:00.000Z', '2026-12-07T06:30:00.000Z']);
    expect(result.stderr).toBe('');
  });

  it('prints the union of several expressions, as a job listing them gets', async () => {
    const result = await cli([
      'schedule',
      'next',
      'cron(0 9 ? * MON-FRI *)',
      'cron(0 12 ? * SAT *)',
      '--after',
      '2026-12-04T10:00:00Z',
      '--count',
      '2',
      '--json',
    ]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(['2026-12-05T12:00:00.000Z', '2026-12-07T09:00:00.000Z']);
  });

  it('exits 1 for an invalid expression, naming it and the rule', async () => {
    const result = await cli(['schedule', 'next', 'cron(0 2 * * *)']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('schedule "cron(0 2 * * *)"');
  });

  it('exits 2 for a malformed option (a usage error)', async () => {
    const result = await cli(['schedule', 'next', 'rate(1 minute)', '--count', 'many']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("option '--count <n>' argument 'many' is invalid");
  });
});

describe('nextSlots (the package export behind schedule next)', () => {
  it('takes `after` as a Date, epoch ms or ISO text alike', () => {
    const expected = ['2026-12-01T00:00:00.000Z', '2026-12-01T01:30:00.000Z'];
    const at = '2026-12-01T00:00:00Z';

    for (const after of [new Date(at), Date.parse(at), at])
      expect(nextSlots('rate(90 minutes)', { after, count: 2 }).slots).toEqual(expected);
  });

  it('refuses a count outside 1–1000 and an unparseable after, naming the field', () => {
    expect(() => nextSlots('rate(1 minute)', { after: 0, count: 0 })).toThrow(
      'count 0: must be a whole number from 1 to 1000',
    );
    expect(() => nextSlots('rate(1 minute)', { after: 'tomorrow' })).toThrow(
      'after "tomorrow": not an ISO-8601 time with a zone',
    );
  });
});

describe('schedule next with exclusion calendars', () => {
  it('marks the slots a calendar of the file excludes', async () => {
    const result = await cli([
      'schedule',
      'next',
      'cron(0 9 ? * MON-FRI *)',
      '--tz',
      'Europe/London',
      '--after',
      '2026-12-24T00:00:00Z',
      '--count',
      '3',
      '--calendars',
      'examples/jobs.yaml',
      '--json',
    ]);

    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      slots: ['2026-12-24T09:00:00.000Z', '2026-12-25T09:00:00.000Z', '2026-12-28T09:00:00.000Z'],
      excluded: {
        '2026-12-25T09:00:00.000Z': 'uk-bank-holidays',
        '2026-12-28T09:00:00.000Z': 'uk-bank-holidays',
      },
    });
  });

  it('refuses an --exclude the file does not declare, naming it', async () => {
    const result = await cli([
      'schedule',
      'next',
      'rate(1 day)',
      '--calendars',
      'examples/jobs.yaml',
      '--exclude',
      'nope',
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--exclude nope: not declared under calendars: in examples/jobs.yaml');
  });
});
