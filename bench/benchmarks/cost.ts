/**
 * Benchmark 8 — cost per fire (issue 11's baseline).
 *
 * Whole run lifecycles on DynamoDB Local and the SQS emulator, on a manual clock: the runtime's tick
 * (sweep, due-index audit, claim → run records → send → advance, heartbeat) a minute apart, and the
 * executor handler (`createExecutorHandler`, the Lambda's own) for every message, each at its slot time,
 * received and deleted as the event source mapping does. Three cases: 100 jobs `rate(1 minute)` with a
 * 200 B payload, 20 jobs `rate(5 seconds)` with 200 B, 20 jobs `rate(1 minute)` with 32 KiB.
 *
 * The first tick (and the runs it sent) is warm-up and not counted: it claims a whole lookahead of slots.
 * What is counted is every call made by the measured ticks and by the executions of the slots they sent.
 *
 * Measured: a middleware on the runtime's DynamoDB client sets `ReturnConsumedCapacity: INDEXES` on every
 * request and sums the `ConsumedCapacity` DynamoDB Local returns (table and each GSI apart), by step;
 * SQS and DynamoDB calls by operation; the lifecycle events the signals record (each an EventBridge
 * `PutEvents` entry in Lambda); the log lines the handlers write through their `Log` and the EMF blob of
 * the metrics they emit, serialized as Powertools would. Modelled: Lambda duration (the calls made, at
 * AWS in-region latencies), the event source mapping's receives, the Lambda platform log lines.
 * Priced at the us-east-1 on-demand list prices of `PRICES`.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createExecutorHandler } from '../../functions/executor.js';
import { LocalRuntime } from '../../local/runtime.js';
import { putJob } from '../../shared/ops/jobs.js';
import type { Log } from '../../shared/runs/lifecycle.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import { invokeTarget } from '../../shared/targets/index.js';
import { type BenchContext, type Benchmark, markdownTable, RESULTS_DIR, round, table } from '../support.js';
import { fireLedgers, ledgerMarkdown, ledgerTotals } from './ledger.js';

/** us-east-1 on-demand list prices (USD), as read on 2026-11-30; sources in bench/RESULTS.md. */
export const PRICES = {
  /** DynamoDB on-demand, per write / read request unit (after the Nov-2024 price cut). */
  dynamoWrite: 0.625e-6,
  dynamoRead: 0.125e-6,
  /** SQS standard queue, per request (each 64 KiB chunk of a payload is one request). */
  sqsRequest: 0.4e-6,
  /** EventBridge custom events, per entry (64 KiB chunks). */
  eventBridgeEvent: 1.0e-6,
  /** Lambda arm64, per GB-second and per request. */
  lambdaGbSecond: 0.0000133334,
  lambdaRequest: 0.2e-6,
  /** CloudWatch Logs standard ingestion, per GB. */
  logsPerGb: 0.5,
  /**
   * DynamoDB provisioned capacity (standard table class), per WCU-hour and RCU-hour: the construct's
   * `billing: 'provisioned'`, priced at the 70 % utilization its auto scaling keeps.
   */
  provisionedWcuHour: 0.00065,
  provisionedRcuHour: 0.00013,
  /** EventBridge Scheduler, per invocation (the comparison). */
  scheduler: 1.0e-6,
} as const;

/**
 * AWS in-region latencies the Lambda durations are modelled with, ms a call (the executor's calls are
 * sequential; the tick's per-job chains run 16 at a time). Billed duration is rounded up to the ms.
 */
export const LATENCY_MS = {
  dynamo: 5,
  transact: 10,
  sqs: 12,
  putEvents: 15,
  /** Handler overhead per invocation (Powertools middlewares, parsing, JSON). */
  handler: 3,
} as const;
const EXECUTOR_MEMORY_MB = 512;
const TICK_MEMORY_MB = 512;
const TICK_CONCURRENCY = 16;
/** Lambda's START, END and REPORT lines per invocation (text format, arm64, with the init line absent). */
export const PLATFORM_LOG_BYTES = 340;

interface Case {
  name: string;
  jobs: number;
  schedule: string;
  payloadBytes: number;
  /** Measured ticks (after the warm-up tick). */
  ticks: number;
  /** The pool's `batchSize`: records of one second handed to one invocation together (1 when absent). */
  batchSize?: number;
}

