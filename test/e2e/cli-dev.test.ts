/**
 * `punctual dev --duration … --report …` as a user runs it: it stops by itself, writes the report of SPEC
 * §6 and leaves no DynamoDB Local behind. With `--echo-server`, an http job posts to the built-in receiver,
 * which checks its HMAC signature.
 */
import { execFile, spawn } from 'node:child_process';
import { access, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/punctual.js', import.meta.url));
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function javaProcessesFor(path: string): Promise<string[]> {
  return new Promise((resolve) => {
    execFile('pgrep', ['-af', 'DynamoDBLocal'], (_error, stdout) =>
      resolve(stdout.split('\n').filter((line) => line.includes(path))),
    );
  });
}

interface Report {
  startedAt: string;
  stoppedAt: string;
  runs: Record<string, unknown>[];
}

let dir: string;
let exitCode: number | null;
let stderr = '';
let report: Report;

/** What the runtime did, for a failure message: each run's job, status and reason, and its stderr. */
function summary(): string {
  const runs = report.runs.map((run) => `${run.runId} ${run.status}(${run.reason})`).join('\n');
  return `runs:\n${runs}\nstderr:\n${stderr}`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'punctual-dev-e2e-'));
  const port = await freePort();
  await writeFile(
    join(dir, 'jobs.yaml'),
    [
      'jobs:',
      '  - id: tick',
      '    schedule: rate(1 second)',
      '    target: { type: handler, name: noop }',
      '  - id: hook',
      '    schedule: rate(1 second)',
      `    target: { type: http, url: "http://127.0.0.1:${port}/hook", hmacSecret: test-hook }`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    process.execPath,
    [
      BIN,
      'dev',
      '--jobs',
      'jobs.yaml',
      '--secret',
      'test-hook=PUNCTUAL_TEST_SECRET',
      '--tick',
      '1s',
      '--duration',
      '5s',
      '--report',
      'out/runs.json',
      '--data-dir',
      'data',
      '--echo-server',
      String(port),
    ],
    {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', PUNCTUAL_TEST_SECRET: 'shh' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  exitCode = await new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  report = JSON.parse(await readFile(join(dir, 'out', 'runs.json'), 'utf8')) as Report;
});

describe('punctual dev --duration 5s --report', () => {
  it('stops by itself after the duration with exit 0', () => {
    expect(exitCode).toBe(0);
    expect(stderr).toContain('--duration 5s passed: stopping');
    expect(Date.parse(report.stoppedAt) - Date.parse(report.startedAt)).toBeGreaterThanOrEqual(5000);
  });

  it('writes every run in the SPEC §6 format: ISO-8601 UTC times, null where a step did not happen', () => {
    const fields = [
      'jobId',
      'runId',
      'scheduledAt',
      'dispatchedAt',
      'startedAt',
      'finishedAt',
      'status',
      'reason',
      'attempt',
    ];

    expect(Object.keys(report)).toEqual(['startedAt', 'stoppedAt', 'runs']);
    expect(report.startedAt).toMatch(ISO);
    expect(report.runs.length, summary()).toBeGreaterThanOrEqual(2);
    for (const run of report.runs) {
      expect(Object.keys(run)).toEqual(fields);
      expect(run.scheduledAt).toMatch(ISO);
      for (const field of ['dispatchedAt', 'startedAt', 'finishedAt']) {
        if (run[field] !== null) expect(run[field]).toMatch(ISO);
      }
      expect(run.runId).toBe(`${run.jobId}@${run.scheduledAt}`);
    }
    expect(
      report.runs.filter((run) => run.jobId === 'tick' && run.status === 'succeeded').length,
    ).toBeGreaterThanOrEqual(2);
  });

  it('serves the http job on --echo-server, whose signature checks out', () => {
    expect(stderr, summary()).toMatch(
      /echo POST \/hook run hook@\S+ attempt 1, \d+ bytes, signature ok → 204/,
    );
    expect(
      report.runs.some((run) => run.jobId === 'hook' && run.status === 'succeeded'),
      summary(),
    ).toBe(true);
  });

  it('leaves no DynamoDB Local process and no state file behind', async () => {
    const stateFile = access(join(dir, 'data', '.punctual', 'local.json'));

    await expect(stateFile).rejects.toThrow();
    expect(await javaProcessesFor(join(dir, 'data'))).toEqual([]);
  });
});
