/**
 * Benchmark 1 — dispatch never waits on execution.
 *
 * One table. 100 jobs (`rate(10 seconds)`, pool `measured`) are due at every measured tick:
 * the tick's clock is moved 10 s before each one, and each tick claims, records, sends and advances the
 * same 100 jobs. Phase A: nothing runs. Phase B: 200 manual runs of other jobs are held in flight by a
 * handler that waits on a gate, in a pool of 200 pollers (all of them busy in the handler). Phase A again
 * once the gate opens. The figure is median tick duration in B over the median of both A phases.
 *
 * As in AWS, the tick and the executors are apart: the busy pool, the measured pool and the measured ticks
 * each run in their own LocalRuntime on the same table and queues (same name and endpoints), with their
 * own SDK clients. (In a single LocalRuntime everything shares one SQS client and its 50 sockets, and 200
 * long-polling pollers starve the rest: see RESULTS.md.) All share this process and its CPU.
 */

import { LocalRuntime } from '../../local/runtime.js';
import type { JobsFile } from '../../shared/jobs/index.js';
import { putJob, triggerJob } from '../../shared/ops/jobs.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import {
  type BenchContext,
  type Benchmark,
  median,
  ms,
  opsDeps,
  percentile,
  ratio,
  round,
  sleep,
  timed,
  until,
} from '../support.js';

const DUE_JOBS = 100;
const HELD = 200;
const REPS = 7;
const PERIOD_MS = 10_000;

export const dispatch: Benchmark = {
  name: 'dispatch',
  title: 'Dispatch never waits on execution',
  async run(context: BenchContext) {
    const start = Math.ceil(Date.now() / PERIOD_MS) * PERIOD_MS + PERIOD_MS;
    let now = start;
    const clock = () => now;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = 0;
    const handlers = builtinHandlers();
    handlers.register('gate', async () => {
      held += 1;
      await gate;
      held -= 1;
    });
    const pool = (concurrency: number) => ({ concurrency, timeout: 900_000, memorySize: 128 });
    const name = `bench-dispatch-${process.pid}`;
    // Three runtimes on one table and its queues (same name and endpoints), each with its own SDK clients
    // as separate Lambda functions have: the busy pool's 200 pollers, the measured pool's 2 pollers, and
    // the tick. (One SQS client has 50 sockets; 200 long-polling pollers on it would starve the others.)
    // The interval never fires within the benchmark (its first tick runs at run(), before measuring).
    const start_ = (pools: JobsFile['pools'], lookaheadMs: number) =>
      LocalRuntime.start({
        endpoints: context.endpoints,
        name,
        jobs: { pools, jobs: [] },
        clock,
        handlers,
        tickMs: 3_600_000,
        tick: { lookaheadMs, budgetMs: 600_000 },
      });
    // The executors' own first tick (run() fires one) must not claim the measured jobs: a horizon a year
    // in the past finds nothing due.
    const runtime = await start_({ busy: pool(HELD) }, -365 * 86_400_000);
    const measuredPool = await start_({ measured: pool(2) }, -365 * 86_400_000);
    const ticker = await start_({ measured: pool(2), busy: pool(HELD) }, 0);
    const pools = ticker.pools.map((candidate) => candidate.name);
    try {
      for (let i = 0; i < DUE_JOBS; i++) {
        await putJob(
          runtime.store,
          {
            id: `due-${i}`,
            schedule: 'rate(10 seconds)',
            startAt: new Date(start).toISOString(),
            pool: 'measured',
            target: { type: 'handler', name: 'noop' },
          },
          start - 1000,
          { pools },
        );
      }
      for (let i = 0; i < HELD; i++) {
        // Never due: only the manual triggers below run them.
        await putJob(
          runtime.store,
          {
            id: `busy-${i}`,
            schedule: 'rate(1 day)',
            startAt: new Date(start + 30 * 86_400_000).toISOString(),
            pool: 'busy',
            target: { type: 'handler', name: 'gate', timeout: '15m' },
          },
          start - 1000,
          { pools },
        );
      }

      let ticks = 0;
      const measure = async (label: string) => {
        const durations: number[] = [];
        for (let rep = 0; rep < REPS; rep++) {
          now += PERIOD_MS;
          const { ms: elapsed, value: report } = await timed(() => ticker.tick());
          ticks += 1;
          if (report.slotsDispatched !== DUE_JOBS)
            throw new Error(`${label}: tick dispatched ${report.slotsDispatched}, expected ${DUE_JOBS}`);
          durations.push(elapsed);
          // Let the measured pool run the 100 noops before the next tick, as the next minute would.
          await until(async () => (await measuredPool.queueDepths()).measured?.queue === 0, 30_000, 50);
        }
        context.log(
          `  ${label}: median ${ms(median(durations))} (${durations.map((d) => round(d, 0)).join(', ')})`,
        );
        return durations;
      };

      // Pollers on (the interval's first tick runs at once: wait for it), nothing in flight.
      runtime.run();
      measuredPool.run();
      await sleep(2_000);
      await ticker.tick(); // the first slot, unmeasured (warms the tick's clients up)
      await until(async () => (await measuredPool.queueDepths()).measured?.queue === 0, 30_000, 50);
      const idleBefore = await measure('A  0 runs in flight');

      for (let i = 0; i < HELD; i++) await triggerJob(opsDeps(ticker), `busy-${i}`, now);
      const reached = await until(() => held === HELD, 120_000, 100);
      if (!reached) throw new Error(`only ${held} of ${HELD} runs reached the gate`);
      const busyInFlight = runtime.inFlight.get('busy') ?? 0;
      const loaded = await measure(`B  ${held} runs in flight`);
      const heldAfter = held;

      release();
      await until(() => held === 0, 60_000, 100);
      await until(async () => (await runtime.queueDepths()).busy?.inFlight === 0, 30_000, 100);
      const idleAfter = await measure('A′ 0 runs in flight');

      const baseline = median([...idleBefore, ...idleAfter]);
      const value = median(loaded);
      return {
        figures: [
          {
            bench: 'dispatch',
            figure: `tick, ${DUE_JOBS} due jobs, ${HELD} runs in flight`,
            value: ms(value),
            baseline: `${ms(baseline)} (0 in flight)`,
            ratio: ratio(value, baseline),
            goal: '≤ 1.1',
          },
        ],
        details: {
          dueJobs: DUE_JOBS,
          held: HELD,
          heldDuringPhaseB: heldAfter,
          busyPollersInHandler: busyInFlight,
          reps: REPS,
          ticks,
          tickMs: { idleBefore, loaded, idleAfter },
          medianMs: { idle: baseline, loaded: value },
          p90Ms: { idle: percentile([...idleBefore, ...idleAfter], 90), loaded: percentile(loaded, 90) },
          ratio: value / baseline,
        },
      };
    } finally {
      release();
      await runtime.stop();
      await measuredPool.stop();
      await ticker.stop();
    }
  },
};
