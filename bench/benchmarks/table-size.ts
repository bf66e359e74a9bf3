/**
 * Benchmark 3 — the tick's cost grows with due work, not with the table.
 *
 * Two tables on the same DynamoDB Local: one holds 1,000 jobs, the other 200,000 (1,000,000 with `--full`),
 * and in both exactly 1,000 are due at each measured tick (`rate(1 minute)`, the tick's clock moved a minute
 * before each tick). The others are real job items — written with BatchWriteItem as copies of one item
 * `putJob` wrote, ids and shards changed — whose next slot is a month away: they sit in the due index, above
 * the query's bound. Ticks alternate between the two tables; the figure is the ratio of the medians.
 *
 * Why the size does not matter: the tick reads the table only through the due index, a Query per shard
 * with `dueAt <= now + lookahead`, which DynamoDB answers from the index's sort order (it reads the items in
 * range, never the ones above it), and the audit's one page of 100 items a minute. Neither reads more when
 * the table grows; the 1,000,000-item run is the same measurement with five times more idle items.
 */
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { LocalRuntime } from '../../local/runtime.js';
import { putJob } from '../../shared/ops/jobs.js';
import { shardOf } from '../../shared/store/model.js';
import { chunk, mapLimit } from '../../shared/util.js';
import { type Benchmark, countCalls, median, ms, ratio, round, sleep, timed, total } from '../support.js';

const DUE = 1_000;
/** The large table: 200,000 jobs (≈ 30 s to write here); 1,000,000 with `npm run bench -- table-size --full`. */
const LARGE = 200_000;
const LARGE_FULL = 1_000_000;
const REPS = 7;

/**
 * Writes `count` job items shaped exactly as `putJob` writes them: it puts `template` once through
 * `putJob`, reads the item back and writes copies with their own id, key and due shard (BatchWriteItem,
 * 25 a call, several calls in flight). `idOf(0)` must be the template's id.
 */
export async function cloneJobs(
  runtime: LocalRuntime,
  options: {
    template: Record<string, unknown>;
    count: number;
    idOf: (i: number) => string;
    now: number;
    /** Changes a copy further (e.g. its next slot). */
    shape?: (item: Record<string, unknown>, i: number) => void;
    from?: number;
  },
): Promise<number> {
  const pools = runtime.pools.map((pool) => pool.name);
  await putJob(runtime.store, options.template, options.now, { pools });
  const sample = await runtime.store.getJobRaw(options.idOf(0));
  if (!sample) throw new Error('template job not written');
  const shards = runtime.store.shards;
  const from = options.from ?? 1;
  const ids = Array.from({ length: options.count - from }, (_, i) => i + from);
  const started = performance.now();
  await mapLimit(chunk(ids, 25), 4, async (batch) => {
    let requests = batch.map((i) => {
      const id = options.idOf(i);
      const item: Record<string, unknown> = {
        ...sample,
        pk: `JOB#${id}`,
        jobId: id,
        definition: { ...(sample.definition as object), id },
      };
      if (item.dueAt !== undefined) item.dueShard = shardOf(id, shards);
      options.shape?.(item, i);
      return { PutRequest: { Item: item } };
    });
    for (let attempt = 0; requests.length && attempt < 20; attempt++) {
      const { UnprocessedItems } = await runtime.store.doc.send(
        new BatchWriteCommand({ RequestItems: { [runtime.state.tableName]: requests } }),
      );
      requests = (UnprocessedItems?.[runtime.state.tableName] ?? []) as typeof requests;
      if (requests.length) await sleep(50 * (attempt + 1));
    }
    if (requests.length) throw new Error(`${requests.length} items left unprocessed`);
  });
  return performance.now() - started;
}

/**
 * A table of `count` copies of one `noop` job (ids `<prefix>-0…`, first slot at `start`), made and left for
 * a benchmark's child processes to join by `name`.
 */
export async function fillTable(
  endpoints: { dynamo: string; sqs: string },
  options: { name: string; prefix: string; schedule: string; count: number; start: number; shards?: number },
): Promise<void> {
  const { name, prefix, schedule, count, start, shards } = options;
  const runtime = await LocalRuntime.start({
    endpoints,
    name,
    tickMs: 60_000,
    ...(shards ? { shards } : {}),
  });
  try {
    await cloneJobs(runtime, {
      template: {
        id: `${prefix}-0`,
        schedule,
        startAt: new Date(start).toISOString(),
        target: { type: 'handler', name: 'noop' },
      },
      count,
      idOf: (i) => `${prefix}-${i}`,
      now: start - 1000,
    });
  } finally {
    await runtime.stop();
  }
}

