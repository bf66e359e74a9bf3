/**
 * A local runtime in its own process, for the kill -9 scenario: the tick, the executors and an in-memory
 * SQS emulator die with it (every message in flight is lost), DynamoDB Local — started by the parent —
 * survives, as DynamoDB survives a Lambda that dies. Prints `READY` once it ticks and `START <runId>
 * <attempt>` each time a target starts, so the parent counts starts across every life of the runtime.
 *
 * argv: <dynamo endpoint> <table name> <jobs JSON file> <put jobs: 1|0>
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSqsEmulator } from '../local/emulators.js';
import { LocalRuntime } from '../local/runtime.js';
import type { JobsFile } from '../shared/jobs/types.js';
import { builtinHandlers } from '../shared/targets/handlers.js';

const [dynamo = '', name = '', jobsPath = '', putJobs = '1'] = process.argv.slice(2);
const jobs = JSON.parse(await readFile(jobsPath, 'utf8')) as JobsFile;
const handlers = builtinHandlers({ write: () => {} });
handlers.register('count', async (context) => {
  process.stdout.write(`START ${context.runId} ${context.attempt}\n`);
  const ms = (context.payload as { ms?: number } | null)?.ms ?? 0;
  if (ms) await sleep(ms);
});
const sqs = await startSqsEmulator();
const runtime = await LocalRuntime.start({
  endpoints: { dynamo, sqs: sqs.endpoint },
  name,
  ...(putJobs === '1' ? { jobs } : { jobs: { pools: jobs.pools, jobs: [] } }),
  handlers,
  tickMs: 1_000,
  // Short lease and delivery grace, so the sweep settles what a kill left behind within seconds.
  tick: { leaseMs: 4_000, deliveryGraceMs: 4_000 },
});
runtime.run();
process.stdout.write('READY\n');
process.on('SIGTERM', () => {
  void runtime
    .stop()
    .then(() => sqs.stop())
    .finally(() => process.exit(0));
});
