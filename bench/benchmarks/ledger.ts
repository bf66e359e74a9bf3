/**
 * The per-request ledger of a fire (issue 19, goal 2): every DynamoDB, SQS, Lambda, EventBridge and
 * CloudWatch Logs request one fire makes, in order, with the units DynamoDB reports and the guarantee it
 * serves. Five cases on DynamoDB Local and the SQS emulator, on a manual clock: an ordinary fire (sync
 * `handler` target, success), a retried fire (fails once), missed slots (a tick stopped for three
 * minutes, catch-up `latest`), an asynchronous run with 10 heartbeats (an `sqs` target with
 * `completion: async`, reports applied as the completions function does), and a manual trigger.
 * Each case starts after its job was created and its first slot claimed, so only the fire is counted;
 * the tick's fixed work (heartbeat, due queries, audit) is listed in the ordinary fire, once.
 */
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { sendReport, takeRun } from '../../examples/worker.js';
import { LocalRuntime } from '../../local/runtime.js';
import { putJob, triggerJob } from '../../shared/ops/jobs.js';
import type { BenchContext } from '../support.js';
import { opsDeps } from '../support.js';

export interface LedgerRow {
  fn: string;
  service: string;
  request: string;
  units: string;
  guarantee: string;
  /** Billed units of this request (DynamoDB), requests (SQS), entries (EventBridge), invocations (Lambda). */
  wcu?: number;
  rcu?: number;
  sqs?: number;
  events?: number;
  invocations?: number;
}

type Attr = Record<string, unknown> | undefined;
const keyPart = (key: Attr, name: string): string => {
  const value = key?.[name] as { S?: string } | string | undefined;
  return typeof value === 'string' ? value : (value?.S ?? '');
};

function itemKind(input: Record<string, unknown>): string {
  const key = (input.Key ?? input.Item) as Attr;
  const pk = keyPart(key, 'pk');
  const sk = keyPart(key, 'sk');
  if (pk === 'TICK') return sk.toLowerCase().split('#')[0]!;
  if (sk === 'JOB') return 'job';
  if (sk.startsWith('RUN#')) return 'run';
  if (sk.startsWith('DEF#')) return 'definition';
  return '?';
}