export const CASES: Case[] = [
  {
    name: '100 jobs rate(1 minute), 200 B',
    jobs: 100,
    schedule: 'rate(1 minute)',
    payloadBytes: 200,
    ticks: 4,
  },
  {
    name: '20 jobs rate(5 seconds), 200 B',
    jobs: 20,
    schedule: 'rate(5 seconds)',
    payloadBytes: 200,
    ticks: 2,
  },
  {
    name: '20 jobs rate(1 minute), 32 KiB',
    jobs: 20,
    schedule: 'rate(1 minute)',
    payloadBytes: 32 * 1024,
    ticks: 20,
  },
  {
    name: '100 jobs rate(1 minute), 200 B, pool batchSize 10',
    jobs: 100,
    schedule: 'rate(1 minute)',
    payloadBytes: 200,
    ticks: 4,
    batchSize: 10,
  },
];

// ── counting ──────────────────────────────────────────────────────────────────────────────────────

interface StepCount {
  calls: number;
  wcu: number;
  rcu: number;
  /** Write units DynamoDB charged on the table and on each GSI. */
  table: number;
  indexes: Record<string, number>;
  /** Read units charged on the table and on each GSI (a query of the due index reads the index). */
  readShares: { table: number; indexes: Record<string, number> };
}

interface Ledger {
  dynamo: Record<string, StepCount>;
  /** DynamoDB calls by operation. */
  dynamoOps: Record<string, number>;
  /** SQS requests as billed (64 KiB chunks), by operation. */
  sqs: Record<string, number>;
  events: number;
  logLines: number;
  logBytes: number;
  metricBlobBytes: number;
  executorInvocations: number;
  tickInvocations: number;
  /** Modelled Lambda duration (ms), executor and tick. */
  executorMs: number;
  tickMs: number;
  /** Wall time of the handlers here (loaded machine, emulators): reported, not priced. */
  measuredExecutorMs: number;
  measuredTickMs: number;
  /** Requests whose response carried no ConsumedCapacity. */
  unreported: number;
  /** Responses that broke the capacity down per GSI (DynamoDB Local does, with INDEXES). */
  withIndexShares: number;
}

function emptyLedger(): Ledger {
  return {
    dynamo: {},
    dynamoOps: {},
    sqs: {},
    events: 0,
    logLines: 0,
    logBytes: 0,
    metricBlobBytes: 0,
    executorInvocations: 0,
    tickInvocations: 0,
    executorMs: 0,
    tickMs: 0,
    measuredExecutorMs: 0,
    measuredTickMs: 0,
    unreported: 0,
    withIndexShares: 0,
  };
}

/** The lifecycle's writes grouped by the item they rewrite. */
const WRITE_GROUPS: [string, RegExp][] = [
  ['job item: claim + advance + finish', /tick: claim|tick: advance|executor: finish \(job\)/],
  ['run item: record + finish', /tick: run records|executor: finish \(run\)/],
  ['start: the run, then the job (two writes)', /executor: start \((run|job)\)/],
  [
    'start transaction (run + job, billed ×2; none since the start is two writes)',
    /executor: start \(transaction\)/,
  ],
  ['tick overhead (audit, heartbeat, sweep)', /tick: (due-index audit|heartbeat|sweep|due query|other)/],
];

/** WCU per fire by item and by where DynamoDB charged it (table, each GSI). */
function whereWritesGo(result: CaseResult) {
  const rows: { group: string; wcu: number; table: number; due: number; open: number }[] = [];
  for (const [group, pattern] of WRITE_GROUPS) {
    const row = { group, wcu: 0, table: 0, due: 0, open: 0 };
    for (const [step, entry] of Object.entries(result.ledger.dynamo)) {
      if (!pattern.test(step) || !entry.wcu) continue;
      row.wcu += entry.wcu / result.fires;
      // Write steps only: their table and GSI shares are write units.
      row.table += entry.table / result.fires;
      row.due += (entry.indexes.due ?? 0) / result.fires;
      row.open += (entry.indexes.open ?? 0) / result.fires;
    }
    rows.push(row);
  }
  return rows;
}

type Attr = Record<string, unknown> | undefined;
/** A key attribute's string, marshalled (`{ S: … }`) or not. */
function keyPart(key: Attr, name: string): string {
  const value = key?.[name] as { S?: string } | string | undefined;
  return typeof value === 'string' ? value : (value?.S ?? '');
}

