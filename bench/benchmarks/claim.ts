/**
 * Benchmark 2 — claim throughput.
 *
 * 2,000 jobs due at once (`rate(1 minute)`, one due slot each): one tick claims, records, sends and
 * advances them all. Slots per second of that tick, beside the raw throughput of the same DynamoDB Local
 * in the same run: 2,000 conditional `UpdateItem`s on 2,000 job-sized items at the tick's concurrency
 * (16). A middleware on the runtime's clients counts every call and asks DynamoDB for the capacity each
 * write consumed (DynamoDB Local reports it from the item sizes, like DynamoDB).
 */

import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LocalRuntime } from '../../local/runtime.js';
import { ensureTable } from '../../shared/store/table.js';
import { DEFAULT_TICK_CONFIG } from '../../shared/tick/tick.js';
import { chunk, mapLimit } from '../../shared/util.js';
import { type Benchmark, countCalls, ratio, round, timed, total } from '../support.js';
import { cloneJobs } from './table-size.js';

const JOBS = 2_000;

export const claim: Benchmark = {
  name: 'claim',
  title: 'Claim throughput (2,000 due jobs) vs raw conditional UpdateItem',
  async run(context) {
    const start = Math.ceil(Date.now() / 60_000) * 60_000;
    let now = start - 1000;
    const runtime = await LocalRuntime.start({
      endpoints: context.endpoints,
      name: `bench-claim-${process.pid}`,
      clock: () => now,
      tickMs: 60_000,
      tick: { lookaheadMs: 0, budgetMs: 600_000 },
    });
    try {
      // 2,000 jobs shaped exactly as putJob writes them (one put, 1,999 copies).
      await cloneJobs(runtime, {
        template: {
          id: 'claim-0',
          schedule: 'rate(1 minute)',
          startAt: new Date(start).toISOString(),
          target: { type: 'handler', name: 'noop' },
        },
        count: JOBS,
        idOf: (i) => `claim-${i}`,
        now,
      });
      const dynamoCounts = countCalls(runtime.dynamo.middlewareStack, { capacity: true });
      const sqsCounts = countCalls(runtime.sqs.middlewareStack);
      now = start;
      const { ms: tickMs, value: report } = await timed(() => runtime.tick());
      if (report.slotsDispatched !== JOBS)
        throw new Error(
          `tick dispatched ${report.slotsDispatched} of ${JOBS} (${JSON.stringify(report.errors.slice(0, 3))})`,
        );
      const slotsPerSecond = (report.slotsDispatched / tickMs) * 1000;
      const dynamoCalls = { ...dynamoCounts.calls };
      const sqsCalls = { ...sqsCounts.calls };
      const wcu = { ...dynamoCounts.wcu };
      const rcu = { ...dynamoCounts.rcu };

      // Baseline: raw conditional updates on as many items of the same size, same concurrency.
      const table = `bench-raw-${process.pid}`;
      await ensureTable(runtime.dynamo, table);
      const sample = await runtime.store.getJobRaw('claim-0');
      const items = Array.from({ length: JOBS }, (_, i) => ({
        ...sample,
        pk: `RAW#${i}`,
        sk: 'JOB',
        version: 1,
      }));
      for (const batch of chunk(items, 25))
        await runtime.store.doc.send(
          new BatchWriteCommand({
            RequestItems: { [table]: batch.map((item) => ({ PutRequest: { Item: item } })) },
          }),
        );
      dynamoCounts.reset();
      const concurrency = DEFAULT_TICK_CONFIG.concurrency;
      const { ms: rawMs } = await timed(() =>
        mapLimit(items, concurrency, async (item) => {
          await runtime.store.doc.send(
            new UpdateCommand({
              TableName: table,
              Key: { pk: item.pk, sk: 'JOB' },
              UpdateExpression: 'SET #v = #v + :one',
              ConditionExpression: '#v = :one',
              ExpressionAttributeNames: { '#v': 'version' },
              ExpressionAttributeValues: { ':one': 1 },
            }),
          );
        }),
      );
      const rawWcu = total(dynamoCounts.wcu);
      const rawPerSecond = (JOBS / rawMs) * 1000;

      // And the SQS emulator's own rate for the tick's call shape (one entry a SendMessageBatch).
      const queueUrl = runtime.pools[0]!.queueUrl;
      const { ms: sqsMs } = await timed(() =>
        mapLimit(items, concurrency, async (_, i) => {
          await runtime.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: [{ Id: 'm0', MessageBody: JSON.stringify({ v: 1, i }), DelaySeconds: 0 }],
            }),
          );
        }),
      );
      const sqsPerSecond = (JOBS / sqsMs) * 1000;
      // What the protocol's calls cost at these rates, done one after another per job, 16 jobs at once:
      // 3 conditional writes and one send a slot.
      const floorPerSecond = 1 / (3 / rawPerSecond + 1 / sqsPerSecond);
      const callsPerSlot = total(dynamoCalls) / JOBS;
      const writesPerSlot =
        ((dynamoCalls.UpdateItemCommand ?? 0) +
          (dynamoCalls.PutItemCommand ?? 0) +
          (dynamoCalls.TransactWriteItemsCommand ?? 0)) /
        JOBS;
      const wcuPerSlot = total(wcu) / JOBS;
      return {
        figures: [
          {
            bench: 'claim',
            figure: `slots claimed+sent per s (${JOBS} due, one tick)`,
            value: `${round(slotsPerSecond, 0)}/s`,
            baseline: `${round(rawPerSecond, 0)} cond. UpdateItem/s`,
            ratio: ratio(slotsPerSecond, rawPerSecond),
            goal: 'report',
          },
          {
            bench: 'claim',
            figure: "slots/s vs the emulators' floor (3 writes + 1 send a slot)",
            value: `${round(slotsPerSecond, 0)}/s`,
            baseline: `${round(floorPerSecond, 0)}/s (SQS ${round(sqsPerSecond, 0)} sends/s)`,
            ratio: ratio(slotsPerSecond, floorPerSecond),
            goal: 'report',
          },
          {
            bench: 'claim',
            figure: 'DynamoDB calls / writes / WCU per slot',
            value: `${round(callsPerSlot, 2)} / ${round(writesPerSlot, 2)} / ${round(wcuPerSlot, 2)}`,
            baseline: `raw update: 1 / 1 / ${round(rawWcu / JOBS, 2)}`,
            ratio: ratio(wcuPerSlot, rawWcu / JOBS),
            goal: 'report',
          },
        ],
        details: {
          jobs: JOBS,
          tickMs,
          slotsPerSecond,
          report: { ...report, errors: report.errors.slice(0, 5) },
          dynamoCalls,
          sqsCalls,
          wcuByCommand: wcu,
          rcuByCommand: rcu,
          capacityUnreported: dynamoCounts.unreported,
          perSlot: {
            dynamoCalls: callsPerSlot,
            dynamoWrites: writesPerSlot,
            wcu: wcuPerSlot,
            rcu: total(rcu) / JOBS,
            sqsCalls: total(sqsCalls) / JOBS,
          },
          jobItemBytes: JSON.stringify(sample).length,
          raw: { concurrency, ms: rawMs, perSecond: rawPerSecond, wcu: rawWcu },
          dynamoLocalUpdatesPerSecond: rawPerSecond,
          sqs: { ms: sqsMs, sendsPerSecond: sqsPerSecond },
          floorSlotsPerSecond: floorPerSecond,
        },
      };
    } finally {
      await runtime.stop();
    }
  },
};