/** What each request is for: the guarantee it serves (README, "Guarantees"; docs/scale.md). */
function guaranteeOf(fn: string, op: string, kind: string, input: Record<string, unknown>): string {
  const update = String(input.UpdateExpression ?? '');
  const condition = String(input.ConditionExpression ?? '');
  if (op === 'Query' && input.IndexName === 'due')
    return 'due jobs found, overdue ones again (no lower bound)';
  if (op === 'Query' && input.IndexName === 'open')
    return 'sweep: a run the queue lost or a dead executor left gets a fate';
  if (op === 'Query') return fn === 'tick' ? 'tick state' : 'reads the job’s runs';
  if (op === 'Scan' || kind === 'audit') return 'due-index audit: a job missing from the index is put back';
  if (kind === 'heartbeat') return 'tick heartbeat: a stopped tick is seen (`status`, alarm)';
  if (op === 'BatchGetItem') return 'the due jobs’ items (the index holds keys only)';
  if (op === 'TransactWriteItems')
    return 'at most one start per run id, and the overlap policy (job’s running set)';
  if (op === 'GetItem' && kind === 'definition') return 'the definition (payload) the slot was claimed with';
  if (op === 'GetItem' && kind === 'job') return 'deleted/paused job → cancelled; the overlap state';
  if (op === 'GetItem' && kind === 'run')
    return fn === 'completions'
      ? 'the run’s state before its report (token, attempt)'
      : 'the run as claimed (status, attempt, replays) before its conditional start';
  if (kind === 'job' && update.includes('cursor') && !condition.includes(':token'))
    return 'claim: the advance itself — cursor and next slot moved once (version and next slot read, no live lease); the tick sends after it';
  if (kind === 'job' && update.includes('#lease') && !condition.includes(':token'))
    return 'claim: one planner of a job at a time (lease, version unchanged)';
  if (kind === 'job' && condition.includes(':token'))
    return 'advance: cursor and next slot moved once (lease token)';
  if (op === 'PutItem' && kind === 'run' && condition.includes(':lease'))
    return 'a start the job refused, taken back: the run as it was';
  if (op === 'PutItem' && kind === 'run')
    return 'one record per slot (attribute_not_exists), written before it is sent';
  if (op === 'UpdateItem' && kind === 'run' && /#status = :running/.test(update))
    return 'start: at most one start per run id (conditional on its status and attempt)';
  if (op === 'UpdateItem' && kind === 'job' && /^ADD #running/.test(update))
    return 'start, after the run: the overlap policy (job’s running set), maxRuns, pause';
  if (kind === 'run' && fn === 'executor')
    return 'the run’s fate (status, reason, attempt), conditional on its state';
  if (kind === 'run' && fn === 'completions')
    return 'heartbeat deadline / the run’s fate, conditional on token and attempt';
  if (kind === 'job') return 'the job’s lastOutcome, counters, running set (overlap), pauseAfterFailures';
  if (kind === 'run') return 'the run’s state';
  return '?';
}

function unitsOf(output: Record<string, unknown>, read: boolean, factor = 1): string {
  const consumed = ([] as Record<string, unknown>[]).concat((output.ConsumedCapacity as never) ?? []);
  let total = 0;
  const indexes: Record<string, number> = {};
  for (const part of consumed) {
    total += Number(part.CapacityUnits ?? 0);
    for (const [name, gsi] of Object.entries(
      (part.GlobalSecondaryIndexes ?? {}) as Record<string, { CapacityUnits?: number }>,
    ))
      indexes[name] = (indexes[name] ?? 0) + (gsi.CapacityUnits ?? 0);
  }
  const shares = Object.entries(indexes)
    .filter(([, units]) => units > 0)
    .map(([name, units]) => `${units} ${name}`)
    .join(', ');
  const billed = factor > 1 ? `, billed ×${factor}: ${total * factor}` : '';
  return `${total} ${read ? 'RCU' : 'WCU'}${billed}${shares ? ` (of which ${shares})` : ''}`;
}

function totalUnits(output: Record<string, unknown>): number {
  const consumed = ([] as { CapacityUnits?: number }[]).concat((output.ConsumedCapacity as never) ?? []);
  return consumed.reduce((sum, part) => sum + (part.CapacityUnits ?? 0), 0);
}

const READ_OPS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);

/** A runtime whose every request is appended to `rows` under the function `fn()` names. */
async function tracedRuntime(context: BenchContext, name: string, clock: () => number) {
  const rows: LedgerRow[] = [];
  let fn = 'setup';
  let tracing = false;
  const lines = { count: 0, bytes: 0 };
  const tally = (message: string, extra?: Record<string, unknown>) => {
    if (!tracing) return;
    lines.count += 1;
    lines.bytes += 330 + Buffer.byteLength(JSON.stringify({ message, ...extra })) + 1;
  };
  const runtime = await LocalRuntime.start({
    endpoints: context.endpoints,
    name,
    clock,
    tickMs: 60_000,
    tick: { lookaheadMs: 0 },
    log: { debug() {}, info: tally, warn: tally, error: tally },
  });
  runtime.dynamo.middlewareStack.add(
    (next, ctx) => async (args) => {
      const op = (ctx.commandName ?? '?').replace('Command', '');
      const input = args.input as Record<string, unknown>;
      if (op !== 'DescribeTable' && op !== 'CreateTable') input.ReturnConsumedCapacity = 'INDEXES';
      let result: Awaited<ReturnType<typeof next>>;
      try {
        result = await next(args);
      } catch (error) {
        // A refused conditional write is billed (1 WCU a KB of the item; the items here are under 1 KB),
        // but the error carries no ConsumedCapacity: count it, or the losers of a race look free.
        if (tracing && (error as Error).name === 'ConditionalCheckFailedException')
          rows.push({
            fn,
            service: 'DynamoDB',
            request: `${op} ${itemKind(input)} (condition failed)`,
            units: '1 WCU (billed; a refused write reports no capacity)',
            wcu: 1,
            guarantee: `refused: ${guaranteeOf(fn, op, itemKind(input), input)}`,
          });
        throw error;
      }
      if (tracing) {
        const kind =
          op === 'Query'
            ? input.IndexName
              ? `${String(input.IndexName)} index`
              : 'table'
            : op === 'Scan'
              ? 'table page'
              : op === 'BatchGetItem'
                ? 'job items'
                : op === 'TransactWriteItems'
                  ? 'run + job'
                  : itemKind(input);
        // DynamoDB bills a transactional write 2 units a KB on each item; DynamoDB Local reports 1.
        const factor = op === 'TransactWriteItems' ? 2 : 1;
        rows.push({
          fn: fn,
          service: 'DynamoDB',
          request: `${op} ${kind}`,
          units: unitsOf(result.output as unknown as Record<string, unknown>, READ_OPS.has(op), factor),
          [READ_OPS.has(op) ? 'rcu' : 'wcu']:
            totalUnits(result.output as unknown as Record<string, unknown>) * factor,
          guarantee: guaranteeOf(fn, op, kind, input),
        });
      }
      return result;
    },
    { step: 'initialize', name: 'benchLedger', priority: 'low', override: true },
  );
  runtime.sqs.middlewareStack.add(
    (next, ctx) => async (args) => {
      const op = (ctx.commandName ?? '?').replace('Command', '');
      const input = args.input as { Entries?: { DelaySeconds?: number }[]; QueueUrl?: string };
      // The emulator would hold a delayed message in real time; the manual clock moves instead.
      for (const entry of input.Entries ?? []) entry.DelaySeconds = 0;
      if ('DelaySeconds' in input) (input as { DelaySeconds?: number }).DelaySeconds = 0;
      const result = await next(args);
      const received = (result.output as { Messages?: unknown[] }).Messages?.length ?? 0;
      // An empty receive is the event source mapping's polling, the idle cost (bench idle), not the fire's.
      const empty = op === 'ReceiveMessage' && received === 0;
      if (tracing && !empty && op !== 'CreateQueue' && op !== 'GetQueueAttributes') {
        const url = String(input.QueueUrl ?? '');
        const queue =
          url === runtime.state.completionsQueueUrl
            ? 'completions queue'
            : /\/work-/.test(url)
              ? 'the target’s queue'
              : 'pool queue';
        const esm = (op === 'ReceiveMessage' || op === 'DeleteMessage') && queue !== 'the target’s queue';
        const entries = input.Entries?.length;
        rows.push({
          fn: esm ? 'event source mapping' : fn,
          service: 'SQS',
          request: `${op} ${queue}${entries ? ` (${entries} entries)` : ''}`,
          units: '1 request',
          sqs: 1,
          guarantee:
            queue === 'the target’s queue'
              ? 'the target itself (the hand-off; the worker takes its run)'
              : fn === 'worker'
                ? 'the worker’s report (heartbeat, complete)'
                : esm
                  ? op === 'ReceiveMessage'
                    ? 'delivery of the message to the function'
                    : 'the message is done with: not redelivered'
                  : fn === 'executor'
                    ? 'the next attempt, delayed by its backoff'
                    : 'dispatch: the slot delivered at its second (DelaySeconds)',
        });
      }
      return result;
    },
    { step: 'initialize', name: 'benchLedgerSqs', override: true },
  );
  const phase = async <T>(name: string, body: () => Promise<T>, invocation = true): Promise<T> => {
    fn = name;
    const events = runtime.signals.events.length;
    lines.count = 0;
    lines.bytes = 0;
    const value = await body();
    // drain() returns one outcome per message (one invocation each at batch size 1); drainCompletions()
    // the number of reports in its one batch.
    const invocations = Array.isArray(value)
      ? value.length
      : typeof value === 'number'
        ? Math.min(1, value)
        : 1;
    const published = runtime.signals.events.slice(events);
    if (published.length)
      rows.push({
        fn: name,
        service: 'EventBridge',
        request: `PutEvents (${published.map((e) => e.type).join(', ')})`,
        units: `${published.length} entries`,
        events: published.length,
        guarantee: 'silence is impossible: the lifecycle event of a fate that needs attention',
      });
    if (invocation && invocations)
      rows.push({
        fn: name,
        service: 'Lambda + Logs',
        request: `${invocations} invocation${invocations > 1 ? 's' : ''}; log lines`,
        units: `${lines.count} lines, ${lines.bytes + 340 * invocations} B with START/END/REPORT`,
        invocations,
        guarantee: lines.count
          ? 'a readable trail of the run (one line at info)'
          : 'Lambda’s platform lines only',
      });
    return value;
  };
  return {
    runtime,
    rows,
    phase,
    start: () => {
      tracing = true;
      rows.length = 0;
    },
    stop: () => {
      tracing = false;
    },
  };
}

const T0 = Date.parse('2026-12-01T00:00:00.000Z');

/** The ledgers of the six cases, each a list of rows in the order the requests were made. */
export async function fireLedgers(context: BenchContext): Promise<Record<string, LedgerRow[]>> {
  const out: Record<string, LedgerRow[]> = {};
  const run = async (
    label: string,
    job: Record<string, unknown>,
    body: (t: Awaited<ReturnType<typeof tracedRuntime>>, clock: { now: number }) => Promise<void>,
  ) => {
    const clock = { now: T0 - 30_000 };
    const t = await tracedRuntime(
      context,
      `bench-ledger-${Object.keys(out).length}-${process.pid}`,
      () => clock.now,
    );
    try {
      await putJob(
        t.runtime.store,
        { id: 'ledger', startAt: new Date(T0).toISOString(), ...job } as never,
        clock.now,
        {
          pools: t.runtime.pools.map((p) => p.name),
        },
      );
      await body(t, clock);
      t.stop();
      out[label] = [...t.rows];
    } finally {
      await t.runtime.stop();
    }
  };
  const executeAt = async (
    t: Awaited<ReturnType<typeof tracedRuntime>>,
    clock: { now: number },
    at: number,
  ) => {
    clock.now = at + 20;
    await t.phase('executor', () => t.runtime.drain());
  };

  await run(
    'ordinary fire (sync target, success)',
    { schedule: 'rate(1 minute)', target: { type: 'handler', name: 'noop' } },
    async (t, clock) => {
      clock.now = T0;
      t.start();
      await t.phase('tick', () => t.runtime.tick());
      await executeAt(t, clock, T0);
    },
  );
  await run(
    'overlapping ticks (two ticks plan the same slot at once)',
    { schedule: 'rate(1 minute)', target: { type: 'handler', name: 'noop' } },
    async (t, clock) => {
      clock.now = T0;
      t.start();
      // Both read the due job before either advances: one advance lands and that tick alone sends.
      await t.phase('tick', () => Promise.all([t.runtime.tick(), t.runtime.tick()]));
      await executeAt(t, clock, T0);
    },
  );
  await run(
    'retried fire (fails once, then succeeds)',
    {
      schedule: 'rate(1 hour)',
      target: { type: 'handler', name: 'fail' },
      payload: { succeedOnAttempt: 2 },
      retry: { maxAttempts: 3, backoff: 1000 },
    },
    async (t, clock) => {
      clock.now = T0;
      t.start();
      await t.phase('tick', () => t.runtime.tick());
      await executeAt(t, clock, T0);
      await executeAt(t, clock, T0 + 1_000);
    },
  );
  await run(
    'missed slots (tick stopped 3 minutes, catch-up latest)',
    { schedule: 'rate(1 minute)', target: { type: 'handler', name: 'noop' } },
    async (t, clock) => {
      clock.now = T0;
      await t.runtime.tick();
      await executeAt(t, clock, T0);
      clock.now = T0 + 3 * 60_000 + 1_000;
      t.start();
      await t.phase('tick', () => t.runtime.tick());
      await executeAt(t, clock, T0 + 3 * 60_000 + 1_000);
    },
  );
  {
    // The worker reports on the completions queue; the runtime's completions handler (the Lambda's own)
    // applies each batch as its event source mapping delivers it.
    const clock = { now: T0 - 30_000 };
    const t = await tracedRuntime(context, `bench-ledger-async-${process.pid}`, () => clock.now);
    try {
      const queueUrl = (
        await t.runtime.sqs.send(new CreateQueueCommand({ QueueName: `work-${process.pid}` }))
      ).QueueUrl!;
      const worker = {
        sqs: t.runtime.sqs,
        queueUrl,
        completionsQueueUrl: t.runtime.state.completionsQueueUrl,
      };
      await putJob(
        t.runtime.store,
        {
          id: 'ledger',
          schedule: 'rate(1 hour)',
          startAt: new Date(T0).toISOString(),
          target: { type: 'sqs', queueUrl, completion: 'async' },
        } as never,
        clock.now,
        { pools: t.runtime.pools.map((p) => p.name) },
      );
      clock.now = T0;
      t.start();
      await t.phase('tick', () => t.runtime.tick());
      await executeAt(t, clock, T0);
      const handed = await t.phase('worker', () => takeRun(worker, 0), false);
      if (!handed) throw new Error('ledger: no run handed to the worker queue');
      for (let i = 1; i <= 11; i++) {
        clock.now = T0 + i * 60_000;
        await t.phase('worker', () => sendReport(worker, handed, i <= 10 ? 'heartbeat' : 'complete'), false);
        await t.phase('completions', () => t.runtime.drainCompletions());
      }
      t.stop();
      out['asynchronous run with 10 heartbeats'] = [...t.rows];
    } finally {
      await t.runtime.stop();
    }
  }
  await run(
    'manual trigger',
    { schedule: 'rate(1 day)', target: { type: 'handler', name: 'noop' } },
    async (t, clock) => {
      clock.now = T0 + 60_000;
      t.start();
      await t.phase('client (triggerJob)', () => triggerJob(opsDeps(t.runtime), 'ledger', clock.now), false);
      await executeAt(t, clock, T0 + 60_000);
    },
  );
  return out;
}

/** A case's totals: what its fire is billed, the tick's fixed work (shared by a minute's fires) apart. */
export function ledgerTotals(rows: LedgerRow[]) {
  const fixed = (row: LedgerRow) =>
    row.fn === 'tick' && /Query|GetItem audit|Scan|heartbeat/.test(row.request);
  const sum = (pick: (row: LedgerRow) => number | undefined, which: (row: LedgerRow) => boolean) =>
    rows.filter(which).reduce((total, row) => total + (pick(row) ?? 0), 0);
  const fire = (row: LedgerRow) => !fixed(row);
  return {
    wcu: sum((r) => r.wcu, fire),
    rcu: sum((r) => r.rcu, fire),
    sqs: sum((r) => r.sqs, fire),
    events: sum((r) => r.events, fire),
    invocations: sum(
      (r) => r.invocations,
      (r) => fire(r) && r.fn !== 'tick',
    ),
    tickFixed: {
      wcu: sum((r) => r.wcu, fixed),
      rcu: sum((r) => r.rcu, fixed),
      requests: rows.filter(fixed).length,
    },
  };
}

/** The ledger as markdown, one table a case (bench/RESULTS.md). */
export function ledgerMarkdown(ledgers: Record<string, LedgerRow[]>): string {
  const parts: string[] = [];
  for (const [name, rows] of Object.entries(ledgers)) {
    const t = ledgerTotals(rows);
    parts.push(
      `**${name}** — the fire: ${t.wcu} WCU, ${t.rcu} RCU, ${t.sqs} SQS requests, ${t.events} events, ` +
        `${t.invocations} function invocations besides the tick's; the tick's fixed work, shared by every ` +
        `fire of its minute: ${t.tickFixed.requests} requests, ${t.tickFixed.wcu} WCU, ${t.tickFixed.rcu} RCU.`,
      '',
      '| # | function | service | request | units | guarantee |',
      '|---|---|---|---|---|---|',
      ...rows.map(
        (r, i) => `| ${i + 1} | ${r.fn} | ${r.service} | ${r.request} | ${r.units} | ${r.guarantee} |`,
      ),
      '',
    );
  }
  return parts.join('\n');
}
