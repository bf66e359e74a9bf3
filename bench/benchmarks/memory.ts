/**
 * Benchmark 7 — memory of one tick that dispatches 10,000 due slots.
 *
 * The parent writes 1,000 jobs `rate(1 second)` (copies of one `putJob` item); a child process joins the
 * table and runs one tick with a lookahead of 9.999 s at the jobs' first slot: 10 slots a job, 10,000 run
 * records and messages. The child samples `process.memoryUsage().rss` every 5 ms during the tick and reads
 * `process.resourceUsage().maxRSS` after it, beside its own RSS idle just before the tick.
 */

import { join } from 'node:path';
import { type Benchmark, firstLine, ROOT, ratio, round, tsxChild } from '../support.js';
import { fillTable } from './table-size.js';

const JOBS = 1_000;
const SLOTS_PER_JOB = 10;

const mib = (bytes: number) => `${round(bytes / 2 ** 20, 1)} MiB`;

export const memory: Benchmark = {
  name: 'memory',
  title: 'Peak RSS of one tick dispatching 10,000 slots vs the same process idle',
  async run(context) {
    const start = Math.ceil(Date.now() / 1000) * 1000 + 60_000;
    const name = `bench-memory-${process.pid}`;
    await fillTable(context.endpoints, {
      name,
      prefix: 'mem',
      schedule: 'rate(1 second)',
      count: JOBS,
      start,
    });
    const child = tsxChild(join(ROOT, 'bench', 'memory-child.ts'), [
      context.endpoints.dynamo,
      context.endpoints.sqs,
      name,
      String(start),
      String(SLOTS_PER_JOB * 1000 - 1),
    ]);
    const line = await firstLine(child, 600_000);
    const result = JSON.parse(line) as {
      idleRss: number;
      peakRss: number;
      maxRssBefore: number;
      maxRss: number;
      peakHeap: number;
      rssAfter: number;
      tickMs: number;
      slotsDispatched: number;
      errors: number;
    };
    await new Promise((resolve) => child.once('exit', resolve));
    const peak = Math.max(result.peakRss, result.maxRss);
    context.log(
      `  ${result.slotsDispatched} slots in ${round(result.tickMs / 1000, 1)} s; idle ${mib(result.idleRss)}, peak sampled ${mib(result.peakRss)}, maxRSS ${mib(result.maxRss)}`,
    );
    return {
      figures: [
        {
          bench: 'memory',
          figure: `peak RSS, one tick of ${result.slotsDispatched.toLocaleString('en')} slots`,
          value: `${mib(peak)} (+${mib(peak - result.idleRss)})`,
          baseline: `${mib(result.idleRss)} idle`,
          ratio: ratio(peak, result.idleRss),
          goal: 'report',
        },
      ],
      details: {
        jobs: JOBS,
        slotsPerJob: SLOTS_PER_JOB,
        ...result,
        peakMiB: peak / 2 ** 20,
        idleMiB: result.idleRss / 2 ** 20,
        perSlotKiB: (peak - result.idleRss) / 1024 / Math.max(1, result.slotsDispatched),
      },
    };
  },
};
