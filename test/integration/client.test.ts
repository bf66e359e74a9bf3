/**
 * `PunctualClient` against DynamoDB Local and the SQS emulator: every method, through the state file of a
 * local runtime (as `PunctualClient.local()` finds `punctual dev`), with one clock shared by the runtime
 * and the client so that time moves by hand. Every value returned is checked against the public schemas.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCalendarDelete, runCalendarGet } from '../../cli/commands/calendars.js';
import { runGet, runList, runPut } from '../../cli/commands/jobs.js';
import { runRunsList } from '../../cli/commands/runs.js';
import { jobPage } from '../../console/pages.js';
import type { LocalRuntime } from '../../local/runtime.js';
import { stateFilePath } from '../../shared/client/connection.js';
import { dlqEntrySchema, redriveResultSchema } from '../../shared/client/dlq.js';
import { statusReportSchema } from '../../shared/client/health.js';
import {
  CalendarInUseError,
  type JobInput,
  JobNotFoundError,
  JobValidationError,
  PunctualClient,
  PunctualError,
  RunNotFoundError,
} from '../../shared/client/index.js';
import {
  backfillResultSchema,
  jobDetailSchema,
  jobSchema,
  putJobResultSchema,
  runSchema,
} from '../../shared/client/views.js';
import { job, ManualClock, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
let client: PunctualClient | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await runtime?.stop();
  runtime = undefined;
});

/** A job input (the support helper fills in the target). */
function def(id: string, fields: Parameters<typeof job>[1]): JobInput {
  return job(id, fields) as JobInput;
}

/** A runtime whose state file is in a fresh directory, and a client that found it there. */
async function setup(clock: ManualClock, lookaheadMs = 0) {
  const dir = await mkdtemp(join(tmpdir(), 'punctual-client-'));
  runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs }, stateFile: stateFilePath(dir) });
  client = await PunctualClient.local(dir, { clock: clock.fn });
  return { runtime, client, dir };
}

describe('PunctualClient: jobs', () => {
  it('puts, gets, lists, pauses, resumes and deletes a job, returning plain typed objects', async () => {
    const clock = new ManualClock(T0);
    const { client } = await setup(clock);

    const put = await client.putJob(def('report', { schedule: 'rate(1 hour)', description: 'hourly' }));
    const detail = await client.getJob('report');
    const listed = await client.listJobs();
    clock.advance(1000);
    const paused = await client.pauseJob('report', { note: 'maintenance (alice)' });
    const resumed = await client.resumeJob('report');
    const updated = await client.putJob(def('report', { schedule: 'rate(2 hours)', description: 'hourly' }));
    await client.deleteJob('report');

    expect(putJobResultSchema.parse(put)).toEqual(put);
    expect(put).toMatchObject({ created: true, changes: ['created'], warnings: [] });
    expect(put.job).toMatchObject({
      id: 'report',
      schedule: 'rate(1 hour)',
      scheduleText: 'every hour',
      enabled: true,
      note: null,
      // The first slot (T0) was claimed and sent at once: the next unclaimed one is an hour later.
      nextRunAt: '2026-12-01T01:00:00.000Z',
    });
    expect(jobDetailSchema.parse(detail)).toEqual(detail);
    expect(detail.definition).toMatchObject({
      id: 'report',
      description: 'hourly',
      retry: { backoff: '30s' },
    });
    expect(detail.nextSlots).toHaveLength(10);
    expect(listed.map((j) => jobSchema.parse(j).id)).toEqual(['report']);
    expect(paused).toMatchObject({ enabled: false, note: 'maintenance (alice)', upcomingAt: null });
    expect(resumed).toMatchObject({ enabled: true, note: null });
    expect(updated).toMatchObject({ created: false, changes: ['schedule'] });
    expect(updated.job.schedule).toBe('rate(2 hours)');
    expect(await client.listJobs()).toEqual([]);
  });

  it('throws JobNotFoundError naming the id for every operation on a job that does not exist', async () => {
    const { client } = await setup(new ManualClock(T0));

    const attempts: (() => Promise<unknown>)[] = [
      () => client.getJob('ghost'),
      () => client.pauseJob('ghost'),
      () => client.resumeJob('ghost'),
      () => client.deleteJob('ghost'),
      () => client.triggerJob('ghost'),
      () => client.listRuns({ jobId: 'ghost' }),
      () => client.backfill('ghost', { from: T0 - 3_600_000, to: T0 }),
    ];

    for (const attempt of attempts) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobNotFoundError);
      expect(error).toMatchObject({ jobId: 'ghost', name: 'JobNotFoundError' });
    }
  });

  it('throws JobValidationError carrying every violation, a pool the deployment lacks included', async () => {
    const { client } = await setup(new ManualClock(T0));

    const invalid = await client
      .putJob({
        id: 'Bad Id',
        schedule: 'rate(0 minutes)',
        timezone: 'Mars/Olympus',
        target: { type: 'handler', name: 'noop' },
      })
      .catch((e: unknown) => e);
    const noPool = await client
      .putJob(def('orphan', { schedule: 'rate(1 hour)', pool: 'gpu' }))
      .catch((e: unknown) => e);

    expect(invalid).toBeInstanceOf(JobValidationError);
    expect(invalid).toBeInstanceOf(PunctualError);
    expect((invalid as JobValidationError).violations.map((v) => v.path).sort()).toEqual([
      'id',
      'schedule',
      'timezone',
    ]);
    expect(noPool).toMatchObject({
      name: 'JobValidationError',
      violations: [{ path: 'pool', value: 'gpu', message: 'no such pool; this deployment has default' }],
    });
    expect(await client.listJobs()).toEqual([]);
  });
});

