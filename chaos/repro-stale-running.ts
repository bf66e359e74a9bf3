/**
 * Reproduction: a lost response on the run's terminal write leaves the run id in the job's `running` set
 * for good, and every later slot of an overlap-`skip` job is recorded skipped(overlap).
 *
 *   npx tsx chaos/repro-stale-running.ts
 *
 * One job `rate(1 minute)`, overlap skip (the default), handler noop, manual clock. Slot 1 runs; the
 * UpdateItem that moves its run `running → succeeded` is applied by DynamoDB but its response is lost
 * (a TimeoutError, as @smithy/node-http-handler throws when requestTimeout passes, or an ECONNRESET).
 * The SDK retries it; the retry's condition (`status = running`) now fails; `endRun` reads that as
 * "someone else moved it first" and returns without `recordOutcome`, so the job's `running` set keeps the
 * id. Slots 2…5 then find the job "running" and are recorded skipped(overlap), none ever runs again.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { startDynamoLocal, startSqsEmulator } from '../local/emulators.js';
import { LocalRuntime } from '../local/runtime.js';

const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const [dynamo, sqs] = await Promise.all([startDynamoLocal(), startSqsEmulator()]);
let now = T0 - 60_000;
const runtime = await LocalRuntime.start({
  endpoints: { dynamo: dynamo.endpoint, sqs: sqs.endpoint },
  clock: () => now,
  tick: { lookaheadMs: 0 },
  jobs: {
    jobs: [
      {
        id: 'report',
        schedule: 'rate(1 minute)',
        startAt: new Date(T0).toISOString(),
        target: { type: 'handler', name: 'noop' },
      } as never,
    ],
  },
});
let loseNext = true;
runtime.dynamo.middlewareStack.add(
  (next, context) => async (args) => {
    const result = await next(args);
    const input = args.input as { ExpressionAttributeValues?: Record<string, { S?: string }> };
    const status = input.ExpressionAttributeValues?.[':f_status']?.S;
    if (loseNext && context.commandName === 'UpdateItemCommand' && status === 'succeeded') {
      loseNext = false;
      // Applied by DynamoDB; the response never arrives.
      throw Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' });
    }
    return result;
  },
  { step: 'deserialize', name: 'loseTerminalWriteResponse', priority: 'high' },
);
try {
  for (let minute = 0; minute < 5; minute++) {
    now = T0 + minute * 60_000;
    await runtime.tick();
    const outcomes = await runtime.drain();
    console.log(
      `slot ${minute + 1} (${new Date(now).toISOString()}): executor outcome ${outcomes.join(', ')}`,
    );
  }
  const job = await runtime.store.getJob('report');
  console.log('job.running =', [...(job?.running ?? [])]);
  for (const run of await runtime.allRuns()) console.log(run.runId, run.status, run.reason ?? '');
} finally {
  await runtime.stop();
  await Promise.all([dynamo.stop(), sqs.stop()]);
}
