/**
 * Benchmark 4 — precision: how late does a run start after its slot, in real time?
 *
 * 10 jobs `rate(1 second)` for 60 s (600 slots; 300 s with --full, 3,000 slots) on the real local runtime:
 * a 1 s tick, a pool of 10 pollers, the `noop` handler. Start lag = startedAt − scheduledAt from the run
 * records, over the slots of the window (the runs of its last 5 s are left to finish first).
 */
import { LocalRuntime } from '../../local/runtime.js';
import type { RunItem } from '../../shared/store/model.js';
import { type Benchmark, mean, percentile, round, sleep } from '../support.js';

const JOBS = 10;

export function lagStats(values: number[]) {
  return {
    count: values.length,
    min: Math.min(...values),
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: Math.max(...values),
    mean: mean(values),
  };
}

export function byStatus(runs: RunItem[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const run of runs) {
    const key = run.reason ? `${run.status}(${run.reason})` : run.status;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

export const precision: Benchmark = {
  name: 'precision',
  title: 'Start lag p50/p95/p99 with a 1 s tick (real time)',
  async run(context) {
    const windowMs = context.full ? 300_000 : 60_000;
    const startAt = Math.ceil(Date.now() / 1000) * 1000 + 4_000;
    const runtime = await LocalRuntime.start({
      endpoints: context.endpoints,
      name: `bench-precision-${process.pid}`,
      tickMs: 1_000,
      jobs: {
        pools: { default: { concurrency: JOBS, timeout: 60_000, memorySize: 128 } },
        jobs: Array.from({ length: JOBS }, (_, i) => ({
          id: `tick-${i}`,
          schedule: 'rate(1 second)',
          startAt: new Date(startAt).toISOString(),
          endAt: new Date(startAt + windowMs).toISOString(),
          target: { type: 'handler', name: 'noop' },
        })) as never,
      },
    });
    let runs: RunItem[];
    try {
      runtime.run();
      await sleep(startAt + windowMs - Date.now() + 5_000);
      runs = await runtime.allRuns();
    } finally {
      await runtime.stop();
    }
    const started = runs.filter((run) => run.startedAt);
    const lags = started.map((run) => Date.parse(run.startedAt!) - Date.parse(run.scheduledAt));
    const dispatchLeads = runs
      .filter((run) => run.dispatchedAt)
      .map((run) => Date.parse(run.scheduledAt) - Date.parse(run.dispatchedAt!));
    const stats = lagStats(lags);
    const expected = JOBS * (windowMs / 1000);
    context.log(
      `  ${runs.length} runs of ${expected} slots; start lag p50 ${stats.p50} ms, p95 ${stats.p95} ms, p99 ${stats.p99} ms, max ${stats.max} ms`,
    );
    return {
      figures: [
        {
          bench: 'precision',
          figure: `start lag p50 / p95 / p99 (${started.length} runs, 1 s tick)`,
          value: `${stats.p50} / ${stats.p95} / ${stats.p99} ms`,
          baseline: 'slot time (0 ms)',
          ratio: `max ${stats.max} ms, min ${stats.min} ms`,
          goal: 'report',
        },
      ],
      details: {
        jobs: JOBS,
        windowMs,
        slotsExpected: expected,
        records: runs.length,
        byStatus: byStatus(runs),
        startLagMs: stats,
        earlyStarts: lags.filter((lag) => lag < 0).length,
        // How far ahead of its slot the tick sent it (the lookahead at work).
        dispatchLeadMs: {
          p50: percentile(dispatchLeads, 50),
          min: Math.min(...dispatchLeads),
          max: Math.max(...dispatchLeads),
        },
        histogramMs: histogram(lags, [0, 10, 25, 50, 100, 250, 500, 1000, 2000]),
        meanLagMs: round(stats.mean, 1),
      },
    };
  },
};

export function histogram(values: number[], edges: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const value of values) {
    const edge = edges.find((candidate) => value < candidate);
    const key = edge === undefined ? `≥${edges[edges.length - 1]}` : `<${edge}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
