import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  formatViolation,
  JobValidationError,
  PunctualError,
  type Violation,
} from '../../../shared/errors.js';
import { loadJobsFile, parseJobsFile } from '../../../shared/jobs/index.js';

const fixtures = fileURLToPath(new URL('../../fixtures/jobs/', import.meta.url));
const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));

/** A violation as `path "value": rule`, without the line it was found on (tested on its own below). */
function ruleOf({ line: _line, ...violation }: Violation): string {
  return formatViolation(violation);
}

/** The violations parseJobsFile throws for `text`, as formatted lines. */
function errorsOf(text: string, fileName = 'jobs.yaml'): string[] {
  try {
    parseJobsFile(text, fileName);
  } catch (error) {
    if (error instanceof JobValidationError) return error.violations.map(ruleOf);
    throw error;
  }
  throw new Error('expected the file to be refused');
}

describe('a valid jobs file', () => {
  it('parses every job with its defaults and the declared pools', async () => {
    const file = await loadJobsFile(join(fixtures, 'valid.yaml'));

    expect(file.jobs.map((j) => [j.id, j.target.type, j.pool])).toStrictEqual([
      ['nightly-report', 'http', 'default'],
      ['cleanup.tmp', 'lambda', 'slow'],
      ['orders_reminder', 'sqs', 'default'],
      ['heartbeat', 'eventbridge', 'default'],
      ['new-year', 'handler', 'slow'],
    ]);
    expect(file.jobs[4]?.startAt).toBe('2026-11-30T23:00:00.000Z');
    expect(file.jobs[3]?.retry).toStrictEqual({ maxAttempts: 1, backoff: 30_000 });
    expect(file.pools).toStrictEqual({
      default: { concurrency: 4, timeout: 300_000, memorySize: 512 },
      slow: { concurrency: 1, timeout: 900_000, memorySize: 1024 },
    });
  });

  it('reads JSON by its extension', () => {
    const text = JSON.stringify({
      jobs: [{ id: 'a', schedule: 'rate(1 minute)', target: { type: 'handler', name: 'x' } }],
    });

    const file = parseJobsFile(text, 'jobs.json');

    expect(file.jobs[0]?.id).toBe('a');
  });

  it('tells JSON from YAML by the content when the extension says nothing', () => {
    const json =
      '{"jobs": [{"id": "a", "schedule": "rate(1 minute)", "target": {"type": "handler", "name": "x"}}]}';
    const yaml = 'jobs:\n  - { id: b, schedule: rate(1 minute), target: { type: handler, name: x } }\n';

    expect(parseJobsFile(json, 'jobs').jobs[0]?.id).toBe('a');
    expect(parseJobsFile(yaml, 'jobs.txt').jobs[0]?.id).toBe('b');
  });

  it('accepts a file with no jobs', () => {
    expect(parseJobsFile('jobs: []\n', 'jobs.yaml')).toStrictEqual({
      jobs: [],
      pools: { default: { concurrency: 2, timeout: 300_000, memorySize: 512 } },
    });
  });
});

describe('duplicate keys', () => {
  it('refuses a JSON file that writes a key twice, naming the line (JSON.parse would keep the last)', () => {
    const text =
      '{\n  "jobs": [{ "id": "a", "schedule": "rate(1 minute)", "target": { "type": "handler", "name": "noop" } }],\n  "jobs": []\n}\n';

    const error = (() => {
      try {
        parseJobsFile(text, 'dup.json');
      } catch (e) {
        return e;
      }
    })();

    expect(error).toBeInstanceOf(JobValidationError);
    expect((error as JobValidationError).message).toMatch(
      /dup\.json:3:\d+.*JSON syntax error on line 3: duplicate key/,
    );
  });
});

