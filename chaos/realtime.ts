/**
 * The scenarios that run in real time: two ticks with skewed clocks, and kill -9 of the runtime (a child
 * runtime in `npm test`; the `punctual dev` CLI process on a --data-dir in `npm run chaos`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { localDynamoClient } from '../local/emulators.js';
import { LocalRuntime } from '../local/runtime.js';
import { stateFilePath } from '../shared/client/connection.js';
import { listJobs, putJob } from '../shared/ops/jobs.js';
import { LEASE_MARGIN_MS } from '../shared/runs/execute.js';
import { isTerminal, type JobItem, type RunItem } from '../shared/store/model.js';
import { Store } from '../shared/store/store.js';
import { seeded } from './faults.js';
import {
  countingHandlers,
  expectedSlots,
  type ScenarioOptions,
  type ScenarioResult,
  StartCounter,
  verify,
} from './scenarios.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every run and job of a table, read with a client of our own. */
async function readTable(dynamo: string, tableName: string): Promise<{ runs: RunItem[]; jobs: JobItem[] }> {
  const client = localDynamoClient(dynamo);
  try {
    const store = new Store(client, { tableName });
    const runs: RunItem[] = [];
    const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
    let start: Record<string, unknown> | undefined;
    do {
      const page = await store.doc.send(
        new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      for (const item of page.Items ?? []) if (item.type === 'run') runs.push(item as RunItem);
      start = page.LastEvaluatedKey;
    } while (start);
    return { runs, jobs: await listJobs(store) };
  } finally {
    client.destroy();
  }
}

// ── clock skew ────────────────────────────────────────────────────────────────────────────────────

/**
 * Two local runtimes on one table and its queues, one clock 5 s ahead of real time and one 5 s behind,
 * both ticking every second and both polling the pool. Reports, beside the invariants, how early or late
 * (in real time) runs started: a run claimed by the clock that is ahead is sent 5 s early.
 */
export async function clockSkew(options: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const full = options.scale === 'full';
  const windowMs = full ? 60_000 : 10_000;
  const jobCount = full ? 12 : 6;
  const everyMs = 2_000;
  const skewMs = 5_000;
  const counter = new StartCounter();
  const realStarts: { runId: string; lagMs: number }[] = [];
  const handlers = countingHandlers(counter, (registry) => {
    registry.register('stamp', (context) => {
      counter.record(context.runId, context.attempt);
      realStarts.push({ runId: context.runId, lagMs: Date.now() - Date.parse(context.scheduledAt) });
    });
  });
  const name = `chaos-skew-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const pools = { default: { concurrency: 3, timeout: 10_000, memorySize: 128 } };
  const common = { endpoints: options.endpoints, name, handlers, tickMs: 1_000, jobs: { pools, jobs: [] } };
  const ahead = await LocalRuntime.start({ ...common, clock: () => Date.now() + skewMs });
  const behind = await LocalRuntime.start({ ...common, clock: () => Date.now() - skewMs });
  // Put by the clock that is ahead, starting after its "now": every slot of the window is owed.
  const startAt = Math.ceil(Date.now() / 1000) * 1000 + skewMs + 2_000;
  const endAt = startAt + windowMs;
  for (let i = 0; i < jobCount; i++)
    await putJob(
      ahead.store,
      {
        id: `skew-${i}`,
        schedule: `rate(${everyMs / 1000} seconds)`,
        startAt: new Date(startAt).toISOString(),
        endAt: new Date(endAt).toISOString(),
        target: { type: 'handler', name: 'stamp', timeout: '5s' },
      },
      Date.now() + skewMs,
      { pools: ['default'] },
    );
  try {
    ahead.run();
    behind.run();
    await sleep(endAt - Date.now() + skewMs + 4_000);
    const runs = await ahead.allRuns();
    const jobs = await listJobs(ahead.store);
    const expected = expectedSlots(
      Array.from({ length: jobCount }, (_, i) => `skew-${i}`),
      startAt,
      endAt,
      everyMs,
    );
    const result = await verify(
      `two ticks with clocks ${skewMs / 1000} s apart each way`,
      runs,
      jobs,
      expected,
      counter,
    );
    const lags = realStarts.map((start) => start.lagMs).sort((a, b) => a - b);
    const notes = [
      `real start lag (start − slot, by the real clock): min ${lags[0]} ms, median ${lags[Math.floor(lags.length / 2)]} ms, max ${lags.at(-1)} ms; ` +
        `${lags.filter((lag) => lag < -1_000).length} of ${lags.length} runs started more than 1 s before their slot`,
    ];
    return { ...result, injected: { skewMs: skewMs * 2 }, elapsedMs: Date.now() - started, notes };
  } finally {
    await ahead.stop();
    await behind.stop();
  }
}

// ── kill -9 ───────────────────────────────────────────────────────────────────────────────────────

interface Life {
  child: ChildProcess;
  exited: Promise<void>;
}

function lines(child: ChildProcess, onLine: (line: string) => void) {
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      onLine(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
    }
  });
}

function killGroup(child: ChildProcess) {
  // The child leads its own process group (detached): -pid reaches it and everything it started
  // (with the CLI, DynamoDB Local's JVM too), like a machine losing power under `punctual dev`.
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * kill -9 of a runtime process at random moments, restarted each time; DynamoDB Local (the parent's)
 * survives, the runtime's in-memory SQS emulator does not: every message in flight is lost, and the
 * sweep must find the runs the records say are dispatched or running.
 */
export async function killRuntime(options: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const full = options.scale === 'full';
  const kills = full ? 5 : 2;
  const windowMs = full ? 40_000 : 10_000;
  const jobCount = 8;
  const everyMs = 1_000;
  const random = seeded(options.seed ?? 7);
  const dir = await mkdtemp(join(tmpdir(), 'punctual-kill-'));
  const counter = new StartCounter();
  const name = `chaos-kill-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const startAt = Math.ceil(Date.now() / 1000) * 1000 + 6_000;
  const endAt = startAt + windowMs;
  const jobsFile = join(dir, 'jobs.json');
  await writeFile(
    jobsFile,
    JSON.stringify({
      // The executor keeps 5 s of its function's timeout free to record the outcome: 10 s for a 3 s target.
      // 8 pollers for 4 s of work a second (half the jobs run 1 s): the pool is half busy, so what is open
      // at the end is what the kills left, not a backlog.
      pools: { default: { concurrency: 8, timeout: 10_000, memorySize: 128 } },
      jobs: Array.from({ length: jobCount }, (_, i) => ({
        id: `kill-${i}`,
        schedule: `rate(${everyMs / 1000} seconds)`,
        startAt: new Date(startAt).toISOString(),
        endAt: new Date(endAt).toISOString(),
        // Half the jobs run for 1 s, so some runs are always in hand when the process dies.
        target: { type: 'handler', name: 'count', timeout: '3s' },
        payload: { ms: i % 2 ? 1_000 : 0 },
        retry: { maxAttempts: 3, backoff: '1s' },
        overlap: 'allow',
      })),
    }),
  );
  const spawnLife = (first: boolean): Life => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'chaos', 'runtime-child.ts'),
        options.endpoints.dynamo,
        name,
        jobsFile,
        first ? '1' : '0',
      ],
      { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stderr?.resume();
    lines(child, (line) => {
      const [word, runId, attempt] = line.split(' ');
      if (word === 'START' && runId && attempt) counter.record(runId, Number(attempt));
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { child, exited };
  };
  const ready = (life: Life) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('runtime child not ready in 30 s')), 30_000);
      lines(life.child, (line) => {
        if (line === 'READY') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  const notes: string[] = [];
  let life = spawnLife(true);
  try {
    await ready(life);
    // The kills fall at random moments of the window.
    const moments = Array.from({ length: kills }, () => startAt + random() * windowMs).sort((a, b) => a - b);
    for (const moment of moments) {
      await sleep(Math.max(0, moment - Date.now()));
      killGroup(life.child);
      await life.exited;
      notes.push(`killed at +${((moment - startAt) / 1000).toFixed(1)} s of the window`);
      life = spawnLife(false);
      await ready(life);
    }
    // Past the window: a run's lease (its 3 s target deadline + the lease margin) or the delivery grace
    // (4 s), a retry's backoff (1 s), a run (1.5 s) and a few ticks.
    await sleep(Math.max(0, endAt - Date.now()) + LEASE_MARGIN_MS + 16_000);
    const { runs, jobs } = await readTable(options.endpoints.dynamo, name);
    // A slot at or before a job's creation is not owed (a create never replays history): on a loaded
    // machine the first life may write the jobs after the window opened.
    const created = new Map(jobs.map((item) => [item.jobId, Date.parse(item.createdAt)]));
    const expected = expectedSlots(
      Array.from({ length: jobCount }, (_, i) => `kill-${i}`),
      startAt,
      endAt,
      everyMs,
    ).filter((runId) => {
      const [jobId = '', slot = ''] = runId.split('@');
      return Date.parse(slot) > (created.get(jobId) ?? 0);
    });
    const late = Math.max(...created.values()) - startAt;
    if (late >= 0)
      notes.push(`jobs written ${(late / 1000).toFixed(1)} s into the window: the slots before are not owed`);
    const result = await verify(
      `kill -9 of the runtime process ×${kills}, restarted`,
      runs,
      jobs,
      expected,
      counter,
    );
    notes.push(`${counter.total} target starts counted across ${kills + 1} lives of the runtime`);
    for (const run of runs.filter((candidate) => !isTerminal(candidate.status)).slice(0, 3))
      notes.push(
        `open: ${run.runId} ${run.status} attempt ${run.attempt} dispatchedAt ${run.dispatchedAt} ` +
          `openShard ${run.openShard} openUntil ${run.openUntil} leaseUntil ${run.leaseUntil ?? '-'}`,
      );
    return { ...result, injected: { kills }, elapsedMs: Date.now() - started, notes };
  } finally {
    life.child.kill('SIGTERM');
    await Promise.race([life.exited, sleep(10_000)]);
    killGroup(life.child);
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The same with the real CLI: `punctual dev --jobs FILE --tick 1s --data-dir DIR` killed -9 (with its
 * DynamoDB Local and in-memory SQS emulator: its whole process group) at random moments and restarted on
 * the same --data-dir, whose DynamoDB Local data persists (-dbPath). Targets are the builtin `log` handler:
 * every start prints one JSON line with the run id and attempt, counted across every life. `dev` has no
 * flag for the sweep's delivery grace (60 s) or the claim lease (30 s): the scenario waits them out.
 */
export async function killCli(options: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const kills = options.scale === 'full' ? 4 : 1;
  const windowMs = 30_000;
  const jobCount = 6;
  const everyMs = 2_000;
  const random = seeded(options.seed ?? 11);
  const dir = await mkdtemp(join(tmpdir(), 'punctual-dev-kill-'));
  const dataDir = join(dir, 'data');
  const counter = new StartCounter();
  const startAt = Math.ceil(Date.now() / 1000) * 1000 + 20_000;
  const endAt = startAt + windowMs;
  const jobsFile = join(dir, 'jobs.json');
  await writeFile(
    jobsFile,
    JSON.stringify({
      pools: { default: { concurrency: 4, timeout: '5s' } },
      jobs: Array.from({ length: jobCount }, (_, i) => ({
        id: `dev-${i}`,
        schedule: `rate(${everyMs / 1000} seconds)`,
        startAt: new Date(startAt).toISOString(),
        endAt: new Date(endAt).toISOString(),
        target: { type: 'handler', name: 'log', timeout: '3s' },
        startingDeadline: '5m',
      })),
    }),
  );
  // dev writes its state file in its working directory, whatever --data-dir says (cli/commands/dev.ts).
  const stateFile = stateFilePath(dir);
  const spawnDev = (): Life => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'punctual.js'), 'dev', '--jobs', jobsFile, '--tick', '1s', '--data-dir', dataDir],
      { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    child.stderr?.resume();
    lines(child, (line) => {
      if (!line.includes('punctual handler log')) return;
      try {
        const entry = JSON.parse(line) as { runId: string; attempt: number };
        counter.record(entry.runId, entry.attempt);
      } catch {
        // a line cut by the kill
      }
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { child, exited };
  };
  const readyDev = async (life: Life) => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (existsSync(stateFile)) {
        try {
          const state = JSON.parse(await readFile(stateFile, 'utf8')) as { pid: number };
          if (state.pid === life.child.pid) return;
        } catch {
          // being written
        }
      }
      await sleep(200);
    }
    throw new Error('punctual dev did not write its state file within 60 s');
  };
  const notes: string[] = [];
  let life = spawnDev();
  try {
    await readyDev(life);
    const moments = Array.from({ length: kills }, () => startAt + 2_000 + random() * (windowMs - 4_000)).sort(
      (a, b) => a - b,
    );
    for (const moment of moments) {
      await sleep(Math.max(0, moment - Date.now()));
      killGroup(life.child);
      await life.exited;
      notes.push(`killed at +${((moment - startAt) / 1000).toFixed(1)} s of the window`);
      life = spawnDev();
      await readyDev(life);
    }
    // Past the window: the 60 s delivery grace of lost messages, the 30 s lease, a few ticks.
    await sleep(Math.max(0, endAt - Date.now()) + 70_000);
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as {
      dynamoEndpoint: string;
      tableName: string;
    };
    const { runs, jobs } = await readTable(state.dynamoEndpoint, state.tableName);
    const expected = expectedSlots(
      Array.from({ length: jobCount }, (_, i) => `dev-${i}`),
      startAt,
      endAt,
      everyMs,
    );
    const result = await verify(
      `kill -9 of \`punctual dev\` ×${kills}, restarted on its --data-dir`,
      runs,
      jobs,
      expected,
      counter,
    );
    notes.push(`${counter.total} target starts counted across ${kills + 1} lives of punctual dev`);
    const open = runs.filter((run) => !isTerminal(run.status));
    if (open.length)
      notes.push(
        `open runs at the end: ${open
          .map((run) => `${run.runId} ${run.status}`)
          .slice(0, 5)
          .join(', ')}`,
      );
    return { ...result, injected: { kills }, elapsedMs: Date.now() - started, notes };
  } finally {
    life.child.kill('SIGTERM');
    await Promise.race([life.exited, sleep(20_000)]);
    killGroup(life.child);
    await rm(dir, { recursive: true, force: true });
  }
}