describe('PunctualClient: runs', () => {
  it('runs a one-shot at() job put through the client, and lists its run as succeeded', async () => {
    const clock = new ManualClock(T0);
    const { runtime, client } = await setup(clock);

    await client.putJob(def('once', { schedule: 'at(2026-12-01T00:00:05)' }));
    clock.set(T0 + 5000);
    await runtime.tick();
    const outcomes = await runtime.drain();
    const runs = await client.listRuns({ jobId: 'once' });

    expect(outcomes).toEqual(['succeeded']);
    expect(runs).toHaveLength(1);
    expect(runSchema.parse(runs[0])).toEqual(runs[0]);
    expect(runs[0]).toMatchObject({
      runId: 'once@2026-12-01T00:00:05.000Z',
      jobId: 'once',
      scheduledAt: '2026-12-01T00:00:05.000Z',
      status: 'succeeded',
      reason: 'ok',
      attempt: 1,
      targetType: 'handler',
      pool: 'default',
      maxAttempts: 3,
    });
    expect((await client.getJob('once')).nextSlots).toEqual([]);
  });

  it('triggers, gets, filters newest first, replays and backfills runs', async () => {
    const clock = new ManualClock(T0);
    const { runtime, client } = await setup(clock);
    await client.putJob(
      def('flaky', {
        schedule: 'rate(1 minute)',
        retry: { maxAttempts: 1, backoff: '1s' },
        target: { type: 'handler', name: 'fail' },
        payload: { message: 'fails before a replay', succeedOnAttempt: 2 },
      }),
    );
    await runtime.tick();
    await runtime.drain();
    clock.advance(60_000);
    await runtime.tick();
    await runtime.drain();

    const failed = await client.listRuns({ jobId: 'flaky', status: 'failed' });
    const recent = await client.listRuns({ since: new Date(T0 + 30_000), limit: 5 });
    const shown = await client.getRun('flaky@2026-12-01T00:00:00.000Z');
    const replayed = await client.replayRun('flaky@2026-12-01T00:00:00.000Z');
    await runtime.drain();
    const afterReplay = await client.getRun('flaky@2026-12-01T00:00:00.000Z');
    clock.advance(1000);
    const manual = await client.triggerJob('flaky');
    const backfilled = await client.backfill('flaky', {
      from: '2026-11-30T23:57:00Z',
      to: '2026-12-01T00:00:00Z',
    });
    const again = await client.backfill('flaky', { from: T0 - 180_000, to: T0 });

    expect(failed.map((run) => run.runId)).toEqual([
      'flaky@2026-12-01T00:01:00.000Z',
      'flaky@2026-12-01T00:00:00.000Z',
    ]);
    expect(recent.map((run) => run.scheduledAt)).toEqual(['2026-12-01T00:01:00.000Z']);
    expect(shown).toMatchObject({ status: 'failed', lastError: expect.stringContaining('fails before') });
    expect(runSchema.parse(replayed)).toEqual(replayed);
    expect(afterReplay).toMatchObject({ status: 'succeeded', replays: 1, attempt: 2 });
    expect(manual).toMatchObject({ jobId: 'flaky', manual: true, status: 'dispatched' });
    expect(manual.runId).toBe('flaky@manual-2026-12-01T00:01:01.000Z');
    expect(backfillResultSchema.parse(backfilled)).toEqual({
      slots: 3,
      created: 3,
      existing: 0,
      excluded: 0,
    });
    expect(again).toEqual({ slots: 3, created: 0, existing: 3, excluded: 0 });
    // An operator may leave out the slot's seconds and milliseconds (issue 21 item 10).
    expect((await client.getRun('flaky@2026-12-01T00:00Z')).runId).toBe(shown.runId);
    expect((await client.getRun('flaky@2026-12-01T00:00:00Z')).runId).toBe(shown.runId);
    expect((await client.getRun('flaky@manual-2026-12-01T00:01:01Z')).runId).toBe(manual.runId);
    await expect(client.getRun('flaky@2026-12-01T25:01Z')).rejects.toThrow(
      'seconds and milliseconds may be left out',
    );
  });

  it('throws RunNotFoundError for a run id of a slot never claimed, and refuses what is not a run id', async () => {
    const { client } = await setup(new ManualClock(T0));

    await expect(client.getRun('x@2026-12-01T00:00:00.000Z')).rejects.toBeInstanceOf(RunNotFoundError);
    await expect(client.replayRun('x@2026-12-01T00:00:00.000Z')).rejects.toMatchObject({
      name: 'RunNotFoundError',
      runId: 'x@2026-12-01T00:00:00.000Z',
    });
    await expect(client.getRun('nonsense')).rejects.toThrow('"nonsense" is not a run id');
    await expect(client.listRuns({ since: 'yesterday' })).rejects.toThrow('since "yesterday": not a time');
  });
});

