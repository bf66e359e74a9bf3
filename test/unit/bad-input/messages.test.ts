/**
 * Bad SQS message bodies, handed to the executor Lambda's handler (functions/executor.ts, batch
 * processing and all) on DynamoDB Local and the SQS emulator. SPEC §7: a message that cannot be parsed
 * goes to the DLQ with the reason, is acknowledged (it never blocks the pool), and the other messages of
 * its batch run. Each case checks the reason on the DLQ and that the table is exactly as it was.
 */

import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createExecutorHandler } from '../../../functions/executor.js';
import type { LocalRuntime } from '../../../local/runtime.js';
import { silentLog } from '../../../shared/runs/lifecycle.js';
import { job, ManualClock, put, T0, testRuntime } from '../../support/runtime.js';

/** Every item of the table, sorted by key: equal before and after means nothing was written. */
async function snapshot(runtime: LocalRuntime): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await runtime.store.doc.send(
      new ScanCommand({ TableName: runtime.state.tableName, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  const key = (item: Record<string, unknown>) => `${item.pk}|${item.sk}`;
  return items.sort((a, b) => key(a).localeCompare(key(b)));
}

/** Takes every visible message off a queue and returns the bodies. */
async function takeAll(runtime: LocalRuntime, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await runtime.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (!Messages.length) return bodies;
    for (const message of Messages) {
      bodies.push(message.Body ?? '');
      await runtime.sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }
  }
}

const SLOT = '2026-12-01T00:00:00.000Z';
const valid = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({ v: 1, runId: `alpha@${SLOT}`, jobId: 'alpha', scheduledAt: SLOT, attempt: 1, ...fields });

let runtime: LocalRuntime;
let clock: ManualClock;
const starts: string[] = [];
let handler: ReturnType<typeof createExecutorHandler>;
let dlqUrl: string;

beforeAll(async () => {
  clock = new ManualClock(T0);
  runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
  await put(runtime, job('alpha', { schedule: 'rate(1 hour)', startAt: SLOT }), T0 - 1000);
  await put(runtime, job('beta', { schedule: 'rate(1 hour)', startAt: SLOT }), T0 - 1000);
  await runtime.tick(); // alpha@SLOT and beta@SLOT dispatched
  await takeAll(runtime, runtime.pools[0]!.queueUrl); // this file hands the executor its messages itself
  dlqUrl = runtime.pools[0]!.dlqUrl;
  handler = createExecutorHandler({
    store: runtime.store,
    dispatcher: runtime.dispatcher,
    signals: runtime.signals,
    pools: runtime.routing,
    log: silentLog,
    pool: 'default',
    clock: clock.fn,
    invoke: async (_target, context) => {
      starts.push(`${context.runId}#${context.attempt}`);
      return {};
    },
  });
});

afterAll(async () => {
  await runtime?.stop();
});

beforeEach(async () => {
  await takeAll(runtime, dlqUrl);
});

let sequence = 0;
function record(body: string): SQSRecord {
  sequence += 1;
  return {
    messageId: `m-${sequence}`,
    receiptHandle: `r-${sequence}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(T0),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(T0),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:default',
    awsRegion: 'us-east-1',
  };
}

async function deliver(...bodies: string[]) {
  const event: SQSEvent = { Records: bodies.map(record) };
  return handler(event, { getRemainingTimeInMillis: () => 60_000 });
}

const POISON = 'message body is not a punctual run message: ';
const cases: { name: string; body: string; error: string }[] = [
  { name: 'an empty body', body: '', error: 'message body is not JSON: Unexpected end of JSON input' },
  {
    name: 'text that is not JSON',
    body: 'run alpha now',
    error: `message body is not JSON: Unexpected token 'r', "run alpha now" is not valid JSON`,
  },
  {
    name: 'JSON cut short',
    body: valid().slice(0, 30),
    error: 'message body is not JSON: Unterminated string in JSON at position 30',
  },
  {
    name: 'JSON null',
    body: 'null',
    error: `${POISON}(body): Invalid input: expected object, received null`,
  },
  {
    name: 'a JSON array',
    body: `[${valid()}]`,
    error: `${POISON}(body): Invalid input: expected object, received array`,
  },
  {
    name: 'a JSON string',
    body: JSON.stringify(valid()),
    error: `${POISON}(body): Invalid input: expected object, received string`,
  },
  { name: 'no version', body: valid({ v: undefined }), error: `${POISON}v: Invalid input: expected 1` },
  {
    name: 'no runId',
    body: valid({ runId: undefined }),
    error: `${POISON}runId: Invalid input: expected string, received undefined`,
  },
  {
    name: 'a runId of two characters',
    body: valid({ runId: 'a@' }),
    error: `${POISON}runId: Too small: expected string to have >=3 characters; runId: is not a run id (jobId@<ISO time>); jobId: jobId must be the job of runId`,
  },
  {
    name: 'a runId that is not jobId@<ISO time>',
    body: valid({ runId: 'alpha-yesterday' }),
    error: `${POISON}runId: is not a run id (jobId@<ISO time>); jobId: jobId must be the job of runId`,
  },
  {
    name: 'a jobId that is not the job of its runId',
    body: valid({ jobId: 'beta' }),
    error: `${POISON}jobId: jobId must be the job of runId`,
  },
  {
    name: 'a numeric runId',
    body: valid({ runId: 42 }),
    error: `${POISON}runId: Invalid input: expected string, received number`,
  },
  {
    name: 'an extra field',
    body: valid({ priority: 'high' }),
    error: `${POISON}(body): Unrecognized key: "priority"`,
  },
  {
    name: 'attempt 0',
    body: valid({ attempt: 0 }),
    error: `${POISON}attempt: Too small: expected number to be >=1`,
  },
  {
    name: 'attempt as text',
    body: valid({ attempt: '1' }),
    error: `${POISON}attempt: Invalid input: expected number, received string`,
  },
  {
    name: 'a fractional attempt',
    body: valid({ attempt: 1.5 }),
    error: `${POISON}attempt: Invalid input: expected int, received number`,
  },
  {
    name: 'scheduledAt with an offset',
    body: valid({ scheduledAt: '2026-12-01T01:00:00+01:00' }),
    error: `${POISON}scheduledAt: Invalid ISO datetime`,
  },
  {
    name: 'scheduledAt in words',
    body: valid({ scheduledAt: 'yesterday' }),
    error: `${POISON}scheduledAt: Invalid ISO datetime`,
  },
  {
    name: 'replay as text',
    body: valid({ replay: 'yes' }),
    error: `${POISON}replay: Invalid input: expected boolean, received string`,
  },
];

describe('a message the executor cannot read', () => {
  it.each(cases)(
    '$name: goes to the DLQ with the reason, is acknowledged, and changes nothing',
    async ({ body, error }) => {
      const before = await snapshot(runtime);
      const startsBefore = starts.length;

      const response = await deliver(body);

      expect(response.batchItemFailures).toEqual([]);
      const dlq = (await takeAll(runtime, dlqUrl)).map((text) => JSON.parse(text));
      expect(dlq).toEqual([{ v: 1, poison: true, error, body, receivedAt: new Date(T0).toISOString() }]);
      expect(await snapshot(runtime)).toEqual(before);
      expect(starts.length).toBe(startsBefore);
    },
  );
});

describe('a message of a newer format (a later build, met during a deploy)', () => {
  it('version 2 is not acknowledged, so it comes again for a newer executor: not on the DLQ, nothing started or written', async () => {
    const before = await snapshot(runtime);
    const startsBefore = starts.length;

    const response = await deliver(valid({ v: 2 }));

    expect(response.batchItemFailures).toHaveLength(1);
    expect(await takeAll(runtime, dlqUrl)).toEqual([]);
    expect(await snapshot(runtime)).toEqual(before);
    expect(starts.length).toBe(startsBefore);
  });
});

describe('a readable message that names no run of this deployment', () => {
  it('an unknown run id (a slot never claimed) is dropped: not started, not on the DLQ, nothing written', async () => {
    const before = await snapshot(runtime);
    const startsBefore = starts.length;

    const response = await deliver(
      valid({ runId: 'alpha@2026-12-01T05:00:00.000Z', scheduledAt: '2026-12-01T05:00:00.000Z' }),
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(await takeAll(runtime, dlqUrl)).toEqual([]);
    expect(await snapshot(runtime)).toEqual(before);
    expect(starts.length).toBe(startsBefore);
  });

  it('an attempt the run is not at (attempt 3 of a run never started) is absorbed as a duplicate', async () => {
    const before = await snapshot(runtime);

    const response = await deliver(valid({ attempt: 3 }));

    expect(response.batchItemFailures).toEqual([]);
    expect(await snapshot(runtime)).toEqual(before);
    expect(starts).not.toContain(`alpha@${SLOT}#3`);
  });
});

describe('a batch mixing poison and good messages', () => {
  it('quarantines each poison message and runs the good one, once', async () => {
    const response = await deliver('{"v":1', valid({ jobId: 'beta' }), valid(), 'not json');

    expect(response.batchItemFailures).toEqual([]);
    const dlq = (await takeAll(runtime, dlqUrl)).map((text) => JSON.parse(text) as { body: string });
    expect(dlq.map((entry) => entry.body)).toEqual(['{"v":1', valid({ jobId: 'beta' }), 'not json']);
    expect(starts.filter((start) => start === `alpha@${SLOT}#1`)).toEqual([`alpha@${SLOT}#1`]);
    expect((await runtime.store.getRun(`alpha@${SLOT}`))?.status).toBe('succeeded');
  });
});
