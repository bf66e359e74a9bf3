/**
 * Benchmarks 5 and 6 — the reported production case, time compressed, and the same under overload.
 *
 * The case (SPEC §1, README): four jobs every 15 s, 5 s, 5 s and 15 s, each run taking 2–4 s. Three
 * layouts run side by side on one local runtime (real time, 1 s tick):
 *   shared-2    the four jobs in one pool of concurrency 2 — the reported case (80 % busy);
 *   isolated-2  each job in its own pool of concurrency 2;
 *   overload-1  the four jobs in one pool of concurrency 1 — 160 % of its capacity (benchmark 6).
 * Every job: overlap `skip` and catch-up `latest` (the defaults), startingDeadline 30 s (so overload shows
 * up as missed(deadline) records instead of an ever-growing queue).
 *
 * Default run: the schedule compressed a further 2.5× (every 6 s, 2 s, 2 s, 6 s; runs 0.8–1.6 s;
 * deadline 12 s) for 4 real minutes = 10 minutes of the 15/5/5/15 s schedule. `--full`: the 15/5/5/15 s
 * schedule itself for 10 real minutes.
 */
import { LocalRuntime } from '../../local/runtime.js';
import { isTerminal, type RunItem } from '../../shared/store/model.js';
import { type BenchContext, type Benchmark, type BenchResult, percentile, round, sleep } from '../support.js';
import { byStatus } from './precision.js';

const SHAPE = [
  { name: 'report', every: 15 },
  { name: 'sync', every: 5 },
  { name: 'poll', every: 5 },
  { name: 'digest', every: 15 },
];
const SCHEDULE_MS = 600_000; // 10 minutes of the 15/5/5/15 s schedule
const BUCKETS = 5;

interface Layout {
  name: 'shared-2' | 'isolated-2' | 'overload-1';
  pool: (job: string) => string;
  concurrency: number;
}

const LAYOUTS: Layout[] = [
  { name: 'shared-2', pool: () => 'shared-2', concurrency: 2 },
  { name: 'isolated-2', pool: (job) => `iso-${job}`, concurrency: 2 },
  { name: 'overload-1', pool: () => 'overload-1', concurrency: 1 },
];

interface LayoutResult {
  layout: string;
  concurrency: number;
  slotsExpected: number;
  records: number;
  byStatus: Record<string, number>;
  withoutFate: number;
  open: number;
  largestGap: Record<string, { ms: number; intervals: number }>;
  startLag: { p50: number; p95: number; p99: number; max: number };
  /** The window cut in BUCKETS equal parts: how lag, misses and skips move over time. */
  overTime: {
    from: string;
    slots: number;
    started: number;
    missed: number;
    skipped: number;
    lagP50: number;
    lagMax: number;
  }[];
}

let cached: Promise<{ compression: number; windowMs: number; results: LayoutResult[] }> | undefined;

function scenario(context: BenchContext) {
  cached ??= runScenario(context);
  return cached;
}