describe('PunctualClient: DLQ and health', () => {
  it('lists a failed run in the DLQ, reports it in status, and redrives it', async () => {
    const clock = new ManualClock(T0);
    const { runtime, client } = await setup(clock);
    await client.putJob(
      def('doomed', {
        schedule: 'rate(1 hour)',
        retry: { maxAttempts: 1, backoff: '1s' },
        target: { type: 'handler', name: 'fail' },
      }),
    );
    await runtime.tick();
    await runtime.drain();

    const listed = await client.listDlq();
    const status = await client.status();
    const redriven = await client.redriveDlq({ pollMs: 50 });

    expect(listed).toHaveLength(1);
    expect(dlqEntrySchema.parse(listed[0])).toMatchObject({
      pool: 'default',
      runId: 'doomed@2026-12-01T00:00:00.000Z',
      poison: false,
    });
    expect(statusReportSchema.parse(status)).toEqual(status);
    expect(status.healthy).toBe(false);
    expect(status.queues.default?.dlq).toBe(1);
    expect(status.problems.join('\n')).toContain('1 message(s) in the DLQ');
    expect(redriven.map((result) => redriveResultSchema.parse(result))).toEqual([
      { pool: 'default', status: 'COMPLETED', moved: 1, toMove: 1, failureReason: null },
    ]);
    await expect(client.listDlq({ pool: 'gpu' })).rejects.toThrow('pool "gpu" does not exist');
  });

  it("status names a deleted job's DLQ messages; purge deletes that job's only, and only when asked", async () => {
    const clock = new ManualClock(T0);
    const { runtime, client } = await setup(clock);
    const failing = {
      schedule: 'rate(1 hour)',
      retry: { maxAttempts: 1, backoff: '1s' },
      target: { type: 'handler', name: 'fail' },
    };
    await client.putJob(def('gone', failing));
    await client.putJob(def('kept', failing));
    await runtime.tick();
    await runtime.drain();
    await client.deleteJob('gone');

    const status = await client.status();
    const dryRun = await client.purgeDlq({ jobId: 'gone', dryRun: true });
    const afterDryRun = await client.listDlq();
    const purged = await client.purgeDlq({ jobId: 'gone' });
    const left = await client.listDlq();
    const statusAfter = await client.status();

    expect(status.problems.join('\n')).toContain(
      "2 message(s) in the DLQ, of jobs gone (deleted), kept; a deleted job's can go: punctual dlq purge --job gone --yes",
    );
    expect(
      dryRun.map((result) => [result.pool, result.entries.map((entry) => entry.runId), result.kept]),
    ).toEqual([['default', ['gone@2026-12-01T00:00:00.000Z'], 1]]);
    expect(afterDryRun.map((entry) => entry.jobId).sort()).toEqual(['gone', 'kept']);
    expect(purged.map((result) => [result.entries.map((entry) => entry.jobId), result.kept])).toEqual([
      [['gone'], 1],
    ]);
    expect(left.map((entry) => entry.jobId)).toEqual(['kept']);
    expect(statusAfter.problems.join('\n')).toContain(
      '1 message(s) in the DLQ, of job kept (punctual dlq list',
    );
    // The run keeps its fate: only the chance to redrive it went.
    expect((await client.getRun('gone@2026-12-01T00:00:00.000Z')).status).toBe('failed');
  });
});

