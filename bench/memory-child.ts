/**
 * The child of the memory benchmark: joins a table the parent filled, measures this process idle, runs one
 * tick and samples its RSS every 5 ms meanwhile, then prints one JSON line. Its own process, so the figure
 * is one tick's and not the benchmark harness's.
 *
 * argv: <dynamo endpoint> <sqs endpoint> <table name> <clock ms> <lookahead ms>
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { resourceUsage } from 'node:process';
import { LocalRuntime } from '../local/runtime.js';

const [dynamo = '', sqs = '', name = '', clockText = '', lookaheadText = ''] = process.argv.slice(2);
const now = Number(clockText);
const runtime = await LocalRuntime.start({
  endpoints: { dynamo, sqs },
  name,
  clock: () => now,
  tickMs: 60_000,
  tick: { lookaheadMs: Number(lookaheadText), budgetMs: 600_000 },
});
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
// Idle: the runtime started (clients, modules, table and queues known), nothing ticking.
const idleSamples: number[] = [];
for (let i = 0; i < 20; i++) {
  idleSamples.push(process.memoryUsage().rss);
  await new Promise((resolve) => setTimeout(resolve, 25));
}
const idleRss = Math.max(...idleSamples);
const maxRssBefore = resourceUsage().maxRSS * 1024;
let peakRss = idleRss;
let peakHeap = process.memoryUsage().heapUsed;
const sampler = setInterval(() => {
  const usage = process.memoryUsage();
  peakRss = Math.max(peakRss, usage.rss);
  peakHeap = Math.max(peakHeap, usage.heapUsed);
}, 5);
const started = performance.now();
const report = await runtime.tick();
const tickMs = performance.now() - started;
clearInterval(sampler);
const after = process.memoryUsage();
peakRss = Math.max(peakRss, after.rss);
const maxRss = resourceUsage().maxRSS * 1024;
process.stdout.write(
  `${JSON.stringify({
    idleRss,
    peakRss,
    maxRssBefore,
    maxRss,
    peakHeap,
    rssAfter: after.rss,
    tickMs,
    slotsDispatched: report.slotsDispatched,
    jobsClaimed: report.jobsClaimed,
    errors: report.errors.length,
  })}\n`,
);
await runtime.stop();