describe('pools', () => {
  const job = (id: string, extra = '') =>
    `  - { id: ${id}, schedule: rate(1 minute), target: { type: handler, name: x }${extra} }\n`;

  it('always has a default pool, with the default settings when not declared', () => {
    const file = parseJobsFile(`pools:\n  fast: { concurrency: 8 }\njobs:\n${job('a')}`, 'jobs.yaml');

    expect(file.pools).toStrictEqual({
      default: { concurrency: 2, timeout: 300_000, memorySize: 512 },
      fast: { concurrency: 8, timeout: 300_000, memorySize: 512 },
    });
  });

  it('takes every default for a pool declared with nothing under it', () => {
    const file = parseJobsFile(`pools:\n  batch:\njobs:\n${job('a', ', pool: batch')}`, 'jobs.yaml');

    expect(file.pools['batch']).toStrictEqual({ concurrency: 2, timeout: 300_000, memorySize: 512 });
  });

  it('takes a batch size from 1 to 10 and refuses others, naming the field, the value and the rule', () => {
    const file = parseJobsFile(
      `pools:\n  fast: { batchSize: 10 }\njobs:\n${job('a', ', pool: fast')}`,
      'jobs.yaml',
    );
    expect(file.pools['fast']).toStrictEqual({
      concurrency: 2,
      timeout: 300_000,
      memorySize: 512,
      batchSize: 10,
    });

    const lines = errorsOf(`pools:\n  fast: { batchSize: 11 }\n  slow: { batchSize: 0 }\njobs:\n${job('a')}`);
    expect(lines.some((line) => line.startsWith('pools.fast.batchSize 11:'))).toBe(true);
    expect(lines.some((line) => line.startsWith('pools.slow.batchSize 0:'))).toBe(true);
  });

  it('refuses a job naming a pool that pools: does not declare', () => {
    const lines = errorsOf(`pools:\n  fast: {}\njobs:\n${job('a', ', pool: gpu')}`);

    expect(lines).toStrictEqual([
      'jobs[0].pool "gpu": is not declared under pools: (declared: default, fast)',
    ]);
  });

  it('creates the pools jobs name when the file has no pools:', () => {
    const file = parseJobsFile(`jobs:\n${job('a', ', pool: gpu')}`, 'jobs.yaml');

    expect(Object.keys(file.pools)).toStrictEqual(['default', 'gpu']);
  });

  it('refuses a target timeout longer than its pool can run', () => {
    const lines = errorsOf(
      `jobs:\n  - { id: a, schedule: rate(1 hour), target: { type: handler, name: x, timeout: 10m } }\n`,
    );

    expect(lines).toStrictEqual([
      'jobs[0].target.timeout "10m": is 10m, longer than the timeout of pool "default" (5m): shorten it or raise pools.default.timeout (up to 15m)',
    ]);
  });

  it.each([
    ['concurrency: 0', 'pools.fast.concurrency 0: must be at least 1'],
    ['concurrency: 1001', 'pools.fast.concurrency 1001: must be at most 1000'],
    ['timeout: 16m', 'pools.fast.timeout "16m": must be at most 15m'],
    ['timeout: 1s500ms', 'pools.fast.timeout "1s500ms": must be a whole number of seconds'],
    ['memorySize: 64', 'pools.fast.memorySize 64: must be at least 128'],
    ['memorySize: 20000', 'pools.fast.memorySize 20000: must be at most 10240'],
    ['concurency: 4', 'pools.fast.concurency 4: is not a known field (did you mean "concurrency"?)'],
  ])('refuses a pool with %s', (setting, expected) => {
    expect(errorsOf(`pools:\n  fast: { ${setting} }\njobs: []\n`)).toStrictEqual([expected]);
  });

  it('refuses a pool name that cannot name a queue', () => {
    expect(errorsOf('pools:\n  fast.lane: {}\njobs: []\n')).toStrictEqual([
      'pools["fast.lane"] "fast.lane": is not a valid pool name: 1 to 32 of a-z, 0-9, "-" and "_", starting with a letter or a digit',
    ]);
  });
});

