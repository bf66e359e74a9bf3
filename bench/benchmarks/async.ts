/**
 * Benchmark — asynchronous completion.
 *
 * 1,000 asynchronous runs in progress (run records as the executor leaves them after a hand-off: token
 * hash, heartbeat and run deadlines). Measures, on DynamoDB Local at the tick's concurrency (16):
 *   - heartbeats per second the store absorbs (`reportCompletion` by token: a consistent read and one
 *     conditional UpdateItem each), then completions per second (read, conditional end of the run, the
 *     job's outcome);
 *   - beside them, in the same run, raw conditional UpdateItems on items of the same size;
 *   - the tick's duration with none, and with 1,000 runs in progress (heartbeat deadlines ahead: the sweep
 *     finds nothing to do), and with all 1,000 past their `openUntil` at once while heartbeating (the
 *     sweep moves each one's `openUntil` forward: the worst case, once per heartbeat timeout).
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LocalRuntime } from '../../local/runtime.js';
import { putJob } from '../../shared/ops/jobs.js';
import { asyncAttemptFields, reportCompletion } from '../../shared/runs/completion.js';
import { iso, type RunItem, runIdFor } from '../../shared/store/model.js';
import { ensureTable } from '../../shared/store/table.js';
import { DEFAULT_TICK_CONFIG } from '../../shared/tick/tick.js';
import { mapLimit } from '../../shared/util.js';
import { type Benchmark, median, opsDeps, ratio, round, timed } from '../support.js';

const RUNS = 1_000;
const MINUTE = 60_000;

export const asyncCompletion: Benchmark = {
  name: 'async',
  title:
    'Asynchronous completion: heartbeats and completions per second; tick cost with 1,000 runs in progress',
  async run(context) {
    const t0 = Math.ceil(Date.now() / MINUTE) * MINUTE;
    let now = t0;
    const runtime = await LocalRuntime.start({
      endpoints: context.endpoints,
      name: `bench-async-${process.pid}`,
      clock: () => now,
      tick: { lookaheadMs: 0, budgetMs: 600_000 },
    });
    try {
      const deps = opsDeps(runtime);
      const concurrency = DEFAULT_TICK_CONFIG.concurrency;
      // One job whose slots are far off (the ticks below find nothing due), and its runs in progress.
      const { job } = await putJob(
        runtime.store,
        {
          id: 'agents',
          schedule: 'rate(1 day)',
          startAt: new Date(t0 + 30 * 24 * 3_600_000).toISOString(),
          overlap: 'allow',
          target: { type: 'sqs', queueUrl: runtime.pools[0]!.queueUrl, completion: 'async' },
          heartbeatTimeout: '5m',
        },
        now,
        { pools: ['default'] },
      );
      const ticks = async (n: number) => {
        const times: number[] = [];
        for (let i = 0; i < n; i++) times.push((await timed(() => runtime.tick())).ms);
        return median(times);
      };
      await ticks(3); // warm-up
      const tickNone = await ticks(7);

      const tokens = new Map<string, string>();
      const runs: RunItem[] = Array.from({ length: RUNS }, (_, i) => {
        const runId = runIdFor('agents', t0 - (i + 1) * 1000, true);
        const token = `bench-token-${i}-${'x'.repeat(32)}`;
        tokens.set(runId, token);
        const fields = asyncAttemptFields(job.definition, token, now);
        return runtime.store.newRun(
          {
            runId,
            jobId: 'agents',
            scheduledAt: iso(t0 - (i + 1) * 1000),
            manual: true,
            status: 'running',
            definition: job.definition,
            jobVersion: job.version,
            attempt: 1,
            startedAt: iso(now),
            attempts: [
              { attempt: 1, startedAt: iso(now), status: 'running', tokenHash: fields.completionTokenHash },
            ],
            ...fields,
            openShard: runtime.store.openShard('agents'),
            openUntil: fields.heartbeatDeadline,
          },
          now,
        );
      });
      await mapLimit(runs, concurrency, (run) => runtime.store.createRun(run));
      const tickBusy = await ticks(7);

      // Heartbeats: every run once, 16 at a time.
      now += MINUTE;
      const { ms: heartbeatMs } = await timed(() =>
        mapLimit(runs, concurrency, async (run) => {
          const result = await reportCompletion(
            deps,
            { runId: run.runId, token: tokens.get(run.runId)!, type: 'heartbeat' },
            now,
          );
          if (!result.ok) throw new Error(result.message);
        }),
      );
      // The worst case for the sweep: every run's openUntil passed at once while their heartbeats kept
      // the deadline ahead (each is moved once, then left alone for a heartbeat timeout).
      now = t0 + 5 * MINUTE + 1_000;
      const { ms: tickAllDueMs, value: sweepReport } = await timed(() => runtime.tick());
      const tickAfter = await ticks(7);

      const { ms: completeMs } = await timed(() =>
        mapLimit(runs, concurrency, async (run) => {
          const result = await reportCompletion(
            deps,
            { runId: run.runId, token: tokens.get(run.runId)!, type: 'complete' },
            now,
          );
          if (!result.ok) throw new Error(result.message);
        }),
      );

      // Baseline: raw conditional UpdateItems on items of the same size, same concurrency, same run.
      const table = `bench-async-raw-${process.pid}`;
      await ensureTable(runtime.dynamo, table);
      const sample = await runtime.store.getRun(runs[0]!.runId);
      await mapLimit(runs, concurrency, (_, i) =>
        runtime.store.doc.send(
          new PutCommand({ TableName: table, Item: { ...sample, pk: `RAW#${i}`, sk: 'RUN', version: 1 } }),
        ),
      );
      const { ms: rawMs } = await timed(() =>
        mapLimit(runs, concurrency, (_, i) =>
          runtime.store.doc.send(
            new UpdateCommand({
              TableName: table,
              Key: { pk: `RAW#${i}`, sk: 'RUN' },
              UpdateExpression: 'SET #v = #v + :one',
              ConditionExpression: '#v = :one',
              ExpressionAttributeNames: { '#v': 'version' },
              ExpressionAttributeValues: { ':one': 1 },
            }),
          ),
        ),
      );

      const perSecond = (ms: number) => (RUNS / ms) * 1000;
      const raw = perSecond(rawMs);
      const heartbeats = perSecond(heartbeatMs);
      const completions = perSecond(completeMs);
      return {
        figures: [
          {
            bench: 'async',
            figure: `heartbeats absorbed per s (${RUNS} runs, ${concurrency} at once)`,
            value: `${round(heartbeats, 0)}/s`,
            baseline: `${round(raw, 0)} cond. UpdateItem/s`,
            ratio: ratio(heartbeats, raw),
            goal: 'report',
          },
          {
            bench: 'async',
            figure: `completions absorbed per s (${RUNS} runs)`,
            value: `${round(completions, 0)}/s`,
            baseline: `${round(raw, 0)} cond. UpdateItem/s`,
            ratio: ratio(completions, raw),
            goal: 'report',
          },
          {
            bench: 'async',
            figure: `tick with ${RUNS} runs in progress (median of 7)`,
            value: `${round(tickBusy, 1)} ms`,
            baseline: `${round(tickNone, 1)} ms with none`,
            ratio: ratio(tickBusy, tickNone),
            goal: 'report',
          },
          {
            bench: 'async',
            figure: `tick when all ${RUNS} pass openUntil at once (sweep moves each)`,
            value: `${round(tickAllDueMs, 0)} ms`,
            baseline: `${round(tickNone, 1)} ms with none`,
            ratio: ratio(tickAllDueMs, tickNone),
            goal: 'report',
          },
        ],
        details: {
          runs: RUNS,
          concurrency,
          heartbeatMs,
          completeMs,
          rawMs,
          tickNoneMedianMs: tickNone,
          tickBusyMedianMs: tickBusy,
          tickAllDueMs,
          tickAfterMedianMs: tickAfter,
          sweep: sweepReport.sweep,
        },
      };
    } finally {
      await runtime.stop();
    }
  },
};