describe('punctual runs list, on the client', () => {
  it('lists a sent slot only with --upcoming, its attempt shown as - until it starts', async () => {
    const clock = new ManualClock(T0);
    const { runtime, client } = await setup(clock);
    await client.putJob(def('soon', { schedule: 'rate(1 hour)' }));
    await runtime.tick(); // sent, not yet received by an executor
    const { out, io, target } = await cliOn(client);

    await runRunsList(io, target, {}, clock.now);
    const happened = out.splice(0).join('');
    await runRunsList(io, target, { upcoming: true }, clock.now);
    const upcoming = out.splice(0).join('');

    expect(happened).toBe('no runs match (slots sent but not started yet are listed with --upcoming)\n');
    const row = upcoming.split('\n').find((line) => line.startsWith('soon@'));
    expect(row?.split(/\s{2,}/).slice(0, 3)).toEqual(['soon@2026-12-01T00:00:00.000Z', 'dispatched', '-']);
  });
});

/** The CLI's commands on `client`: an Io that keeps what they print (`out`), and the target they act on. */
async function cliOn(client: PunctualClient) {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    out: (t: string) => out.push(t),
    err: (t: string) => err.push(t),
    isTTY: false,
    color: false,
    columns: 160,
    env: {},
    cwd: '.',
  };
  return { out, err, io, target: { ...(await client.deployment()), client, close() {} } };
}

