/**
 * Bad CLI invocations and bad jobs files, through `main` of cli/run.ts (the binary's code in this
 * process: a call costs milliseconds, not a second of tsx start-up), against a local runtime found through
 * its state file like `punctual dev`'s. Each case checks the exit code (2 usage, 1 bad input), the exact
 * message on stderr, and that the table holds the same items afterwards. Two cases go through the real
 * binary, to show the exit codes reach the shell.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/run.js';
import type { LocalRuntime } from '../../../local/runtime.js';
import { job, put, testRuntime } from '../../support/runtime.js';

/** Every item of the table, sorted by key: equal before and after means nothing was written. */
async function snapshot(runtime: LocalRuntime): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await runtime.store.doc.send(
      new ScanCommand({ TableName: runtime.state.tableName, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  const key = (item: Record<string, unknown>) => `${item.pk}|${item.sk}`;
  return items.sort((a, b) => key(a).localeCompare(key(b)));
}

interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** The `punctual` command in this process (`main` of cli/run.ts), as a user would call it from `cwd`. */
async function punctual(cwd: string, ...argv: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
    isTTY: false,
    color: false,
    columns: 120,
    env: { NO_COLOR: '1' },
    cwd,
  });
  return { code, out, err };
}

const BIN = fileURLToPath(new URL('../../../bin/punctual.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../fixtures/bad-input/', import.meta.url));

let runtime: LocalRuntime;
let dir: string;
let dispatchedRun: string;

beforeAll(async () => {
  // The job's first slot is its creation rounded up to the second: a 2 s lookahead dispatches it.
  runtime = await testRuntime({ tick: { lookaheadMs: 2_000 } });
  await put(runtime, job('alpha', { schedule: 'rate(1 hour)' }), Date.now());
  await runtime.tick();
  dispatchedRun = (await runtime.allRuns())[0]!.runId;
  dir = await mkdtemp(join(tmpdir(), 'punctual-bad-cli-'));
  await mkdir(join(dir, '.punctual'));
  // What `punctual dev` writes once ready: this process stands for it (its pid is alive).
  await writeFile(
    join(dir, '.punctual', 'local.json'),
    JSON.stringify({ ...runtime.state, pid: process.pid }),
  );
});

