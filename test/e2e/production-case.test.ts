/**
 * The reported production failure (SPEC §1), time compressed: jobs every 15 s, 5 s, 5 s and 15 s, each
 * run taking 2–4 s, pools of concurrency 2, a 1 s tick, for just over two minutes of real time, on the
 * real local runtime (DynamoDB Local, SQS emulator, the Lambda handlers, the event-source pollers).
 *
 * Under a ticker that holds its lock while jobs run, this load made a 5-minute job go 68 minutes without
 * running. Here every slot has exactly one run record and none is missed. Two layouts run side by side:
 *   isolated  each job in its own pool (concurrency 2): no start waits for another job, so no gap between
 *             two starts of a job exceeds its interval + 1 s;
 *   shared    the four jobs in one pool of concurrency 2 (overlap `queue`). That pool is 80 % busy (8 runs
 *             × 3 s per 15 s over 2 slots) and all four slots fall on the same second every 15 s, so a start
 *             waits for a free slot, and a held one for its job's previous run first: the bound is then
 *             interval + twice the longest run (4 s) + 1 s.
 *             Dispatch itself never waits, which is what the original scheduler got wrong.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import type { RunItem } from '../../shared/store/model.js';
import { testRuntime } from '../support/runtime.js';

const DURATION_MS = 125_000;
const LONGEST_RUN_MS = 4_000;
const SHAPE = [
  { name: 'report', every: 15 },
  { name: 'sync', every: 5 },
  { name: 'poll', every: 5 },
  { name: 'digest', every: 15 },
];
const JOBS = [
  ...SHAPE.map((job) => ({
    ...job,
    id: `iso-${job.name}`,
    pool: `iso-${job.name}`,
    layout: 'isolated' as const,
  })),
  ...SHAPE.map((job) => ({ ...job, id: `shared-${job.name}`, pool: 'shared', layout: 'shared' as const })),
];

let runtime: LocalRuntime;
let runs: RunItem[];
let windowStart: number;
let windowEnd: number;

beforeAll(async () => {
  windowStart = Math.ceil(Date.now() / 1000) * 1000 + 3_000;
  const pool = { concurrency: 2, timeout: 30_000, memorySize: 128 };
  runtime = await testRuntime({
    tickMs: 1_000,
    jobs: {
      pools: Object.fromEntries([...new Set(JOBS.map((job) => job.pool))].map((name) => [name, pool])),
      jobs: JOBS.map((job) => ({
        id: job.id,
        schedule: `rate(${job.every} seconds)`,
        startAt: new Date(windowStart).toISOString(),
        pool: job.pool,
        // In the shared pool a slot can come due while its job's previous run still waits for a slot or
        // runs: `queue` holds it (at most one) instead of skipping it.
        overlap: job.layout === 'shared' ? 'queue' : 'skip',
        target: { type: 'handler', name: 'sleep', timeout: 10_000 },
        // 2–4 s per run, drawn from the run id.
        payload: { minMs: 2_000, maxMs: LONGEST_RUN_MS, deterministic: true },
      })) as never,
    },
  });
  runtime.run();
  await new Promise((resolve) => setTimeout(resolve, DURATION_MS));
  windowEnd = Date.now() - 10_000; // slots of the last 10 s may still be in flight
  runs = await runtime.allRuns();
  await runtime.stop();
}, DURATION_MS + 60_000);

function startsOf(jobId: string): number[] {
  return runs
    .filter((run) => run.jobId === jobId && run.startedAt && Date.parse(run.scheduledAt) <= windowEnd)
    .map((run) => Date.parse(run.startedAt!))
    .sort((a, b) => a - b);
}

function largestGap(starts: number[]): number {
  let largest = 0;
  for (let i = 1; i < starts.length; i++) largest = Math.max(largest, starts[i]! - starts[i - 1]!);
  return largest;
}

describe('the reported production case, time compressed', () => {
  it('gives every slot exactly one run record, and misses none', () => {
    for (const job of JOBS) {
      const expected: string[] = [];
      for (let slot = windowStart; slot <= windowEnd; slot += job.every * 1000)
        expected.push(new Date(slot).toISOString());
      const records = runs.filter((run) => run.jobId === job.id && Date.parse(run.scheduledAt) <= windowEnd);
      expect(records.map((run) => run.scheduledAt)).toEqual(expected);
      expect(records.filter((run) => run.status === 'missed')).toEqual([]);
      expect(records.filter((run) => ['failed', 'skipped', 'cancelled'].includes(run.status))).toEqual([]);
    }
  });

  it('isolated pools: no gap between two starts of a job exceeds its interval + 1 s', () => {
    const gaps = Object.fromEntries(
      JOBS.filter((job) => job.layout === 'isolated').map((job) => [job.id, largestGap(startsOf(job.id))]),
    );
    console.log('isolated pools, largest gap between starts (ms):', gaps);
    for (const job of JOBS.filter((candidate) => candidate.layout === 'isolated')) {
      expect(startsOf(job.id).length).toBeGreaterThanOrEqual(Math.floor(115 / job.every));
      expect(gaps[job.id]).toBeLessThanOrEqual(job.every * 1000 + 1000);
    }
  });

  it('one shared pool at 80 % load: gaps stay within interval + twice the longest run + 1 s', () => {
    const gaps = Object.fromEntries(
      JOBS.filter((job) => job.layout === 'shared').map((job) => [job.id, largestGap(startsOf(job.id))]),
    );
    console.log('shared pool, largest gap between starts (ms):', gaps);
    for (const job of JOBS.filter((candidate) => candidate.layout === 'shared')) {
      expect(startsOf(job.id).length).toBeGreaterThanOrEqual(Math.floor(115 / job.every));
      expect(gaps[job.id]).toBeLessThanOrEqual(job.every * 1000 + 2 * LONGEST_RUN_MS + 1000);
    }
  });
});