describe('a file with mistakes', () => {
  it('reports every mistake of every job at once', async () => {
    const path = join(examples, 'jobs.invalid.yaml');

    const error = await loadJobsFile(path).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(JobValidationError);
    const lines = (error as JobValidationError).violations.map(ruleOf);
    expect(lines).toStrictEqual([
      'jobs[0].schedule "cron(0 2 * * *)": cron expressions take six fields (minutes hours day-of-month month day-of-week year), got 5',
      'jobs[0].timezone "Mars/Olympus": is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)',
      'jobs[0].target.url "ftp://example.com/hook": must be an http or https URL',
      'jobs[1].id "Cleanup@hourly": must not contain "@": run ids are jobId@slot',
      'jobs[1].schedule "rate(0 minutes)": the period must be at least 1 second',
      'jobs[1].target.type "webhook": must be one of http, lambda, sqs, eventbridge, handler, stepfunctions, ecs',
      'jobs[1].catchUp "newest": must be one of skip, latest, all',
      'jobs[2].id "nightly-report": is already the id of jobs[0]: job ids must be unique',
      'jobs[2].schedule: is required',
      'jobs[2].pool "gpu": is not declared under pools: (declared: default)',
      'jobs[2].retry.maxAttempts 0: must be at least 1',
      'jobs[2].retry.backoff "5 minutes": is not a duration: use a number with a unit, e.g. 30s, 5m, 2h',
      'jobs[2].schedul "rate(5 minutes)": is not a known field (did you mean "schedule"?)',
    ]);
    expect((error as JobValidationError).message).toMatch(
      /^invalid jobs file ".*jobs\.invalid\.yaml":\n {2}- jobs\[0\]/,
    );
  });

  it('gives each mistake the line of its field, or of its job when the field is missing', async () => {
    const error = (await loadJobsFile(join(examples, 'jobs.invalid.yaml')).catch(
      (e: unknown) => e,
    )) as JobValidationError;

    expect(error.violations.map((v) => `${v.line} ${v.path}`)).toStrictEqual([
      '23 jobs[0].schedule',
      '24 jobs[0].timezone',
      '25 jobs[0].target.url',
      '27 jobs[1].id',
      '28 jobs[1].schedule',
      '29 jobs[1].target.type',
      '30 jobs[1].catchUp',
      '32 jobs[2].id',
      '32 jobs[2].schedule', // missing: the job's first line
      '36 jobs[2].pool',
      '35 jobs[2].retry.maxAttempts',
      '35 jobs[2].retry.backoff',
      '33 jobs[2].schedul',
    ]);
    expect(error.message).toContain('  - jobs[0].timezone "Mars/Olympus": is not an IANA time zone');
    expect(error.message).toContain('America/New_York) (line 24)\n');
  });

  it('gives the lines of a JSON file too, and of a pool', () => {
    const text =
      '{\n  "pools": { "fast": { "concurrency": 0 } },\n  "jobs": [\n    { "id": "a", "schedule": "rate(0 minutes)",\n      "target": { "type": "handler", "name": "noop" } }\n  ]\n}\n';
    const error = (() => {
      try {
        parseJobsFile(text, 'jobs.json');
      } catch (e) {
        return e as JobValidationError;
      }
      throw new Error('expected a refusal');
    })();

    expect(error.violations.map((v) => `${v.line} ${v.path}`)).toStrictEqual([
      '2 pools.fast.concurrency',
      '4 jobs[0].schedule',
    ]);
  });

  it('refuses duplicate job ids, naming the first one', () => {
    const job = (id: string) =>
      `  - { id: ${id}, schedule: rate(1 minute), target: { type: handler, name: x } }\n`;

    const lines = errorsOf(`jobs:\n${job('a')}${job('b')}${job('a')}${job('a')}`);

    expect(lines).toStrictEqual([
      'jobs[2].id "a": is already the id of jobs[0]: job ids must be unique',
      'jobs[3].id "a": is already the id of jobs[0]: job ids must be unique',
    ]);
  });

  it('names the line of a YAML syntax error', () => {
    const text = 'jobs:\n  - id: a\n    schedule: [rate(1 minute)\n  - id: b\n';

    const lines = errorsOf(text);

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^jobs\.yaml:4:3 "- id: b": YAML syntax error on line 4: Flow sequence/);
  });

  it('reports one error per line and says to quote a crontab line that YAML took for an alias', () => {
    const text = 'jobs:\n  - id: a\n    schedule: */5 * * * *\n    target: { type: handler, name: x }\n';

    expect(errorsOf(text)).toStrictEqual([
      `jobs.yaml:3:19 "schedule: */5 * * * *": YAML syntax error on line 3: Unexpected alias at node end (YAML reads a value starting with * as an alias: quote it, e.g. '*/5 * * * *')`,
    ]);
  });

  it('names the line of a key written twice', () => {
    const text = 'jobs:\n  - id: a\n    schedule: rate(1 minute)\n    schedule: rate(2 minutes)\n';

    expect(errorsOf(text)).toStrictEqual([
      'jobs.yaml:4:5 "schedule: rate(2 minutes)": YAML syntax error on line 4: Map keys must be unique',
    ]);
  });

  it('names the line of a JSON syntax error', () => {
    const text = '{\n  "jobs": [\n    {"id": "a",}\n  ]\n}\n';

    const lines = errorsOf(text, 'jobs.json');

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^jobs\.json:3:16 "{\\"id\\": \\"a\\",}": JSON syntax error on line 3: /);
  });

  it.each([
    ['', '(root): is empty: a jobs file needs a top-level jobs: list'],
    ['- id: a\n', '(root): must be an object with a top-level jobs: list (and optional pools:)'],
    ['pools: {}\n', 'jobs: is required'],
    ['jobs: { id: a }\n', 'jobs {"id":"a"}: must be a list, not an object'],
    ['jobs: []\njbos: []\n', 'jbos []: is not a known field (did you mean "jobs"?)'],
  ])('refuses a file shaped wrong: %j', (text, expected) => {
    expect(errorsOf(text)).toStrictEqual([expected]);
  });
});

describe('loadJobsFile', () => {
  it('says which file it could not read', async () => {
    const missing = join(await mkdtemp(join(tmpdir(), 'punctual-jobs-')), 'nope.yaml');

    const error = await loadJobsFile(missing).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PunctualError);
    expect((error as Error).message).toBe(`cannot read jobs file "${missing}": no such file`);
  });

  it('names the file in the error of a bad file', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'punctual-jobs-')), 'bad.yaml');
    await writeFile(path, 'jobs:\n  - { id: A }\n');

    const error = await loadJobsFile(path).catch((e: unknown) => e);

    expect((error as Error).message).toContain(`invalid jobs file "${path}":`);
    expect((error as JobValidationError).violations.map((v) => v.path)).toStrictEqual([
      'jobs[0].id',
      'jobs[0].schedule',
      'jobs[0].target',
    ]);
  });
});
