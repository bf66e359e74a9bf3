/**
 * One tick worker of the fan-out benchmark, in its own process as a Lambda invocation is: joins the table
 * the parent filled, adds AWS-like latency to each DynamoDB and SQS call, prints `ready`, then for each
 * line `tick <clock ms>` on stdin runs its shard group's tick at that clock and prints one JSON line with
 * what it did, when (wall clock) and the calls and CPU it took.
 *
 * argv: <dynamo endpoint> <sqs endpoint> <table name> <shards> <groups> <group> <dynamo ms> <sqs ms>
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { createInterface } from 'node:readline';
import { LocalRuntime } from '../local/runtime.js';
import { runTick } from '../shared/tick/tick.js';
import { addLatency, countCalls } from './support.js';

const [dynamo = '', sqs = '', name = '', shards = '', groups = '', group = '', dynamoMs = '', sqsMs = ''] =
  process.argv.slice(2);
let now = 0;
const runtime = await LocalRuntime.start({
  endpoints: { dynamo, sqs },
  name,
  shards: Number(shards),
  clock: () => now,
  tickMs: 60_000,
  // No executor runs here: a day's delivery grace keeps the sweep from re-sending the last round's runs.
  tick: { lookaheadMs: 0, budgetMs: 600_000, deliveryGraceMs: 86_400_000, groups: Number(groups) },
});
const dynamoCalls = countCalls(runtime.dynamo.middlewareStack);
const sqsCalls = countCalls(runtime.sqs.middlewareStack);
addLatency(runtime.dynamo.middlewareStack, Number(dynamoMs));
addLatency(runtime.sqs.middlewareStack, Number(sqsMs));
process.stdout.write('ready\n');

for await (const line of createInterface({ input: process.stdin })) {
  const [command, clock] = line.trim().split(' ');
  if (command !== 'tick') break;
  now = Number(clock);
  dynamoCalls.reset();
  sqsCalls.reset();
  const cpu = process.cpuUsage();
  const startedAt = performance.timeOrigin + performance.now();
  const report = await runTick(runtime.claim.deps, runtime.tickConfig, { group: Number(group) });
  const endedAt = performance.timeOrigin + performance.now();
  const used = process.cpuUsage(cpu);
  process.stdout.write(
    `${JSON.stringify({
      group: Number(group),
      startedAt,
      endedAt,
      slotsDispatched: report.slotsDispatched,
      jobsSeen: report.jobsSeen,
      errors: report.errors.length,
      cpuMs: (used.user + used.system) / 1000,
      dynamoCalls: dynamoCalls.calls,
      sqsCalls: sqsCalls.calls,
    })}\n`,
  );
}
await runtime.stop();