describe('the next slot: one meaning in every command', () => {
  it('is the next slot that will run, marked sent once claimed: put, get and list agree on an at() job', async () => {
    // A one-shot 20 s ahead: the put's own claim sends it (the lookahead is 60 s), so its next unclaimed slot is none.
    const clock = new ManualClock(T0);
    const { runtime, client } = await setup(clock, 60_000);
    const { out, io, target } = await cliOn(client);

    await runPut(
      io,
      target,
      'soon',
      { schedule: 'at(2026-12-01T00:00:20)', target: 'handler:noop' },
      clock.now,
    );
    const put = out.splice(0).join('');
    await runGet(io, target, 'soon', {}, clock.now);
    const get = out.splice(0).join('');
    await runList(io, target, {}, clock.now);
    const list = out.splice(0).join('');
    const detail = await client.getJob('soon');

    expect(put).toBe('created soon: next slot 2026-12-01 00:00:20Z (in 20s, sent)\n');
    expect(detail).toMatchObject({ nextRunAt: null, upcomingAt: '2026-12-01T00:00:20.000Z' });
    expect(detail.nextSlots).toEqual(['2026-12-01T00:00:20.000Z']);
    expect(get).toContain('next slot          2026-12-01 00:00:20Z (in 20s, sent)');
    expect(get).toMatch(
      /Next 1 slots\n {2}2026-12-01 00:00:20Z {2}in 20s {2}sent \(claimed, starts at its second\)\n/,
    );
    expect(list).toContain('2026-12-01 00:00:20Z (in 20s, sent)');

    // Run, it is no next slot any more, in any of them.
    clock.set(T0 + 20_000);
    await runtime.drain();
    await runGet(io, target, 'soon', {}, clock.now);
    expect(out.splice(0).join('')).toContain('Next 0 slots\n');
    expect((await client.getJob('soon')).upcomingAt).toBeNull();
  });

  it('a slot not yet claimed is the next slot, unmarked', async () => {
    const clock = new ManualClock(T0);
    const { client } = await setup(clock); // lookahead 0: a put claims nothing ahead
    const { out, io, target } = await cliOn(client);

    await runPut(
      io,
      target,
      'hourly',
      { schedule: 'rate(1 hour)', target: 'handler:noop' },
      clock.now + 1000,
    );

    expect(out.join('')).toBe('created hourly: next slot 2026-12-01 01:00:00Z (in 59m59s)\n');
  });
});

describe('PunctualClient.putJob on the local runtime', () => {
  it('refuses a handler its executors do not hold, naming the field and the handlers they do', async () => {
    const clock = new ManualClock(T0);
    const { client } = await setup(clock);

    const error = await client
      .putJob(def('typo', { schedule: 'rate(1 hour)', target: { type: 'handler', name: 'nosuch' } }))
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(JobValidationError);
    expect((error as JobValidationError).violations).toEqual([
      expect.objectContaining({ path: 'target.name', value: 'nosuch' }),
    ]);
    expect((error as Error).message).toMatch(
      /is not a handler this deployment's executors hold \(they hold: .*noop/,
    );
    expect((await client.listJobs()).map((job) => job.id)).not.toContain('typo');
  });
});

describe('PunctualClient: finding a deployment', () => {
  it('names the state file it looked for when no punctual dev runs in the directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'punctual-client-none-'));

    await expect(PunctualClient.local(dir)).rejects.toThrow(
      `no local runtime: ${stateFilePath(dir)} does not exist`,
    );
  });

  it('refuses options that name no deployment, without any I/O', () => {
    expect(() => new PunctualClient({} as never)).toThrow(
      'give stackName (a deployed stack), or tableName and queues',
    );
    expect(() => new PunctualClient({ tableName: 't', queues: 'q' } as never)).toThrow('queues "q"');
  });

  it('talks to a table and queues named directly', async () => {
    const clock = new ManualClock(T0);
    const { runtime } = await setup(clock);
    const direct = new PunctualClient({
      tableName: runtime.state.tableName,
      queues: Object.fromEntries(runtime.pools.map((pool) => [pool.name, pool.queueUrl])),
      endpoint: runtime.state.dynamoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      clock: clock.fn,
    });
    try {
      // DynamoDB calls only: one endpoint serves one emulator.
      await direct.putJob(def('direct', { schedule: 'rate(1 hour)' }));
      expect((await direct.listJobs()).map((j) => j.id)).toEqual(['direct']);
      expect(await direct.deployment()).toMatchObject({ kind: 'table', tableName: runtime.state.tableName });
    } finally {
      direct.close();
    }
  });
});

