/**
 * The operator CLI end to end: `punctual dev` runs as a child process (its own DynamoDB Local and SQS
 * emulator, tick every second), and every command goes through the binary with `cwd` in its data
 * directory, so `--local` resolves through the state file. The tests share that runtime and run in order.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type DevProcess, exists, startDev } from '../support/dev.js';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;
let dev: DevProcess;

/** One CLI call, as a user makes it from the runtime's directory (about a second of tsx start-up). */
function cli(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** A call that must succeed, its stdout parsed as JSON. */
async function json<T>(...args: string[]): Promise<T> {
  const result = await cli(...args, '--json');
  if (result.code !== 0)
    throw new Error(`punctual ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Polls `read` until `done` holds (the executor works in the background). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(500);
  }
}

/** DynamoDB Local processes started for this test's data directory. */
function javaProcessesFor(path: string): Promise<string[]> {
  return new Promise((resolve) => {
    execFile('pgrep', ['-af', 'DynamoDBLocal'], (_error, stdout) =>
      resolve(stdout.split('\n').filter((line) => line.includes(path))),
    );
  });
}

interface RunJson {
  runId: string;
  jobId: string;
  status: string;
  reason: string | null;
  attempt: number;
  manual: boolean;
  backfill: boolean;
  replays: number;
  lastError: string | null;
  attempts: { attempt: number; status: string; error: string | null }[];
}

interface JobJson {
  id: string;
  scheduleText: string | null;
  enabled: boolean;
  note: string | null;
  nextRunAt: string | null;
}

interface StatusJson {
  healthy: boolean;
  heartbeat: { ageMs: number | null; stale: boolean };
  queues: Record<string, { dlq: number }>;
  runsLastHour: Record<string, number>;
  problems: string[];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'punctual-cli-e2e-'));
  await writeFile(
    join(dir, 'jobs.yaml'),
    [
      'jobs:',
      '  - id: ticker',
      '    schedule: rate(5 seconds)',
      '    target: { type: handler, name: noop }',
      '',
    ].join('\n'),
  );
  dev = await startDev(['--jobs', 'jobs.yaml', '--tick', '1s', '--data-dir', dir], dir);
});

afterAll(async () => {
  await dev?.stop();
});

describe('punctual CLI against a running `punctual dev`', () => {
  it('status is healthy (exit 0) while the tick runs and nothing failed', async () => {
    const result = await until(
      () => cli('status', '--json'),
      (r) => r.code === 0,
      10_000,
    );

    const status = JSON.parse(result.stdout) as StatusJson;
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(''); // no AWS SDK Node-version warning either
    expect(status.healthy).toBe(true);
    expect(status.heartbeat.stale).toBe(false);
    expect(status.problems).toEqual([]);
  });

  it('jobs put creates a job from flags, and jobs list shows it with its schedule in words', async () => {
    const put = await json<{ id: string; created: boolean; nextRunAt: string }[]>(
      'jobs',
      'put',
      'made-here',
      '--schedule',
      'rate(1 hour)',
      '--target',
      'handler:noop',
    );
    const jobs = await json<JobJson[]>('jobs', 'list');

    expect(put).toEqual([expect.objectContaining({ id: 'made-here', created: true })]);
    expect(jobs.map((job) => job.id)).toEqual(['made-here', 'ticker']);
    expect(jobs[0]).toMatchObject({ scheduleText: 'every hour', enabled: true, note: null });
    expect(jobs[1]).toMatchObject({ scheduleText: 'every 5 seconds' });
  });

  it('jobs pause keeps the job with its note, and jobs resume brings it back', async () => {
    const paused = await json<JobJson>('jobs', 'pause', 'made-here', '--note', 'maintenance (test)');
    const resumed = await json<JobJson>('jobs', 'resume', 'made-here');

    expect(paused).toMatchObject({ id: 'made-here', enabled: false, note: 'maintenance (test)' });
    expect(resumed).toMatchObject({ id: 'made-here', enabled: true, note: null });
    expect(resumed.nextRunAt).not.toBeNull();
  });

  it('jobs trigger runs the job once now; runs list and jobs get show the manual run', async () => {
    const triggered = await json<RunJson>('jobs', 'trigger', 'made-here');
    const shown = await until(
      () => json<RunJson>('runs', 'show', triggered.runId),
      (run) => run.status === 'succeeded',
    );
    const [listed, described] = await Promise.all([
      json<RunJson[]>('runs', 'list', '--job', 'made-here'),
      json<{
        lastRuns: RunJson[];
        nextSlots: string[];
        counts: Record<string, number>;
        definition: { schedule: string };
      }>('jobs', 'get', 'made-here'),
    ]);

    expect(triggered.runId).toMatch(/^made-here@manual-\d{4}-/);
    expect(shown).toMatchObject({ status: 'succeeded', reason: 'ok', attempt: 1, manual: true });
    expect(listed.find((run) => run.runId === triggered.runId)).toMatchObject({
      status: 'succeeded',
      manual: true,
    });
    expect(described.definition.schedule).toBe('rate(1 hour)');
    expect(described.lastRuns.map((run) => run.runId)).toContain(triggered.runId);
    expect(described.nextSlots).toHaveLength(10);
    expect(described.counts.succeeded).toBeGreaterThanOrEqual(1);
  });

  it('jobs delete removes the job, whose id is then unknown (exit 1, pointing at jobs list)', async () => {
    const deleted = await json<{ id: string; deleted: boolean }>('jobs', 'delete', 'made-here');
    const get = await cli('jobs', 'get', 'made-here');

    expect(deleted).toEqual({ id: 'made-here', deleted: true });
    expect(get.code).toBe(1);
    expect(get.stderr).toContain('job "made-here" not found');
    expect(get.stderr).toContain('punctual jobs list');
  });

  it('runs backfill creates one run per past slot, and a second backfill of the window creates none', async () => {
    await json('jobs', 'put', 'hourly', '--schedule', 'cron(0 * * * ? *)', '--target', 'handler:noop');
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const from = new Date(hour - 4 * 3_600_000).toISOString();
    const to = new Date(hour).toISOString(); // exclusive: the slot at `hour` is left out

    const first = await cli('runs', 'backfill', 'hourly', '--from', from, '--to', to, '--json');
    const again = await json<{ slots: number; created: number; existing: number }>(
      'runs',
      'backfill',
      'hourly',
      '--from',
      from,
      '--to',
      to,
    );
    const runs = await until(
      () => json<RunJson[]>('runs', 'list', '--job', 'hourly', '--since', from),
      (list) => list.filter((run) => run.backfill && run.status === 'succeeded').length === 4,
    );

    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ jobId: 'hourly', slots: 4, created: 4, existing: 0 });
    expect(first.stderr).toContain('backfill hourly: 4/4');
    expect(again).toMatchObject({ slots: 4, created: 0, existing: 4 });
    expect(runs.filter((run) => run.backfill).map((run) => run.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
  });

  it('a failing job reaches the DLQ, status turns unhealthy (exit 3), and replay and redrive run it again', async () => {
    // One job from a file (-f), failing on its first attempt only, with no retry: each run fails once.
    await writeFile(
      join(dir, 'failing.yaml'),
      [
        'id: failing',
        'schedule: at(2099-01-01T00:00:00)',
        'target: { type: handler, name: fail }',
        'payload: { succeedOnAttempt: 2, message: boom from the test }',
        'retry: { maxAttempts: 1, backoff: 1s }',
        '',
      ].join('\n'),
    );
    await json('jobs', 'put', '-f', 'failing.yaml');
    const a = await json<RunJson>('jobs', 'trigger', 'failing');
    const b = await json<RunJson>('jobs', 'trigger', 'failing');
    const failed = await until(
      () => json<RunJson[]>('runs', 'list', '--job', 'failing', '--status', 'failed'),
      (list) => list.length === 2,
    );
    // One after the other: a listing hides the DLQ's messages for a moment.
    const status = await cli('status', '--json');
    const listed = await json<{ runId: string; lastError: string; attempts: number }[]>('dlq', 'list');

    expect(failed.map((run) => run.runId).sort()).toEqual([a.runId, b.runId].sort());
    expect(status.code).toBe(3);
    const report = JSON.parse(status.stdout) as StatusJson;
    expect(report.healthy).toBe(false);
    expect(report.queues.default?.dlq).toBe(2);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('2 message(s) in the DLQ'),
        expect.stringContaining('2 failed'),
      ]),
    );
    expect(listed.map((entry) => entry.runId).sort()).toEqual([a.runId, b.runId].sort());
    expect(listed.every((entry) => entry.lastError === 'boom from the test' && entry.attempts === 1)).toBe(
      true,
    );

    // Replay one from the CLI, redrive the DLQ (both messages): each run ends succeeded, once.
    const replayed = await json<RunJson>('runs', 'replay', a.runId);
    const redrive = await cli('dlq', 'redrive', '--json');
    const runs = await until(
      () => json<RunJson[]>('runs', 'list', '--job', 'failing'),
      (list) => list.length === 2 && list.every((run) => run.status === 'succeeded'),
    );
    const emptied = await json<unknown[]>('dlq', 'list');

    expect(replayed).toMatchObject({ runId: a.runId, status: 'dispatched', replays: 1 });
    expect(redrive.code).toBe(0);
    expect(JSON.parse(redrive.stdout)).toEqual([
      { pool: 'default', status: 'COMPLETED', moved: 2, toMove: 2, failureReason: null },
    ]);
    expect(redrive.stderr).toContain('redrive default: 2/2 moved');
    expect(
      runs.map((run) => [run.status, run.attempt, run.attempts.map((attempt) => attempt.status)]),
    ).toEqual([
      ['succeeded', 2, ['failed', 'succeeded']],
      ['succeeded', 2, ['failed', 'succeeded']],
    ]);
    expect(emptied).toEqual([]);
  });

  it('refuses bad input with exit 1 and a message naming the field or the id', async () => {
    await writeFile(join(dir, 'malformed.yaml'), 'jobs:\n  - id: x\n    schedule: [rate(1 minute)\n');

    const [schedule, file, run, trigger] = await Promise.all([
      cli('jobs', 'put', 'bad', '--schedule', 'rate(0 minutes)', '--target', 'handler:noop'),
      cli('jobs', 'put', '-f', 'malformed.yaml'),
      cli('runs', 'show', 'ghost@2026-01-01T00:00:00.000Z'),
      cli('jobs', 'trigger', 'ghost'),
    ]);

    expect(schedule.code).toBe(1);
    expect(schedule.stderr).toContain('schedule "rate(0 minutes)": the period must be at least 1 second');
    expect(file.code).toBe(1);
    expect(file.stderr).toMatch(/malformed\.yaml:\d+:\d+.*YAML syntax error/);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'run "ghost@2026-01-01T00:00:00.000Z" not found: there is no job "ghost"; `punctual jobs list`',
    );
    expect(trigger.code).toBe(1);
    expect(trigger.stderr).toContain('job "ghost" not found; `punctual jobs list`');
  });

  it('SIGTERM stops punctual dev cleanly: exit 0, state file removed, no DynamoDB Local left', async () => {
    expect(await javaProcessesFor(dir)).toHaveLength(1);

    dev.child.kill('SIGTERM');
    const code = await dev.exit;

    expect(code).toBe(0);
    expect(dev.stderr()).toContain('SIGTERM: stopping');
    expect(await exists(join(dir, '.punctual', 'local.json'))).toBe(false);
    expect(await javaProcessesFor(dir)).toEqual([]);
  });
});
