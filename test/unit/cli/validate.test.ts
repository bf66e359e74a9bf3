import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateJobs } from '../../../index.js';

const BIN = fileURLToPath(new URL('../../../bin/punctual.js', import.meta.url));
const INVALID_EXAMPLE = fileURLToPath(new URL('../../../examples/jobs.invalid.yaml', import.meta.url));
const NOW = Date.parse('2026-12-01T10:00:00.000Z');

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

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'punctual-validate-'));
  await writeFile(
    join(dir, 'good.yaml'),
    [
      'pools:',
      '  default: { concurrency: 2, timeout: 1m }',
      'jobs:',
      '  - id: every-5m',
      '    schedule: rate(5 minutes)',
      '    target: { type: handler, name: noop }',
      '  - id: nightly',
      '    schedule: cron(0 2 * * ? *)',
      '    timezone: Europe/Berlin',
      '    target: { type: http, url: https://example.com/hook }',
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'broken.json'), '{ "jobs": [ { "id": "a", } ] }');
});

describe('jobs validate', () => {
  it('accepts a valid file and tells each job its first slot', async () => {
    const result = await validateJobs(join(dir, 'good.yaml'), { now: NOW });

    expect(result.valid).toBe(true);
    expect(result.pools).toEqual(['default']);
    expect(result.jobs).toEqual([
      {
        id: 'every-5m',
        schedule: 'rate(5 minutes)',
        scheduleText: 'every 5 minutes',
        nextRunAt: '2026-12-01T10:00:00.000Z',
      },
      {
        id: 'nightly',
        schedule: 'cron(0 2 * * ? *)',
        scheduleText: expect.stringContaining('daily at 02:00'),
        nextRunAt: '2026-12-02T01:00:00.000Z',
      },
    ]);
  });

  it('reports every violation of an invalid file at once, each with its field path', async () => {
    const result = await validateJobs(INVALID_EXAMPLE, { now: NOW });

    expect(result.valid).toBe(false);
    const paths = result.errors.map((error) => error.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'jobs[0].schedule',
        'jobs[0].timezone',
        'jobs[1].id',
        'jobs[1].target.type',
        'jobs[2].id',
      ]),
    );
    expect(result.errors.length).toBeGreaterThanOrEqual(8);
  });

  it('checks a jobs file given as a value, with the same rules', async () => {
    const result = await validateJobs(
      {
        jobs: [
          { id: 'ping', schedule: 'rate(5 minutes)', target: { type: 'handler', name: 'noop' } },
          { id: 'Bad!' },
        ],
      },
      { now: NOW },
    );

    expect(result.valid).toBe(false);
    expect(result.file).toBe('(object)');
    expect(result.errors.map((error) => error.path)).toEqual(
      expect.arrayContaining(['jobs[1].id', 'jobs[1].schedule', 'jobs[1].target']),
    );
  });

  it('reports a JSON syntax error with its line', async () => {
    const result = await validateJobs(join(dir, 'broken.json'), { now: NOW });

    expect(result.valid).toBe(false);
    expect(result.errors[0]?.message).toContain('JSON syntax error on line 1');
  });

  it('reports a file that cannot be read as invalid, naming it and why', async () => {
    const result = await validateJobs(join(dir, 'absent.yaml'), { now: NOW });

    expect(result.valid).toBe(false);
    expect(result.errors).toEqual([
      { path: '(file)', value: join(dir, 'absent.yaml'), message: 'no such file' },
    ]);
    const directory = await validateJobs(dir, { now: NOW });
    expect(directory.errors).toEqual([{ path: '(file)', value: dir, message: 'is a directory' }]);
  });
});

describe('punctual jobs validate (binary)', () => {
  it('exits 1 on an invalid file and names the field, the value and the rule on stderr', async () => {
    const result = await cli(['jobs', 'validate', INVALID_EXAMPLE]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('jobs[0].timezone "Mars/Olympus": is not an IANA time zone');
    expect(result.stderr).toContain('jobs[1].catchUp "newest"');
  });

  it('exits 0 on a valid file and prints the result as JSON with --json', async () => {
    const result = await cli(['jobs', 'validate', join(dir, 'good.yaml'), '--json']);

    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { valid: boolean; jobs: { id: string }[]; errors: unknown[] };
    expect(json.valid).toBe(true);
    expect(json.jobs.map((job) => job.id)).toEqual(['every-5m', 'nightly']);
    expect(json.errors).toEqual([]);
  });

  it('exits 1 on a file that cannot be read, naming it, with or without --json', async () => {
    const absent = join(dir, 'absent.yaml');
    const plain = await cli(['jobs', 'validate', absent]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toBe(`error: cannot read jobs file "${absent}": no such file\n`);

    const json = await cli(['jobs', 'validate', absent, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: false,
      errors: [{ path: '(file)', message: 'no such file' }],
    });
  });
});
