/**
 * Reproduction: a lost response on the job's outcome write (`recordOutcome`: DELETE running, ADD counts,
 * ADD consecutiveFailures) is retried by the SDK and applied twice: the job's counters count the run twice,
 * and `consecutiveFailures` grows by 2 per failed run, so `pauseAfterFailures: N` pauses after N/2 failures.
 *
 *   npx tsx chaos/repro-double-count.ts
 *
 * One job, handler `fail` (not retryable), pauseAfterFailures 2. Slot 1 fails; the UpdateItem that
 * records its outcome on the job is applied and its response lost (TimeoutError); the SDK retries it.
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
        id: 'flaky',
        schedule: 'rate(1 minute)',
        startAt: new Date(T0).toISOString(),
        target: { type: 'handler', name: 'fail' },
        payload: { retryable: false },
        pauseAfterFailures: 2,
      } as never,
    ],
  },
});
let loseNext = true;
runtime.dynamo.middlewareStack.add(
  (next, context) => async (args) => {
    const result = await next(args);
    const input = args.input as { UpdateExpression?: string };
    if (
      loseNext &&
      context.commandName === 'UpdateItemCommand' &&
      input.UpdateExpression?.includes('DELETE #running')
    ) {
      loseNext = false;
      // Applied by DynamoDB; the response never arrives; the SDK sends it again.
      throw Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' });
    }
    return result;
  },
  { step: 'deserialize', name: 'loseOutcomeWriteResponse', priority: 'high' },
);
try {
  now = T0;
  await runtime.tick();
  console.log('executor outcome:', (await runtime.drain()).join(', '));
  const job = await runtime.store.getJob('flaky');
  console.log(
    'after ONE failed run: counts =',
    JSON.stringify(job?.counts),
    'consecutiveFailures =',
    job?.consecutiveFailures,
    'enabled =',
    job?.enabled,
    'note =',
    job?.note ?? '',
  );
  console.log(
    'runs:',
    (await runtime.allRuns()).map((run) => `${run.runId} ${run.status}(${run.reason})`).join(', '),
  );
} finally {
  await runtime.stop();
  await Promise.all([dynamo.stop(), sqs.stop()]);
}