afterAll(async () => {
  await runtime?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const PUT = ['--schedule', 'rate(5 minutes)', '--target', 'handler:noop'];

interface Case {
  name: string;
  argv: string[];
  code: 1 | 2;
  /** stderr, exactly (a function when it holds a path or a run id known only at run time). */
  err: string | (() => string);
}

const cases: Case[] = [
  // usage errors: commander refuses them before anything runs
  {
    name: 'an unknown command',
    argv: ['bogus'],
    code: 2,
    err: "error: unknown command 'bogus'\n(add --help for usage)\n",
  },
  {
    name: 'an unknown flag',
    argv: ['jobs', 'list', '--frobnicate'],
    code: 2,
    err: "error: unknown option '--frobnicate'\n(add --help for usage)\n",
  },
  {
    name: 'a missing job id',
    argv: ['jobs', 'get'],
    code: 2,
    err: "error: missing required argument 'id'\n(add --help for usage)\n",
  },
  {
    name: 'one argument too many',
    argv: ['jobs', 'get', 'alpha', 'extra'],
    code: 2,
    err: "error: too many arguments for 'get'. Expected 1 argument but got 2.\n(add --help for usage)\n",
  },
  {
    name: 'a flag without its value',
    argv: ['dev', '--jobs'],
    code: 2,
    err: "error: option '--jobs <file>' argument missing\n(add --help for usage)\n",
  },
  {
    name: 'a limit of 0',
    argv: ['runs', 'list', '--limit', '0'],
    code: 2,
    err: "error: option '--limit <n>' argument '0' is invalid. must be a whole number from 1\n(add --help for usage)\n",
  },
  {
    name: '--max-attempts 0',
    argv: ['jobs', 'put', 'x', ...PUT, '--max-attempts', '0'],
    code: 2,
    err: "error: option '--max-attempts <n>' argument '0' is invalid. must be a whole number from 1\n(add --help for usage)\n",
  },
  {
    name: 'a backfill without --from',
    argv: ['runs', 'backfill', 'alpha'],
    code: 2,
    err: "error: required option '--from <iso>' not specified\n(add --help for usage)\n",
  },
  {
    name: '--local and --stack together',
    argv: ['status', '--local', '--stack', 'prod'],
    code: 2,
    err: 'error: --local and --stack name two different targets; give one\n',
  },
  {
    name: '-f together with flags',
    argv: ['jobs', 'put', 'x', '-f', 'a.yaml', ...PUT],
    code: 2,
    err: 'error: give either -f FILE or a job id with flags (--schedule, --target, …), not both\n',
  },
  {
    name: 'a new job without --schedule',
    argv: ['jobs', 'put', 'x', '--target', 'handler:noop'],
    code: 2,
    err: 'error: job "x" does not exist yet: creating it needs --schedule (or -f FILE)\n',
  },
  {
    name: 'jobs validate without a file',
    argv: ['jobs', 'validate'],
    code: 2,
    err: 'error: name the jobs file: punctual jobs validate FILE\n',
  },
  // bad durations of `dev`: refused before any emulator starts
  {
    name: '--tick 0s',
    argv: ['dev', '--tick', '0s'],
    code: 1,
    err: 'error: --tick 0s: must be at least 1s\n',
  },
  {
    name: '--tick 500ms',
    argv: ['dev', '--tick', '500ms'],
    code: 1,
    err: 'error: --tick 500ms: must be at least 1s\n',
  },
  {
    name: '--tick in words',
    argv: ['dev', '--tick', 'soon'],
    code: 1,
    err: 'error: --tick "soon" is not a duration: use a number with a unit, e.g. 30s, 5m, 2h\n',
  },
  {
    name: 'a negative --duration',
    argv: ['dev', '--duration', '-5s'],
    code: 1,
    err: 'error: --duration "-5s" is not a duration: use a number with a unit, e.g. 30s, 5m, 2h\n',
  },
  {
    name: 'dev with a jobs file that does not exist',
    argv: ['dev', '--jobs', '/nonexistent/jobs.yaml', '--tick', '1s'],
    code: 1,
    err: 'error: cannot read jobs file "/nonexistent/jobs.yaml": no such file\n',
  },
  {
    name: 'dev with a jobs file that is invalid',
    argv: ['dev', '--jobs', join(FIXTURES, 'pool-concurrency-zero.yaml'), '--tick', '1s'],
    code: 1,
    err: () =>
      `error: invalid jobs file "${join(FIXTURES, 'pool-concurrency-zero.yaml')}":\n  - pools.default.concurrency 0: must be at least 1 (line 2)\n`,
  },
  // bad job definitions through `jobs put`: refused before anything is written
  {
    name: 'an hour of 25',
    argv: ['jobs', 'put', 'x', '--schedule', 'cron(0 25 * * ? *)', '--target', 'handler:noop'],
    code: 1,
    err: 'error: invalid job "x":\n  - schedule "cron(0 25 * * ? *)": hours "25" is not valid; it takes 0-23 with , - * /\n',
  },
  {
    name: 'a rate of 0 on an existing job',
    argv: ['jobs', 'put', 'alpha', '--schedule', 'rate(0 seconds)'],
    code: 1,
    err: 'error: invalid job "alpha":\n  - schedule "rate(0 seconds)": the period must be at least 1 second\n',
  },
  {
    name: 'an unknown target shorthand',
    argv: ['jobs', 'put', 'x', '--schedule', 'rate(5 minutes)', '--target', 'ftp:x'],
    code: 1,
    err: 'error: --target "ftp:x": write JSON such as {"type":"http","url":"https://example.com/hook"} or a shorthand: handler:NAME, http:URL\n',
  },
  {
    name: 'a payload that is not JSON',
    argv: ['jobs', 'put', 'x', ...PUT, '--payload', '{bad'],
    code: 1,
    err: `error: --payload "{bad": not valid JSON (Expected property name or '}' in JSON at position 1)\n`,
  },
  {
    name: 'a payload over 64 KiB',
    argv: ['jobs', 'put', 'x', ...PUT, '--payload', JSON.stringify({ blob: 'x'.repeat(70_000) })],
    code: 1,
    err: `error: invalid job "x":\n  - payload {"blob":"${'x'.repeat(111)}: is 70011 bytes as JSON; the limit is 65536 bytes (64 KiB): pass a reference (an S3 key, a URL) instead of the data\n`,
  },
  {
    name: 'an unknown time zone',
    argv: ['jobs', 'put', 'x', ...PUT, '--timezone', 'Mars/Base'],
    code: 1,
    err: 'error: invalid job "x":\n  - timezone "Mars/Base": is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)\n',
  },
  {
    name: 'a pool this deployment does not have',
    argv: ['jobs', 'put', 'x', ...PUT, '--pool', 'nowhere'],
    code: 1,
    err: 'error: invalid job "x":\n  - pool "nowhere": no such pool; this deployment has default\n',
  },
  {
    name: 'an unknown catch-up policy',
    argv: ['jobs', 'put', 'x', ...PUT, '--catch-up', 'sometimes'],
    code: 1,
    err: 'error: invalid job "x":\n  - catchUp "sometimes": must be one of skip, latest, all\n',
  },
  {
    name: 'an unknown overlap policy',
    argv: ['jobs', 'put', 'x', ...PUT, '--overlap', 'never'],
    code: 1,
    err: 'error: invalid job "x":\n  - overlap "never": must be one of allow, skip, queue, replace\n',
  },
  {
    name: 'a backoff in words',
    argv: ['jobs', 'put', 'x', ...PUT, '--backoff', 'soon'],
    code: 1,
    err: 'error: invalid job "x":\n  - retry.backoff "soon": is not a duration: use a number with a unit, e.g. 30s, 5m, 2h\n',
  },
  {
    name: 'a starting deadline of 0',
    argv: ['jobs', 'put', 'x', ...PUT, '--starting-deadline', '0s'],
    code: 1,
    err: 'error: invalid job "x":\n  - startingDeadline "0s": must be at least 1s\n',
  },
  {
    name: 'an uppercase id',
    argv: ['jobs', 'put', 'X-Upper', ...PUT],
    code: 1,
    err: 'error: invalid job "X-Upper":\n  - id "X-Upper": must be lowercase: a-z, 0-9, "-", "_" and "." only\n',
  },
  {
    name: 'a job file that does not exist',
    argv: ['jobs', 'put', '-f', '/nonexistent.yaml'],
    code: 1,
    err: 'error: cannot read "/nonexistent.yaml": no such file\n',
  },
  // bad ids, times and filters of the operations
  {
    name: 'a run id without @slot',
    argv: ['runs', 'show', 'not-a-run-id'],
    code: 1,
    err:
      'error: "not-a-run-id" is not a run id: run ids look like nightly-report@2026-12-01T02:00:00.000Z ' +
      '(the slot in UTC; seconds and milliseconds may be left out)\n',
  },
  {
    name: 'a run id of a slot never claimed',
    argv: ['runs', 'show', 'alpha@2020-01-01T00:00:00.000Z'],
    code: 1,
    err: 'error: run "alpha@2020-01-01T00:00:00.000Z" not found; `punctual runs list --job alpha` shows the runs of job "alpha"\n',
  },
  {
    name: '--since in words',
    argv: ['runs', 'list', '--since', 'yesterday'],
    code: 1,
    err: 'error: --since "yesterday": give a duration (30m, 2h, 1d) or an ISO-8601 time (2026-12-01T00:00:00Z)\n',
  },
  {
    name: 'an unknown run status',
    argv: ['runs', 'list', '--status', 'exploded'],
    code: 1,
    err: 'error: --status "exploded": not a run status; one of dispatched, queued, running, retrying, succeeded, failed, missed, skipped, cancelled\n',
  },
  {
    name: 'a backfill from a time without a zone',
    argv: ['runs', 'backfill', 'alpha', '--from', 'yesterday', '--to', '2026-01-01T00:00:00Z'],
    code: 1,
    err: 'error: --from "yesterday": not an ISO-8601 time with a zone, e.g. 2026-12-01T00:00:00Z\n',
  },
  {
    name: 'a backfill window that ends before it starts',
    argv: ['runs', 'backfill', 'alpha', '--from', '2026-01-02T00:00:00Z', '--to', '2026-01-01T00:00:00Z'],
    code: 1,
    err: 'error: --from 2026-01-02T00:00:00.000Z must be before --to 2026-01-01T00:00:00.000Z\n',
  },
  {
    name: 'a replay of a run still dispatched',
    argv: ['runs', 'replay', '<dispatched>'],
    code: 1,
    err: () =>
      `error: run ${dispatchedRun} is dispatched; only missed, skipped, failed, cancelled runs can be replayed\n`,
  },
  {
    name: 'pausing a job that does not exist',
    argv: ['jobs', 'pause', 'ghost'],
    code: 1,
    err: 'error: job "ghost" not found; `punctual jobs list` shows the jobs that exist\n',
  },
  {
    name: 'deleting a job that does not exist',
    argv: ['jobs', 'delete', 'ghost'],
    code: 1,
    err: 'error: job "ghost" not found; `punctual jobs list` shows the jobs that exist\n',
  },
  {
    name: 'the DLQ of a pool that does not exist',
    argv: ['dlq', 'list', '--pool', 'nowhere'],
    code: 1,
    err: () =>
      `error: pool "nowhere" does not exist in local runtime (${join(dir, '.punctual', 'local.json')}, pid ${process.pid}); its pools: default\n`,
  },
];

describe('a bad CLI invocation', () => {
  it.each(cases)(
    '$name: exit $code with its message, and the table is unchanged',
    async ({ argv, code, err }) => {
      const before = await snapshot(runtime);

      const result = await punctual(
        dir,
        ...argv.map((arg) => (arg === '<dispatched>' ? dispatchedRun : arg)),
      );

      expect(result.err).toBe(typeof err === 'function' ? err() : err);
      expect(result.code).toBe(code);
      expect(result.out).toBe('');
      expect(await snapshot(runtime)).toEqual(before);
    },
  );
});

const files: { file: string; violations: string[] }[] = [
  { file: 'empty.yaml', violations: ['(root): is empty: a jobs file needs a top-level jobs: list'] },
  { file: 'no-jobs-list.yaml', violations: ['jobs: is required (line 1)'] },
  {
    file: 'jobs-as-map.yaml',
    violations: ['jobs {"nightly":{"schedule":"rate(1 day)"}}: must be a list, not an object (line 2)'],
  },
  {
    file: 'list-at-root.yaml',
    violations: ['(root): must be an object with a top-level jobs: list (and optional pools:) (line 1)'],
  },
  {
    file: 'unknown-top-level.yaml',
    violations: ['schedules []: is not a known field; known fields: jobs, pools, calendars (line 2)'],
  },
  {
    file: 'pool-concurrency-zero.yaml',
    violations: ['pools.default.concurrency 0: must be at least 1 (line 2)'],
  },
  {
    file: 'pool-timeout-too-long.yaml',
    violations: ['pools.slow.timeout "20m": must be at most 15m (line 2)'],
  },
  {
    file: 'alias-duplicates-a-job.yaml',
    violations: ['jobs[1].id "copy": is already the id of jobs[0]: job ids must be unique (line 3)'],
  },
  {
    file: 'tab-indented.yaml',
    violations: [
      'FILE:2:1 "- id: tabbed": YAML syntax error on line 2: Tabs are not allowed as indentation',
      'FILE:3:1 "schedule: rate(1 hour)": YAML syntax error on line 3: Tabs are not allowed as indentation',
    ],
  },
  {
    file: 'one-good-two-bad.yaml',
    violations: [
      'jobs[1] 42: must be an object, not a number (line 5)',
      'jobs[2].schedule "rate(0 hours)": the period must be at least 1 second (line 7)',
      'jobs[2].target.type "carrier-pigeon": must be one of http, lambda, sqs, eventbridge, handler, stepfunctions, ecs (line 8)',
    ],
  },
];

describe('a bad jobs file', () => {
  // `jobs put -f` also takes a file holding one job (no `jobs:` key): it refuses these as a job, not a
  // jobs file, so only its exit code and the table are checked; `jobs validate` gives the exact message.
  it.each(files)(
    '$file: jobs validate names every violation; jobs validate and jobs put -f exit 1; nothing is written',
    async ({ file, violations }) => {
      const path = join(FIXTURES, file);
      const expected = `error: invalid jobs file "${path}":\n${violations.map((v) => `  - ${v.replace('FILE', path)}\n`).join('')}`;
      const before = await snapshot(runtime);

      const validate = await punctual(dir, 'jobs', 'validate', path);
      const putFile = await punctual(dir, 'jobs', 'put', '-f', path);

      expect(validate).toEqual({ code: 1, out: '', err: expected });
      expect(putFile.code).toBe(1);
      expect(putFile.err).toMatch(/^error: invalid /);
      expect(await snapshot(runtime)).toEqual(before);
    },
  );
});

describe('the binary', () => {
  function bin(...args: string[]): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        { cwd: dir, env: { ...process.env, NO_COLOR: '1' } },
        (error, _out, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr }),
      );
    });
  }

  it('exits 2 on an unknown flag and 1 on a bad duration, with the messages above', async () => {
    const [flag, tick] = await Promise.all([bin('jobs', 'list', '--frobnicate'), bin('dev', '--tick', '0s')]);

    expect(flag).toEqual({
      code: 2,
      stderr: "error: unknown option '--frobnicate'\n(add --help for usage)\n",
    });
    expect(tick).toEqual({ code: 1, stderr: 'error: --tick 0s: must be at least 1s\n' });
  });
});