export const tableSize: Benchmark = {
  name: 'table-size',
  title:
    'Tick cost grows with due work, not table size (1,000 vs 200,000 jobs, 1,000,000 with --full; 1,000 due)',
  async run(context) {
    const size = context.full ? LARGE_FULL : LARGE;
    const start = Math.ceil(Date.now() / 60_000) * 60_000;
    const clocks = { small: start, large: start };
    const make = (label: 'small' | 'large') =>
      LocalRuntime.start({
        endpoints: context.endpoints,
        name: `bench-${label}-${process.pid}`,
        clock: () => clocks[label],
        tickMs: 60_000,
        // No executor runs here: without a long delivery grace the sweep would re-send every earlier
        // tick's undelivered runs, and each tick would do more work than the one before.
        tick: { lookaheadMs: 0, budgetMs: 600_000, deliveryGraceMs: 86_400_000 },
      });
    const small = await make('small');
    const large = await make('large');
    try {
      const due = {
        id: 'due-0',
        schedule: 'rate(1 minute)',
        startAt: new Date(start).toISOString(),
        target: { type: 'handler', name: 'noop' },
      };
      for (const runtime of [small, large])
        await cloneJobs(runtime, { template: due, count: DUE, idOf: (i) => `due-${i}`, now: start - 1000 });
      const later = new Date(start + 30 * 86_400_000).toISOString();
      const writeMs = await cloneJobs(large, {
        template: { ...due, id: 'idle-0', startAt: later },
        count: size - DUE,
        idOf: (i) => `idle-${i}`,
        now: start - 1000,
      });
      const written = size - DUE;
      context.log(
        `  wrote ${written} job items in ${round(writeMs / 1000, 1)} s (${round((written / writeMs) * 1000, 0)} items/s, BatchWriteItem ×25, 4 in flight)`,
      );
      // First slot (at `start`) of the due jobs: both tables, not measured (warms both up).
      for (const runtime of [small, large]) await runtime.tick();
      // What each tick reads and writes, as DynamoDB counts it: independent of the host's load, unlike the time.
      const counts = {
        small: countCalls(small.dynamo.middlewareStack, { capacity: true }),
        large: countCalls(large.dynamo.middlewareStack, { capacity: true }),
      };

      const durations = { small: [] as number[], large: [] as number[] };
      for (let rep = 0; rep < REPS; rep++) {
        for (const [label, runtime] of [
          ['small', small],
          ['large', large],
        ] as const) {
          clocks[label] += 60_000;
          const { ms: elapsed, value: report } = await timed(() => runtime.tick());
          if (report.slotsDispatched !== DUE)
            throw new Error(`${label}: dispatched ${report.slotsDispatched}, expected ${DUE}`);
          if (report.jobsSeen !== DUE)
            throw new Error(`${label}: the due query returned ${report.jobsSeen} jobs`);
          durations[label].push(elapsed);
        }
      }
      const perTick = (label: 'small' | 'large') => ({
        calls: total(counts[label].calls) / REPS,
        queries: (counts[label].calls.QueryCommand ?? 0) / REPS,
        rcu: total(counts[label].rcu) / REPS,
        wcu: total(counts[label].wcu) / REPS,
      });
      const reads = { small: perTick('small'), large: perTick('large') };
      context.log(
        `  per tick, DynamoDB: ${round(reads.small.calls, 1)} calls, ${round(reads.small.rcu, 1)} RCU, ${round(reads.small.wcu, 0)} WCU (1,000 jobs) vs ` +
          `${round(reads.large.calls, 1)} calls, ${round(reads.large.rcu, 1)} RCU, ${round(reads.large.wcu, 0)} WCU (${size.toLocaleString('en')})`,
      );
      const smallMedian = median(durations.small);
      const largeMedian = median(durations.large);
      context.log(
        `  ${DUE.toLocaleString('en')} jobs: ${durations.small.map((d) => round(d, 0)).join(', ')} ms`,
      );
      context.log(
        `  ${size.toLocaleString('en')} jobs: ${durations.large.map((d) => round(d, 0)).join(', ')} ms`,
      );
      return {
        figures: [
          {
            bench: 'table-size',
            figure: `tick, ${DUE.toLocaleString('en')} due, in a table of ${size.toLocaleString('en')} jobs`,
            value: ms(largeMedian),
            baseline: `${ms(smallMedian)} (table of ${DUE.toLocaleString('en')})`,
            ratio: ratio(largeMedian, smallMedian),
            goal: '≤ 1.2',
          },
          {
            bench: 'table-size',
            figure: `DynamoDB read units per tick (due queries, sweep, audit), table of ${size.toLocaleString('en')} jobs`,
            value: `${round(reads.large.rcu, 1)} RCU (${round(reads.large.queries, 1)} queries)`,
            baseline: `${round(reads.small.rcu, 1)} RCU (${round(reads.small.queries, 1)} queries), table of ${DUE.toLocaleString('en')}`,
            ratio: ratio(reads.large.rcu, reads.small.rcu),
            goal: 'report',
          },
        ],
        details: {
          due: DUE,
          jobs: { small: DUE, large: size },
          reps: REPS,
          tickMs: durations,
          medianMs: { small: smallMedian, large: largeMedian },
          perTick: reads,
          ratio: largeMedian / smallMedian,
          batchWrite: { items: written, ms: writeMs, itemsPerSecond: (written / writeMs) * 1000 },
        },
      };
    } finally {
      await small.stop();
      await large.stop();
    }
  },
};
