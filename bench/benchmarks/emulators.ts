/**
 * Benchmark 0 — the emulators themselves: what DynamoDB Local (a JVM) and the SQS emulator sustain on this
 * machine, after a warm-up (the JVM's JIT roughly doubles DynamoDB Local's rate over its first thousand
 * calls). Every other figure is bounded by these.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LocalRuntime } from '../../local/runtime.js';
import { mapLimit } from '../../shared/util.js';
import { type Benchmark, round, timed } from '../support.js';

export const emulators: Benchmark = {
  name: 'emulators',
  title: 'DynamoDB Local and SQS emulator throughput (warmed up)',
  async run(context) {
    const runtime = await LocalRuntime.start({
      endpoints: context.endpoints,
      name: `bench-emulators-${process.pid}`,
    });
    const table = runtime.state.tableName;
    const doc = runtime.store.doc;
    const item = (i: number) => ({ pk: `JOB#k${i}`, sk: 'JOB', version: 1, payload: 'x'.repeat(600) });
    try {
      const rate = async (n: number, concurrency: number, fn: (i: number) => Promise<unknown>) => {
        const { ms } = await timed(() =>
          mapLimit(
            Array.from({ length: n }, (_, i) => i),
            concurrency,
            fn,
          ),
        );
        return (n / ms) * 1000;
      };
      const put = (i: number) => doc.send(new PutCommand({ TableName: table, Item: item(i % 500) }));
      const update = (i: number) =>
        doc.send(
          new UpdateCommand({
            TableName: table,
            Key: { pk: `JOB#k${i % 500}`, sk: 'JOB' },
            UpdateExpression: 'SET #v = #v + :one',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues: { ':one': 1 },
          }),
        );
      await rate(500, 16, put);
      const warmup = await rate(4_000, 16, (i) => (i % 2 ? put(i) : update(i)));
      const updates: Record<string, number> = {};
      for (const concurrency of [1, 4, 16, 64])
        updates[`c${concurrency}`] = await rate(concurrency === 1 ? 500 : 2_000, concurrency, update);
      const puts = await rate(2_000, 16, put);
      const queries = await rate(1_000, 16, () =>
        doc.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': 'JOB#k1' },
          }),
        ),
      );
      const queueUrl = runtime.pools[0]!.queueUrl;
      const sends = await rate(2_000, 16, (i) =>
        runtime.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: Array.from({ length: 10 }, (_, j) => ({
              Id: `m${j}`,
              MessageBody: `{"i":${i},"j":${j}}`,
            })),
          }),
        ),
      );
      context.log(
        `  DynamoDB Local conditional UpdateItem/s by concurrency: ${Object.entries(updates)
          .map(([c, r]) => `${c.slice(1)}: ${round(r, 0)}`)
          .join(
            ', ',
          )}; PutItem ${round(puts, 0)}/s; Query ${round(queries, 0)}/s (warm-up ${round(warmup, 0)}/s)`,
      );
      context.log(
        `  SQS emulator SendMessageBatch ×10 at 16 in flight: ${round(sends, 0)} calls/s (${round(sends * 10, 0)} messages/s)`,
      );
      return {
        figures: [
          {
            bench: 'emulators',
            figure: 'DynamoDB Local cond. UpdateItem/s (1 / 4 / 16 / 64 in flight)',
            value: Object.values(updates)
              .map((r) => round(r, 0))
              .join(' / '),
            baseline: `warm-up ${round(warmup, 0)}/s`,
            ratio: '',
            goal: 'report',
          },
          {
            bench: 'emulators',
            figure: 'SQS emulator messages/s (SendMessageBatch ×10, 16 in flight)',
            value: `${round(sends * 10, 0)}/s`,
            baseline: '',
            ratio: '',
            goal: 'report',
          },
        ],
        details: {
          warmupPerSecond: warmup,
          updatesPerSecond: updates,
          putsPerSecond: puts,
          queriesPerSecond: queries,
          sqsBatchCallsPerSecond: sends,
        },
      };
    } finally {
      await runtime.stop();
    }
  },
};