describe('calendars get', () => {
  it('shows one calendar: zone, dates, ranges and cron (and --json the definition); an unknown name is an error', async () => {
    const clock = new ManualClock(T0);
    const { client } = await setup(clock);
    const { out, io, target } = await cliOn(client);
    await client.putCalendar('freeze', {
      timezone: 'Europe/London',
      description: 'change freeze',
      dates: ['2026-12-25'],
      ranges: [{ from: '2026-12-31T18:00:00', to: '2027-01-02' }],
      cron: ['cron(0 * ? * SUN *)'],
    });

    await runCalendarGet(io, target, 'freeze', {});
    const text = out.join('');
    expect(text).toMatch(/name\s+freeze/);
    expect(text).toMatch(/zone\s+Europe\/London/);
    expect(text).toMatch(/description\s+change freeze/);
    expect(text).toMatch(/dates\s+2026-12-25/);
    expect(text).toContain('[2026-12-31T18:00:00, 2027-01-02)');
    expect(text).toMatch(/cron\s+cron\(0 \* \? \* SUN \*\)/);

    out.length = 0;
    await runCalendarGet(io, target, 'freeze', { json: true });
    expect(JSON.parse(out.join(''))).toMatchObject({
      name: 'freeze',
      timezone: 'Europe/London',
      dates: ['2026-12-25'],
    });
    await expect(runCalendarGet(io, target, 'nope', {})).rejects.toThrow('no calendar "nope"');
  });
});

describe('maxRuns progress and the previous run, where a job is shown', () => {
  it('getJob, jobs get and the console job page show the runs started of maxRuns and the run handed on as previous', async () => {
    // prepare: a job with maxRuns 3; two slots run
    const clock = new ManualClock(T0);
    const { runtime, client } = await setup(clock);
    const { out, io, target } = await cliOn(client);
    await client.putJob(def('limited', { schedule: 'rate(1 minute)', maxRuns: 3 }));
    await client.putJob(def('unlimited', { schedule: 'rate(1 hour)' }));
    for (let i = 0; i < 2; i++) {
      await runtime.tick();
      await runtime.drain();
      clock.advance(60_000);
    }

    // act
    const detail = await client.getJob('limited');
    const other = await client.getJob('unlimited');
    await runGet(io, target, 'limited', {}, clock.now);
    const page = String(
      await jobPage(client, 'limited', { window: 'hour', now: clock.now, allowActions: false }),
    );

    // assert
    expect(jobDetailSchema.parse(detail)).toEqual(detail);
    expect(detail.state.runsStarted).toBe(2);
    expect(detail.state.previous).toMatchObject({
      runId: 'limited@2026-12-01T00:01:00.000Z',
      status: 'succeeded',
      reason: 'ok',
    });
    expect(other.state).toMatchObject({ runsStarted: null });
    const text = out.join('');
    expect(text).toMatch(/runs started\s+2 of maxRuns 3/);
    expect(text).toMatch(/previous\s+succeeded limited@2026-12-01T00:01:00.000Z \(handed to the next run\)/);
    expect(page).toContain('<span data-runs-started>runs started 2 of maxRuns 3</span>');
    expect(page).toContain('limited@2026-12-01T00:01:00.000Z</a> succeeded</span>');
  });
});