async function runScenario(context: BenchContext) {
  const compression = context.full ? 1 : 2.5;
  const windowMs = SCHEDULE_MS / compression;
  const deadlineMs = 30_000 / compression;
  const longestMs = 4_000 / compression;
  const startAt = Math.ceil(Date.now() / 1000) * 1000 + 5_000;
  const endAt = startAt + windowMs;
  const jobs = LAYOUTS.flatMap((layout) =>
    SHAPE.map((shape) => ({
      layout: layout.name,
      every: (shape.every * 1000) / compression,
      definition: {
        id: `${layout.name}-${shape.name}`,
        schedule: `rate(${shape.every / compression} seconds)`,
        startAt: new Date(startAt).toISOString(),
        endAt: new Date(endAt).toISOString(),
        pool: layout.pool(shape.name),
        startingDeadline: deadlineMs,
        target: { type: 'handler', name: 'sleep', timeout: 30_000 },
        payload: { minMs: 2_000 / compression, maxMs: longestMs, deterministic: true },
      },
    })),
  );
  const pools = Object.fromEntries(
    LAYOUTS.flatMap((layout) =>
      SHAPE.map((shape) => [
        layout.pool(shape.name),
        { concurrency: layout.concurrency, timeout: 60_000, memorySize: 128 },
      ]),
    ),
  );
  context.log(
    `  ${jobs.length} jobs in ${Object.keys(pools).length} pools; every ${SHAPE.map((s) => s.every / compression).join('/')} s, ` +
      `runs ${2 / compression}–${4 / compression} s, deadline ${deadlineMs / 1000} s; ${windowMs / 1000} s of real time`,
  );
  const runtime = await LocalRuntime.start({
    endpoints: context.endpoints,
    name: `bench-production-${process.pid}`,
    tickMs: 1_000,
    jobs: { pools, jobs: jobs.map((job) => job.definition) as never },
  });
  let runs: RunItem[] = [];
  try {
    runtime.run();
    // The window, then time for the last slots to start or pass their deadline, and to finish.
    await sleep(endAt - Date.now() + deadlineMs + longestMs + 5_000);
    runs = await runtime.allRuns();
  } finally {
    await runtime.stop();
  }

  const results = LAYOUTS.map((layout): LayoutResult => {
    const mine = jobs.filter((job) => job.layout === layout.name);
    let slotsExpected = 0;
    let withoutFate = 0;
    let open = 0;
    const largestGap: LayoutResult['largestGap'] = {};
    const layoutRuns: RunItem[] = [];
    for (const job of mine) {
      const records = new Map(
        runs.filter((run) => run.jobId === job.definition.id).map((run) => [run.scheduledAt, run]),
      );
      const starts: number[] = [];
      for (let slot = startAt; slot < endAt; slot += job.every) {
        slotsExpected += 1;
        const record = records.get(new Date(slot).toISOString());
        if (!record) withoutFate += 1;
        else {
          layoutRuns.push(record);
          if (!isTerminal(record.status)) open += 1;
          if (record.startedAt) starts.push(Date.parse(record.startedAt));
        }
      }
      starts.sort((a, b) => a - b);
      let gap = starts.length ? starts[0]! - startAt : windowMs;
      for (let i = 1; i < starts.length; i++) gap = Math.max(gap, starts[i]! - starts[i - 1]!);
      largestGap[job.definition.id] = { ms: gap, intervals: round(gap / job.every, 2) };
    }
    const lags = layoutRuns
      .filter((run) => run.startedAt)
      .map((run) => Date.parse(run.startedAt!) - Date.parse(run.scheduledAt));
    const bucketMs = windowMs / BUCKETS;
    const overTime = Array.from({ length: BUCKETS }, (_, b) => {
      const from = startAt + b * bucketMs;
      const inBucket = layoutRuns.filter((run) => {
        const slot = Date.parse(run.scheduledAt);
        return slot >= from && slot < from + bucketMs;
      });
      const bucketLags = inBucket
        .filter((run) => run.startedAt)
        .map((run) => Date.parse(run.startedAt!) - Date.parse(run.scheduledAt));
      return {
        from: `+${round((b * bucketMs) / 1000, 0)}s`,
        slots: inBucket.length,
        started: bucketLags.length,
        missed: inBucket.filter((run) => run.status === 'missed').length,
        skipped: inBucket.filter((run) => run.status === 'skipped').length,
        lagP50: percentile(bucketLags, 50),
        lagMax: bucketLags.length ? Math.max(...bucketLags) : Number.NaN,
      };
    });
    return {
      layout: layout.name,
      concurrency: layout.concurrency,
      slotsExpected,
      records: layoutRuns.length,
      byStatus: byStatus(layoutRuns),
      withoutFate,
      open,
      largestGap,
      startLag: {
        p50: percentile(lags, 50),
        p95: percentile(lags, 95),
        p99: percentile(lags, 99),
        max: lags.length ? Math.max(...lags) : Number.NaN,
      },
      overTime,
    };
  });
  for (const result of results) {
    context.log(
      `  ${result.layout}: ${result.slotsExpected} slots, ${JSON.stringify(result.byStatus)}, without a fate ${result.withoutFate}, ` +
        `lag p50 ${result.startLag.p50} / p99 ${result.startLag.p99} / max ${result.startLag.max} ms`,
    );
    context.log(
      `    largest gap between starts (× interval): ${Object.entries(result.largestGap)
        .map(([id, gap]) => `${id.split('-').pop()} ${gap.intervals}`)
        .join(', ')}`,
    );
    for (const bucket of result.overTime)
      context.log(
        `    ${bucket.from.padEnd(6)} slots ${bucket.slots}, started ${bucket.started}, missed ${bucket.missed}, skipped ${bucket.skipped}, lag p50 ${bucket.lagP50} max ${bucket.lagMax} ms`,
      );
  }
  return { compression, windowMs, results };
}

function figuresFor(bench: string, result: LayoutResult) {
  const worstGap = Math.max(...Object.values(result.largestGap).map((gap) => gap.intervals));
  const statuses = Object.entries(result.byStatus)
    .map(([status, n]) => `${status} ${n}`)
    .join(', ');
  return [
    {
      bench,
      figure: `${result.layout}: ${result.slotsExpected} slots → ${statuses}`,
      value: `without a fate: ${result.withoutFate + result.open}`,
      baseline: `${result.slotsExpected} slots`,
      ratio: `${round((result.records / result.slotsExpected) * 100, 1)} % recorded`,
      goal: 'every slot a fate',
    },
    {
      bench,
      figure: `${result.layout}: largest gap between starts / start lag p50 p99`,
      value: `${worstGap}× interval; ${result.startLag.p50} / ${result.startLag.p99} ms`,
      baseline: '1× interval',
      ratio: `${worstGap}×`,
      goal: 'report',
    },
  ];
}

function benchFor(name: string, title: string, layouts: LayoutResult['layout'][]): Benchmark {
  return {
    name,
    title,
    async run(context): Promise<BenchResult> {
      const { compression, windowMs, results } = await scenario(context);
      const mine = results.filter((result) => layouts.includes(result.layout));
      return {
        figures: mine.flatMap((result) => figuresFor(name, result)),
        details: { compression, windowMs, scheduleMs: SCHEDULE_MS, layouts: mine, shape: SHAPE },
      };
    },
  };
}

export const production = benchFor(
  'production',
  'The reported production case, time compressed (pool concurrency 2)',
  ['shared-2', 'isolated-2'],
);
export const overload = benchFor('overload', 'The production case under overload (one pool, concurrency 1)', [
  'overload-1',
]);