/** The step of the run lifecycle a DynamoDB request belongs to, from its phase and shape. */
function stepOf(phase: 'tick' | 'executor', command: string, input: Record<string, unknown>): string {
  const key = input.Key as Attr;
  const item = input.Item as Attr;
  const sk = keyPart(key ?? item, 'sk');
  const pk = keyPart(key ?? item, 'pk');
  const kind =
    pk === 'TICK'
      ? sk.toLowerCase()
      : sk.startsWith('RUN#')
        ? 'run'
        : sk === 'JOB'
          ? 'job'
          : sk.startsWith('DEF#')
            ? 'definition'
            : '?';
  if (phase === 'tick') {
    if (command === 'QueryCommand' && input.IndexName === 'due') return 'tick: due query';
    if (command === 'QueryCommand' && input.IndexName === 'open') return 'tick: sweep';
    if (command === 'ScanCommand' || kind === 'audit') return 'tick: due-index audit';
    if (command === 'BatchGetItemCommand') return 'tick: read queried items (BatchGetItem)';
    if (kind === 'heartbeat') return 'tick: heartbeat';
    if (command === 'PutItemCommand' && kind === 'run') return 'tick: run records';
    const update = String(input.UpdateExpression ?? '');
    const condition = String(input.ConditionExpression ?? '');
    if (kind === 'job' && update.startsWith('SET #lease')) return 'tick: claim';
    if (kind === 'job' && /lease\.#token = :token/.test(condition)) return 'tick: advance';
    return `tick: other ${command.replace('Command', '')} ${kind}`;
  }
  if (command === 'TransactWriteItemsCommand') return 'executor: start (transaction)';
  if (command === 'GetItemCommand') return `executor: start (read ${kind})`;
  const update = String(input.UpdateExpression ?? '');
  // The start in two writes: the run (its status and attempt the condition), then the job's running set.
  if (command === 'UpdateItemCommand' && kind === 'run' && /#status = :running/.test(update))
    return 'executor: start (run)';
  if (command === 'UpdateItemCommand' && kind === 'job' && /^ADD #running/.test(update))
    return 'executor: start (job)';
  if (command === 'UpdateItemCommand') return `executor: finish (${kind})`;
  return `executor: other ${command.replace('Command', '')} ${kind}`;
}

interface Consumed {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

const READS = new Set([
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'TransactGetItemsCommand',
]);
/** Every DynamoDB request that takes `ReturnConsumedCapacity`. */
const DATA_PLANE = new Set([
  ...READS,
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

/** A Log that writes nothing but counts the JSON lines Powertools Logger would write (INFO and up). */
function countingLog(ledger: () => Ledger | undefined, service: string): Log {
  const context = {
    cold_start: false,
    function_arn: `arn:aws:lambda:us-east-1:123456789012:function:punctual-${service}-A1B2C3D4E5F6`,
    function_memory_size: '512',
    function_name: `punctual-${service}-A1B2C3D4E5F6`,
    function_request_id: randomUUID(),
    sampling_rate: 0,
    xray_trace_id: '1-6745a1b2-0123456789abcdef01234567',
  };
  const write = (level: string) => (message: string, extra?: Record<string, unknown>) => {
    const counts = ledger();
    if (!counts) return;
    const line = JSON.stringify({
      level,
      message,
      timestamp: new Date().toISOString(),
      service: `punctual-${service}`,
      ...context,
      ...extra,
    });
    counts.logLines += 1;
    counts.logBytes += Buffer.byteLength(line) + 1;
  };
  return { debug() {}, info: write('INFO'), warn: write('WARN'), error: write('ERROR') };
}

/** The EMF blob Powertools Metrics flushes at the end of an invocation, for these metrics. */
export function emfBytes(service: string, metrics: { name: string; value: number; unit: string }[]): number {
  if (!metrics.length) return 0;
  const values: Record<string, number | number[]> = {};
  const units: Record<string, string> = {};
  for (const metric of metrics) {
    const seen = values[metric.name];
    values[metric.name] = seen === undefined ? metric.value : [...[seen].flat(), metric.value];
    units[metric.name] = metric.unit;
  }
  const blob = {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: 'Punctual',
          Dimensions: [['service']],
          Metrics: Object.entries(units).map(([Name, Unit]) => ({ Name, Unit })),
        },
      ],
    },
    service,
    ...values,
  };
  return Buffer.byteLength(JSON.stringify(blob)) + 1;
}

// ── one case ─────────────────────────────────────────────────────────────────────────────────────

interface CaseResult {
  case: Case;
  fires: number;
  ledger: Ledger;
  outcomes: Record<string, number>;
  warmup: { fires: number; wcu: number; rcu: number };
  itemBytes: { job: number; run: number; definition: number };
}

export async function runCase(context: BenchContext, spec: Case, index: number): Promise<CaseResult> {
  const T0 = Date.parse('2026-12-01T00:00:00.000Z');
  let now = T0 - 30_000;
  const clock = () => now;
  let ledger: Ledger | undefined;
  let phase: 'tick' | 'executor' = 'tick';
  /** Run ids the measured ticks sent: their executions are counted. */
  const measured = new Set<string>();
  let measuring = false;

  const tickLog = countingLog(() => (phase === 'tick' ? ledger : undefined), 'Tick');
  const runtime = await LocalRuntime.start({
    endpoints: context.endpoints,
    name: `bench-cost-${index}-${process.pid}`,
    clock,
    tickMs: 60_000,
    log: tickLog,
  });
  try {
    const dynamoStack = runtime.dynamo.middlewareStack;
    dynamoStack.add(
      (next, ctx) => async (args) => {
        const input = args.input as Record<string, unknown>;
        const command = ctx.commandName ?? '?';
        if (!DATA_PLANE.has(command)) return next(args);
        input.ReturnConsumedCapacity = 'INDEXES';
        const result = await next(args);
        const counts = ledger;
        if (!counts) return result;
        const step = stepOf(phase, command, input);
        counts.dynamo[step] ??= {
          calls: 0,
          wcu: 0,
          rcu: 0,
          table: 0,
          indexes: {},
          readShares: { table: 0, indexes: {} },
        };
        const entry = counts.dynamo[step];
        entry.calls += 1;
        counts.dynamoOps[command] = (counts.dynamoOps[command] ?? 0) + 1;
        const consumed = ([] as Consumed[]).concat(
          ((result.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity as never) ?? [],
        );
        if (!consumed.length) counts.unreported += 1;
        if (consumed.some((part) => part.GlobalSecondaryIndexes)) counts.withIndexShares += 1;
        const read = READS.has(command);
        // DynamoDB bills a transactional write 2 units a KB on each item (AWS "Capacity unit consumption
        // for transactions"); DynamoDB Local reports the item's plain write units (measured: a transaction
        // of two 0.7 KB updates reports 2). Its table share is counted twice here; index updates once.
        const transact = command === 'TransactWriteItemsCommand' ? 2 : 1;
        for (const part of consumed) {
          const tableUnits = part.Table?.CapacityUnits ?? 0;
          const units = (part.CapacityUnits ?? 0) + (transact - 1) * tableUnits;
          if (read) entry.rcu += units;
          else entry.wcu += units;
          // Where the units were charged: write units only (a read's share is its RCU, by index below).
          const shares = read ? entry.readShares : entry;
          shares.table += tableUnits * transact;
          for (const [name, gsi] of Object.entries(part.GlobalSecondaryIndexes ?? {}))
            shares.indexes[name] = (shares.indexes[name] ?? 0) + (gsi.CapacityUnits ?? 0);
        }
        if (phase === 'executor')
          counts.executorMs += command.startsWith('Transact') ? LATENCY_MS.transact : LATENCY_MS.dynamo;
        return result;
      },
      // After lib-dynamodb's marshalling (also at initialize, priority high): the input is the wire's.
      { step: 'initialize', name: 'benchCostCapacity', priority: 'low', override: true },
    );
    runtime.sqs.middlewareStack.add(
      (next, ctx) => async (args) => {
        const command = ctx.commandName ?? '?';
        const input = args.input as { Entries?: { MessageBody?: string; DelaySeconds?: number }[] };
        let bytes = 0;
        for (const entry of input.Entries ?? []) {
          bytes += Buffer.byteLength(entry.MessageBody ?? '');
          // The emulator would hold the message for its delay in real time; the manual clock runs the
          // slot at its time instead. SQS bills a delayed message like any other.
          entry.DelaySeconds = 0;
          if (measuring && command === 'SendMessageBatchCommand')
            measured.add((JSON.parse(entry.MessageBody ?? '{}') as { runId: string }).runId);
        }
        const counts = ledger;
        if (counts && command !== 'ReceiveMessageCommand' && command !== 'DeleteMessageCommand') {
          const billed = Math.max(1, Math.ceil(bytes / 65_536));
          counts.sqs[command] = (counts.sqs[command] ?? 0) + billed;
          if (phase === 'executor') counts.executorMs += LATENCY_MS.sqs;
        }
        return next(args);
      },
      { step: 'initialize', name: 'benchCostSqs', override: true },
    );

    const pool = runtime.pools[0]!;
    const executorLog = countingLog(() => (phase === 'executor' ? ledger : undefined), 'Executor');
    const execute = createExecutorHandler({
      store: runtime.store,
      dispatcher: runtime.dispatcher,
      signals: runtime.signals,
      pools: runtime.routing,
      log: executorLog,
      pool: pool.name,
      clock,
      // The executor waits out a message that arrives before its slot: on the manual clock, move it.
      sleep: async (ms) => {
        now += ms;
      },
      invoke: (target, runContext, signal) =>
        invokeTarget(target, runContext, { clients: {} as never, handlers: builtinHandlers(), signal }),
      onOutcome: (outcome) => {
        batchOutcomes.push(outcome);
      },
    });
    let batchOutcomes: string[] = [];

    const payload = { data: 'x'.repeat(Math.max(0, spec.payloadBytes - 11)) };
    for (let i = 0; i < spec.jobs; i++) {
      await putJob(
        runtime.store,
        {
          id: `cost-${i}`,
          schedule: spec.schedule,
          startAt: new Date(T0).toISOString(),
          target: { type: 'handler', name: 'noop' },
          payload,
        },
        now,
        { pools: runtime.pools.map((p) => p.name) },
      );
    }

    const pending: { message: Message; slot: number; runId: string }[] = [];
    const outcomes: Record<string, number> = {};
    const receiveAll = async () => {
      for (;;) {
        const { Messages } = await runtime.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: pool.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        if (!Messages?.length) return;
        for (const message of Messages) {
          const body = JSON.parse(message.Body ?? '{}') as { runId: string; scheduledAt: string };
          pending.push({ message, slot: Date.parse(body.scheduledAt), runId: body.runId });
        }
      }
    };
    /**
     * Runs every received message whose slot is before `until`, in slot order, each at its slot time: as
     * the event source mapping delivers them, up to the pool's batch size of the messages visible at the
     * same second in one invocation (one receive, one delete, one invocation; the records run side by
     * side, so the invocation lasts as long as one record's calls).
     */
    const executeUntil = async (until: number) => {
      pending.sort((a, b) => a.slot - b.slot);
      const size = spec.batchSize ?? 1;
      while (pending.length && pending[0]!.slot < until) {
        const second = Math.floor(pending[0]!.slot / 1000);
        let n = 1;
        while (n < size && n < pending.length && Math.floor(pending[n]!.slot / 1000) === second) n += 1;
        const batch = pending.splice(0, n);
        const counted = batch.some(({ runId }) => measured.has(runId));
        now = Math.max(now, batch.at(-1)!.slot + 20);
        phase = 'executor';
        const saved = ledger;
        if (!counted) ledger = undefined;
        const metricsBefore = runtime.signals.metrics.length;
        const eventsBefore = runtime.signals.events.length;
        const msBefore = saved?.executorMs ?? 0;
        batchOutcomes = [];
        const started = performance.now();
        const response = await execute(
          {
            Records: batch.map(({ message }) => ({
              messageId: message.MessageId ?? '',
              receiptHandle: message.ReceiptHandle ?? '',
              body: message.Body ?? '',
              attributes: {
                ApproximateReceiveCount: '1',
                SentTimestamp: String(now),
                SenderId: 'local',
                ApproximateFirstReceiveTimestamp: String(now),
              },
              messageAttributes: {},
              md5OfBody: message.MD5OfBody ?? '',
              eventSource: 'aws:sqs',
              eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${pool.name}`,
              awsRegion: 'us-east-1',
            })),
          },
          { getRemainingTimeInMillis: () => pool.timeout },
        );
        const wall = performance.now() - started;
        const failed = new Set(response.batchItemFailures.map((item) => item.itemIdentifier));
        for (const { message } of batch)
          if (!failed.has(message.MessageId ?? ''))
            await runtime.sqs.send(
              new DeleteMessageCommand({ QueueUrl: pool.queueUrl, ReceiptHandle: message.ReceiptHandle }),
            );
        if (counted) {
          for (const [i, { message }] of batch.entries()) {
            const outcome = failed.has(message.MessageId ?? '')
              ? 'batch-item-failure'
              : (batchOutcomes[i] ?? 'none');
            outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
          }
          const counts = saved!;
          counts.executorInvocations += 1;
          // The event source mapping: one long-polling receive and one (batch) delete per invocation.
          counts.sqs.ReceiveMessage = (counts.sqs.ReceiveMessage ?? 0) + 1;
          counts.sqs.DeleteMessage = (counts.sqs.DeleteMessage ?? 0) + 1;
          // The records' calls overlap: the invocation lasts one record's share of them.
          counts.executorMs = msBefore + (counts.executorMs - msBefore) / batch.length;
          const events = runtime.signals.events.length - eventsBefore;
          counts.events += events;
          if (events) counts.executorMs += LATENCY_MS.putEvents * Math.ceil(events / 10);
          counts.executorMs += LATENCY_MS.handler;
          counts.metricBlobBytes += emfBytes(
            'punctual-executor',
            runtime.signals.metrics.slice(metricsBefore),
          );
          counts.logBytes += PLATFORM_LOG_BYTES;
          counts.measuredExecutorMs += wall;
        }
        ledger = saved;
        phase = 'tick';
      }
    };

    // Warm-up: the first tick claims a whole lookahead of slots and is not counted.
    let warmup = { fires: 0, wcu: 0, rcu: 0 };
    for (let tick = 0; tick <= spec.ticks; tick++) {
      const at = T0 + tick * 60_000;
      await executeUntil(at);
      now = Math.max(now, at);
      measuring = tick > 0;
      if (tick === 1) ledger = emptyLedger();
      else if (tick === 0) ledger = emptyLedger();
      phase = 'tick';
      const metricsBefore = runtime.signals.metrics.length;
      const eventsBefore = runtime.signals.events.length;
      const started = performance.now();
      const report = await runtime.tick();
      const wall = performance.now() - started;
      if (report.errors.length) throw new Error(`tick errors: ${JSON.stringify(report.errors.slice(0, 3))}`);
      const counts = ledger!;
      counts.tickInvocations += 1;
      counts.measuredTickMs += wall;
      counts.events += runtime.signals.events.length - eventsBefore;
      counts.metricBlobBytes += emfBytes('punctual-tick', runtime.signals.metrics.slice(metricsBefore));
      counts.logBytes += PLATFORM_LOG_BYTES;
      await receiveAll();
      if (tick === 0) {
        const totals = sum(counts);
        warmup = { fires: report.slotsDispatched, wcu: totals.wcu, rcu: totals.rcu };
        ledger = undefined;
      }
    }
    await executeUntil(Number.POSITIVE_INFINITY);
    await receiveAll();
    if (pending.length) await executeUntil(Number.POSITIVE_INFINITY);
    const counts = ledger!;
    ledger = undefined;
    counts.tickMs = modelTickMs(counts, spec.ticks);

    const fires = measured.size;
    if ((outcomes.succeeded ?? 0) !== fires)
      throw new Error(`${spec.name}: ${JSON.stringify(outcomes)} for ${fires} slots sent`);
    const job = await runtime.store.getJobRaw('cost-0');
    const run = (await runtime.store.queryRuns('cost-0', { limit: 1 })).items[0];
    return {
      case: spec,
      fires,
      ledger: counts,
      outcomes,
      warmup,
      itemBytes: {
        job: itemBytes(job),
        run: itemBytes(run),
        definition: itemBytes({ definition: (job as { definition?: unknown } | undefined)?.definition }),
      },
    };
  } finally {
    await runtime.stop();
  }
}

/**
 * The tick's modelled duration: its per-job chains (claim, records, send, advance) run 16 at a time; the
 * sweep, audit, due queries and heartbeat one after another (the shards' queries in parallel, counted once).
 */
function modelTickMs(counts: Ledger, ticks: number): number {
  let chain = 0;
  let serial = 0;
  for (const [step, entry] of Object.entries(counts.dynamo)) {
    if (!step.startsWith('tick:')) continue;
    const perCall = LATENCY_MS.dynamo * entry.calls;
    if (/claim|records|advance/.test(step)) chain += perCall;
    else if (/due query|sweep/.test(step)) serial += LATENCY_MS.dynamo * ticks;
    else serial += perCall;
  }
  chain += LATENCY_MS.sqs * (counts.sqs.SendMessageBatchCommand ?? 0);
  return chain / TICK_CONCURRENCY + serial + LATENCY_MS.handler * ticks;
}

/** DynamoDB's item size: attribute names and values in bytes (numbers ≈ 1 byte per 2 digits + 1). */
export function itemBytes(value: unknown): number {
  if (value === undefined || value === null) return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace('.', '').length / 2) + 1;
  if (typeof value === 'boolean') return 1;
  if (value instanceof Set) return [...value].reduce((n: number, v) => n + itemBytes(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + itemBytes(v), 0);
  return (
    3 +
    Object.entries(value as Record<string, unknown>).reduce(
      (n, [key, v]) => n + Buffer.byteLength(key) + 1 + itemBytes(v),
      0,
    )
  );
}

function sum(counts: Ledger) {
  let wcu = 0;
  let rcu = 0;
  let table = 0;
  const indexes: Record<string, number> = {};
  for (const entry of Object.values(counts.dynamo)) {
    wcu += entry.wcu;
    rcu += entry.rcu;
    table += entry.table;
    for (const [name, units] of Object.entries(entry.indexes)) indexes[name] = (indexes[name] ?? 0) + units;
  }
  return { wcu, rcu, table, indexes };
}

// ── pricing ──────────────────────────────────────────────────────────────────────────────────────

export function price(result: CaseResult) {
  const { ledger: c, fires } = result;
  const totals = sum(c);
  const perFire = (n: number) => n / fires;
  const sqsRequests = Object.values(c.sqs).reduce((a, b) => a + b, 0);
  const executorGbS =
    (Math.ceil(c.executorMs / Math.max(1, c.executorInvocations)) *
      c.executorInvocations *
      EXECUTOR_MEMORY_MB) /
    1024 /
    1000;
  const tickGbS =
    (Math.ceil(c.tickMs / Math.max(1, c.tickInvocations)) * c.tickInvocations * TICK_MEMORY_MB) / 1024 / 1000;
  const logBytes = c.logBytes + c.metricBlobBytes;
  const dollars = {
    dynamoWrite: totals.wcu * PRICES.dynamoWrite,
    dynamoRead: totals.rcu * PRICES.dynamoRead,
    sqs: sqsRequests * PRICES.sqsRequest,
    eventBridge: c.events * PRICES.eventBridgeEvent,
    lambda:
      (executorGbS + tickGbS) * PRICES.lambdaGbSecond +
      (c.executorInvocations + c.tickInvocations) * PRICES.lambdaRequest,
    logs: (logBytes / 2 ** 30) * PRICES.logsPerGb,
  };
  // Provisioned at 70 % utilization: a unit-hour holds 3,600 unit-seconds, 70 % of them used.
  const provisionedDynamo =
    (totals.wcu * PRICES.provisionedWcuHour + totals.rcu * PRICES.provisionedRcuHour) / (3600 * 0.7);
  const perMillion = Object.fromEntries(
    Object.entries(dollars).map(([key, value]) => [key, (value / fires) * 1e6]),
  ) as Record<keyof typeof dollars, number>;
  const total = Object.values(perMillion).reduce((a, b) => a + b, 0);
  // EventBridge Scheduler: $1.00 per million invocations, plus the target's own invocation (a Lambda of
  // the same size running the noop target for the handler overhead: its request and a ms of 512 MB).
  const schedulerTarget =
    PRICES.lambdaRequest * 1e6 +
    ((LATENCY_MS.handler * EXECUTOR_MEMORY_MB) / 1024 / 1000) * PRICES.lambdaGbSecond * 1e6;
  const provisioned = {
    dynamo: (provisionedDynamo / fires) * 1e6,
    total: total - perMillionDynamo(dollars, fires) + (provisionedDynamo / fires) * 1e6,
  };
  return {
    provisioned,
    perFire: {
      wcu: perFire(totals.wcu),
      rcu: perFire(totals.rcu),
      wcuTable: perFire(totals.table),
      wcuOnIndexes: Object.fromEntries(Object.entries(totals.indexes).map(([k, v]) => [k, perFire(v)])),
      dynamoRequests: perFire(Object.values(c.dynamoOps).reduce((a, b) => a + b, 0)),
      sqsRequests: perFire(sqsRequests),
      events: perFire(c.events),
      lambdaInvocations: perFire(c.executorInvocations + c.tickInvocations),
      lambdaGbS: perFire(executorGbS + tickGbS),
      logBytes: perFire(logBytes),
    },
    perMillion,
    total,
    scheduler: { perMillion: PRICES.scheduler * 1e6, withTarget: PRICES.scheduler * 1e6 + schedulerTarget },
  };
}

function perMillionDynamo(dollars: { dynamoWrite: number; dynamoRead: number }, fires: number): number {
  return ((dollars.dynamoWrite + dollars.dynamoRead) / fires) * 1e6;
}

const f = (value: number, digits = 2) => String(round(value, digits));

export const cost: Benchmark = {
  name: 'cost',
  title: 'Cost per fire (whole lifecycle, every service), priced at us-east-1 on-demand',
  async run(context) {
    const results: (CaseResult & { priced: ReturnType<typeof price> })[] = [];
    for (const [i, spec] of CASES.entries()) {
      const started = Date.now();
      const result = await runCase(context, spec, i);
      results.push({ ...result, priced: price(result) });
      context.log(
        `  ${spec.name}: ${result.fires} fires measured (${round((Date.now() - started) / 1000, 1)} s)`,
      );
    }
    const perM = (price: number) => round(price * 1e6, 4);
    context.log(
      `  prices (us-east-1, on-demand): DynamoDB $${perM(PRICES.dynamoWrite)}/M WRU, $${perM(PRICES.dynamoRead)}/M RRU; ` +
        `SQS $${perM(PRICES.sqsRequest)}/M requests; EventBridge $${perM(PRICES.eventBridgeEvent)}/M events; ` +
        `Lambda arm64 $${PRICES.lambdaGbSecond}/GB-s + $${perM(PRICES.lambdaRequest)}/M requests; ` +
        `CloudWatch Logs $${PRICES.logsPerGb}/GB; EventBridge Scheduler $${perM(PRICES.scheduler)}/M`,
    );
    const summary = [
      [
        'case',
        'WCU/fire',
        'RCU/fire',
        'DDB req',
        'SQS req',
        'events',
        'DDB $/M',
        'SQS $/M',
        'EB $/M',
        'Lambda $/M',
        'Logs $/M',
        'total $/M',
        'DDB provisioned (70 %) $/M',
        'total, provisioned $/M',
        'Scheduler $/M',
      ],
      ...results.map((r) => {
        const p = r.priced;
        return [
          r.case.name,
          f(p.perFire.wcu),
          f(p.perFire.rcu),
          f(p.perFire.dynamoRequests),
          f(p.perFire.sqsRequests),
          f(p.perFire.events),
          f(p.perMillion.dynamoWrite + p.perMillion.dynamoRead),
          f(p.perMillion.sqs),
          f(p.perMillion.eventBridge),
          f(p.perMillion.lambda),
          f(p.perMillion.logs),
          f(p.total),
          f(p.provisioned.dynamo),
          f(p.provisioned.total),
          `${f(p.scheduler.perMillion)} (${f(p.scheduler.withTarget)} with target)`,
        ];
      }),
    ];
    context.log(`\n${table(summary)}\n\n${markdownTable(summary)}\n`);
    for (const r of results) {
      const steps = [
        [
          'step',
          'calls/fire',
          'WCU/fire',
          'RCU/fire',
          'table',
          ...Object.keys(sum(r.ledger).indexes).map((n) => `GSI ${n}`),
        ],
        ...Object.entries(r.ledger.dynamo)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([step, e]) => [
            step,
            f(e.calls / r.fires, 3),
            f(e.wcu / r.fires),
            f(e.rcu / r.fires),
            f(e.table / r.fires),
            ...Object.keys(sum(r.ledger).indexes).map((n) => f((e.indexes[n] ?? 0) / r.fires)),
          ]),
      ];
      context.log(
        `  ${r.case.name} — DynamoDB by step (capacity units per fire; where the writes were charged):`,
      );
      context.log(`${markdownTable(steps)}\n`);
      const total = r.priced.perFire.wcu;
      const where = [
        ['where the writes go', 'WCU/fire', 'share', 'table', 'GSI due', 'GSI open'],
        ...whereWritesGo(r).map((row) => [
          row.group,
          f(row.wcu),
          `${f((row.wcu / total) * 100, 0)} %`,
          f(row.table),
          f(row.due),
          f(row.open),
        ]),
      ];
      context.log(`${markdownTable(where)}`);
      context.log(
        `  items: job ${r.itemBytes.job} B, run record ${r.itemBytes.run} B, of which the definition ` +
          `(payload included) ${r.itemBytes.definition} B in each\n`,
      );
    }
    // The per-request ledger of one fire in each of six cases (issue 19, goal 2).
    const ledgers = await fireLedgers(context);
    const ledger = ledgerMarkdown(ledgers);
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(join(RESULTS_DIR, 'ledger.md'), ledger);
    for (const [name, rows] of Object.entries(ledgers)) {
      const t = ledgerTotals(rows);
      context.log(
        `  ledger, ${name}: ${rows.length} requests; the fire ${t.wcu} WCU, ${t.rcu} RCU, ${t.sqs} SQS, ` +
          `${t.events} events, ${t.invocations} invocations (+ the tick's ${t.tickFixed.requests} fixed requests)`,
      );
    }
    context.log(`  the whole ledger: bench/results/ledger.md`);
    return {
      figures: results.map((r) => ({
        bench: 'cost',
        figure: `$ per million fires, ${r.case.name}`,
        value: `$${f(r.priced.total)} (${f(r.priced.perFire.wcu)} WCU / ${f(r.priced.perFire.rcu)} RCU a fire)`,
        baseline: `EventBridge Scheduler $${f(r.priced.scheduler.withTarget)} with target`,
        ratio: `${f(r.priced.total / r.priced.scheduler.withTarget)}×`,
        goal: `≤ $2.50 on-demand ${r.priced.total <= 2.5 ? '✔' : `✘ (by $${f(r.priced.total - 2.5)})`}; ≤ $1.50 provisioned ${r.priced.provisioned.total <= 1.5 ? '✔' : `✘ ($${f(r.priced.provisioned.total)})`}`,
      })),
      details: {
        prices: PRICES,
        latencyModelMs: LATENCY_MS,
        memoryMb: { executor: EXECUTOR_MEMORY_MB, tick: TICK_MEMORY_MB },
        platformLogBytesPerInvocation: PLATFORM_LOG_BYTES,
        cases: results.map((r) => ({
          case: r.case,
          fires: r.fires,
          outcomes: r.outcomes,
          warmup: r.warmup,
          itemBytes: r.itemBytes,
          whereTheWritesGo: whereWritesGo(r),
          perFire: r.priced.perFire,
          perMillionFires: r.priced.perMillion,
          totalPerMillionFires: r.priced.total,
          provisionedAt70Percent: r.priced.provisioned,
          scheduler: r.priced.scheduler,
          ledger: r.ledger,
        })),
      },
    };
  },
};