describe('calendars and operator runs', () => {
  it('a manual trigger and a replay run whatever the calendars say; a backfill honours them unless ignoreCalendars', async () => {
    // prepare: hourly, excluding [22:00 on 30 November, 01:00 on 1 December); created at 00:00 on the 1st
    const clock = new ManualClock(T0);
    const { runtime, client } = await setup(clock);
    await client.putCalendar('window', { ranges: [{ from: '2026-11-30T22:00', to: '2026-12-01T01:00' }] });
    await client.putJob(def('hourly', { schedule: 'rate(1 hour)', exclude: ['window'] }));
    await runtime.tick();
    await runtime.drain();

    // act: a trigger inside the window; a replay of the slot it skipped; backfills of the evening before
    clock.advance(60_000);
    const manual = await client.triggerJob('hourly');
    const replayed = await client.replayRun('hourly@2026-12-01T00:00:00.000Z');
    await runtime.drain();
    const window = { from: '2026-11-30T20:00:00Z', to: '2026-12-01T00:00:00Z' };
    const honoured = await client.backfill('hourly', window);
    const again = await client.backfill('hourly', window);
    await client.backfill('hourly', { from: '2026-11-30T19:00:00Z', to: '2026-11-30T20:00:00Z' });
    await client.putJob(def('other', { schedule: 'rate(1 hour)', exclude: ['window'] }));
    const ignoring = await client.backfill('other', { ...window, ignoreCalendars: true });
    await runtime.drain();

    // assert
    expect((await client.getRun(manual.runId)).status).toBe('succeeded');
    expect(replayed.runId).toBe('hourly@2026-12-01T00:00:00.000Z');
    const slot = await client.getRun('hourly@2026-12-01T00:00:00.000Z');
    expect(slot).toMatchObject({ status: 'succeeded', replays: 1 });
    expect(slot.calendar).toBeNull(); // the replay no longer names the calendar
    expect(honoured).toEqual({ slots: 4, created: 2, existing: 0, excluded: 2 });
    expect(again).toEqual({ slots: 4, created: 0, existing: 4, excluded: 0 });
    const evening = await client.listRuns({
      jobId: 'hourly',
      since: new Date('2026-11-30T19:00:00Z'),
      limit: 20,
    });
    const fates = Object.fromEntries(
      evening
        .filter((run) => run.scheduledAt < '2026-12-01T00:00:00.000Z')
        .map((run) => [
          run.scheduledAt.slice(11, 16),
          `${run.status}(${run.reason ?? ''}${run.calendar ? ` ${run.calendar}` : ''})`,
        ]),
    );
    expect(fates).toEqual({
      '19:00': 'succeeded(ok)',
      '20:00': 'succeeded(ok)',
      '21:00': 'succeeded(ok)',
      '22:00': 'skipped(calendar window)',
      '23:00': 'skipped(calendar window)',
    });
    expect(ignoring).toEqual({ slots: 4, created: 4, existing: 0, excluded: 0 });
  });
});

describe('calendars delete', () => {
  it('is refused while jobs exclude the calendar, naming the first 10 and the count; --force deletes it and warns', async () => {
    // prepare: 12 jobs exclude "freeze"; "spare" is excluded by none
    const clock = new ManualClock(T0);
    const { client } = await setup(clock);
    const { out, err, io, target } = await cliOn(client);
    await client.putCalendar('freeze', { dates: ['2026-12-25'] });
    await client.putCalendar('spare', { dates: ['2026-12-26'] });
    const ids = Array.from({ length: 12 }, (_, i) => `job-${String(i).padStart(2, '0')}`);
    for (const id of ids) await client.putJob(def(id, { schedule: 'rate(1 hour)', exclude: ['freeze'] }));
    await client.putJob(def('free', { schedule: 'rate(1 hour)' }));

    // act
    const refused = await client.deleteCalendar('freeze').catch((error: unknown) => error);
    const refusedCli = await runCalendarDelete(io, target, 'freeze', {}).catch((error: unknown) => error);
    const spare = await client.deleteCalendar('spare');
    await runCalendarDelete(io, target, 'freeze', { force: true });
    const gone = await client.deleteCalendar('freeze').catch((error: unknown) => error);

    // assert
    expect(refused).toBeInstanceOf(CalendarInUseError);
    expect((refused as CalendarInUseError).jobIds).toEqual(ids);
    expect((refused as Error).message).toContain(
      `calendar "freeze" is excluded by 12 jobs (${ids.slice(0, 10).join(', ')}, and 2 more): edit them to drop it`,
    );
    expect((refused as Error).message).toContain('--force');
    expect((refusedCli as CalendarInUseError).exitCode).toBe(1);
    expect(spare).toEqual({ name: 'spare', deleted: true, excludedBy: [] });
    expect(out.join('')).toBe('deleted calendar freeze\n');
    expect(err.join('')).toContain('warning: 12 job(s) still exclude it (job-00, job-01');
    expect(err.join('')).toContain('marks it invalid');
    expect(await client.listCalendars()).toEqual([]);
    expect((gone as Error).message).toBe('no calendar "freeze"');
  });
});
