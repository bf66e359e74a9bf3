/**
 * What a deployed stack costs a month when it has nothing (or little) to do (issue 19, goal 3).
 *
 * Measured on DynamoDB Local and the SQS emulator, on a manual clock a minute a tick: the runtime's tick
 * (sweep, due queries, due-index audit, heartbeat) over an empty table and over a table of 1,000 jobs due
 * once a day, in minutes when none is due: its DynamoDB calls and the read/write units DynamoDB reports,
 * the log lines it writes (as Powertools would) and the EMF blob of the metrics it publishes, and which
 * metric series get a datapoint. The daily fires themselves are priced by the cost benchmark's
 * 100 × rate(1 minute) case, run here in the same process. Modelled, as in the cost benchmark: the
 * tick's Lambda duration (its calls at in-region latency), Lambda's platform log lines.
 *
 * Not measurable here and priced from AWS's pricing pages (the assumption named in each row): custom
 * metrics (a metric name × dimension set is billed $0.30 a month, prorated by the hour it gets data), the
 * event source mappings' empty long polls of the pool and completions queues, the dashboard, alarms.
 */

import { LocalRuntime } from '../../local/runtime.js';
import { type Benchmark, countCalls, type Figure, round, table } from '../support.js';
import { CASES, emfBytes, LATENCY_MS, PLATFORM_LOG_BYTES, PRICES, price, runCase } from './cost.js';
import { cloneJobs } from './table-size.js';

/** Hours and ticks in a month as AWS bills them (730 h). */
const HOURS_A_MONTH = 730;
const TICKS_A_MONTH = HOURS_A_MONTH * 60;
const TICK_MEMORY_GB = 0.5;
const TICKS_MEASURED = 30;
const IDLE_PRICES = {
  /** CloudWatch custom metric (first 10,000), per metric-month, prorated hourly. */
  metricMonth: 0.3,
  /** CloudWatch Logs storage, per GB-month (the construct keeps a month of logs). */
  logStorageGbMonth: 0.03,
  /** A standard-resolution alarm, per month. */
  alarmMonth: 0.1,
  /** A dashboard beyond an account's first three, per month. */
  dashboardMonth: 3.0,
} as const;
/**
 * Lambda's event source mapping long-polls an SQS queue continuously, empty or not. AWS does not document
 * the idle poller count; five pollers with 20 s waits (≈ 15 ReceiveMessage a minute per queue) is what
 * users observe and bill (e.g. brefphp/bref discussion 1760). An estimate, named as such.
 */
const ESM_RECEIVES_A_MINUTE = 15;

interface TickFigures {
  jobs: number;
  ticks: number;
  calls: Record<string, number>;
  rcu: number;
  wcu: number;
  logBytes: number;
  emfBytes: number;
  metricNames: string[];
  modelledMs: number;
}

async function measureTicks(
  context: Parameters<Benchmark['run']>[0],
  jobs: number,
  index: number,
): Promise<TickFigures> {
  const T0 = Date.parse('2026-12-01T00:00:00.000Z');
  let now = T0;
  const counts = { logBytes: 0 };
  let measuring = false;
  const runtime = await LocalRuntime.start({
    endpoints: context.endpoints,
    name: `bench-idle-${index}-${process.pid}`,
    clock: () => now,
    tickMs: 60_000,
    log: {
      debug() {},
      info: (message, extra) => tally(message, extra, 'INFO'),
      warn: (message, extra) => tally(message, extra, 'WARN'),
      error: (message, extra) => tally(message, extra, 'ERROR'),
    },
  });
  function tally(message: string, extra: Record<string, unknown> | undefined, level: string) {
    if (!measuring) return;
    // The line Powertools Logger writes: its context keys (≈ 330 bytes) plus the message and extras.
    counts.logBytes += 330 + Buffer.byteLength(JSON.stringify({ level, message, ...extra })) + 1;
  }
  try {
    if (jobs) {
      // Due once a day, 12 hours after the measured minutes: no fire falls among them.
      await cloneJobs(runtime, {
        template: {
          id: 'daily-0',
          schedule: 'rate(1 day)',
          startAt: new Date(T0 + 12 * 3_600_000).toISOString(),
          target: { type: 'handler', name: 'noop' },
        },
        count: jobs,
        idOf: (i) => `daily-${i}`,
        now: T0 - 1000,
      });
    }
    // Warm-up: the first tick (a create's claim-at-once has already run) is not counted.
    await runtime.tick();
    const calls = countCalls(runtime.dynamo.middlewareStack, { capacity: true });
    const metricsBefore = runtime.signals.metrics.length;
    let emf = 0;
    measuring = true;
    for (let i = 1; i <= TICKS_MEASURED; i++) {
      now = T0 + i * 60_000;
      const before = runtime.signals.metrics.length;
      const report = await runtime.tick();
      if (report.errors.length) throw new Error(`tick errors: ${JSON.stringify(report.errors.slice(0, 3))}`);
      if (report.slotsDispatched)
        throw new Error(`an idle minute dispatched ${report.slotsDispatched} slots`);
      emf += emfBytes('punctual-tick', runtime.signals.metrics.slice(before));
    }
    measuring = false;
    const metricNames = [...new Set(runtime.signals.metrics.slice(metricsBefore).map((m) => m.name))];
    const totalCalls = Object.values(calls.calls).reduce((a, b) => a + b, 0);
    return {
      jobs,
      ticks: TICKS_MEASURED,
      calls: calls.calls,
      rcu: Object.values(calls.rcu).reduce((a, b) => a + b, 0) / TICKS_MEASURED,
      wcu: Object.values(calls.wcu).reduce((a, b) => a + b, 0) / TICKS_MEASURED,
      logBytes: counts.logBytes / TICKS_MEASURED + PLATFORM_LOG_BYTES,
      emfBytes: emf / TICKS_MEASURED,
      metricNames,
      // Every call counted as if made one after another (the shards' parallel due queries too): an upper
      // bound on the billed duration.
      modelledMs: (totalCalls / TICKS_MEASURED) * LATENCY_MS.dynamo + LATENCY_MS.handler,
    };
  } finally {
    await runtime.stop();
  }
}

/** A month of the measured ticks, every service, in dollars. */
function monthOf(t: TickFigures, queuesPolled: number) {
  const logGb = ((t.logBytes + t.emfBytes) * TICKS_A_MONTH) / 2 ** 30;
  return {
    'tick Lambda (requests + GB-s)':
      TICKS_A_MONTH * PRICES.lambdaRequest +
      TICKS_A_MONTH * (Math.ceil(t.modelledMs) / 1000) * TICK_MEMORY_GB * PRICES.lambdaGbSecond,
    'DynamoDB (tick reads and heartbeat)':
      TICKS_A_MONTH * (t.rcu * PRICES.dynamoRead + t.wcu * PRICES.dynamoWrite),
    'logs (ingestion + a month kept)': logGb * (PRICES.logsPerGb + IDLE_PRICES.logStorageGbMonth),
    [`custom metrics (${t.metricNames.join(', ') || 'none'} every hour)`]:
      t.metricNames.length * IDLE_PRICES.metricMonth,
    [`SQS empty receives (${queuesPolled} queues polled, estimate)`]:
      queuesPolled * ESM_RECEIVES_A_MINUTE * 60 * HOURS_A_MONTH * PRICES.sqsRequest,
    'EventBridge scheduled rule': 0,
  };
}

const dollars = (value: number) => `$${value < 0.01 ? round(value, 4) : round(value, 2)}`;

export const idle: Benchmark = {
  name: 'idle',
  title: 'An idle stack a month: 0 jobs, and 1,000 jobs due once a day (issue 19, goal 3)',
  async run(context) {
    // The default stack: one pool (its queue polled by its executor) and the completions queue.
    const queuesPolled = 2;
    const empty = await measureTicks(context, 0, 0);
    const daily = await measureTicks(context, 1_000, 1);
    const fire = await runCase(context, CASES[0]!, 90);
    const perFire = price(fire).total / 1e6;
    const firesAMonth = 1_000 * (HOURS_A_MONTH / 24);
    // Executor and tick metrics in the hours the fires happen: all at one time of day (1 hour a day) or
    // spread over the day (every hour).
    const fireMetrics = ['SlotsClaimed', 'StartLag', 'RunDuration', 'RunsSucceeded'];
    const fireMetricHours = { together: 30.4, spread: HOURS_A_MONTH };

    const emptyMonth = monthOf(empty, queuesPolled);
    const dailyMonth = monthOf(daily, queuesPolled);
    const sum = (month: Record<string, number>) => Object.values(month).reduce((a, b) => a + b, 0);
    const floor = sum(emptyMonth);
    const dailyFloor = sum(dailyMonth);
    const firesCost = firesAMonth * perFire;
    const metricsTogether =
      (fireMetrics.length * fireMetricHours.together * IDLE_PRICES.metricMonth) / HOURS_A_MONTH;
    const metricsSpread = fireMetrics.length * IDLE_PRICES.metricMonth;

    const rows = [
      ['item', '0 jobs', '1,000 jobs due once a day'],
      ...Object.keys(emptyMonth).map((key, i) => [
        key,
        dollars(Object.values(emptyMonth)[i]!),
        dollars(Object.values(dailyMonth)[i]!),
      ]),
      ['fires (30,417 a month at the cost benchmark’s price)', '—', dollars(firesCost)],
      [
        `metrics of the fire hours (${fireMetrics.join(', ')})`,
        '—',
        `${dollars(metricsTogether)} at one time of day, ${dollars(metricsSpread)} spread over the day`,
      ],
      [
        'total',
        dollars(floor),
        `${dollars(dailyFloor + firesCost + metricsTogether)} – ${dollars(dailyFloor + firesCost + metricsSpread)}`,
      ],
      ['not counted: the dashboard', `${dollars(IDLE_PRICES.dashboardMonth)} beyond an account’s 3 free`, ''],
      ['not counted: alarms the user chose', `${dollars(IDLE_PRICES.alarmMonth)} each`, ''],
    ];
    context.log(table(rows));
    context.log(
      `  per tick: 0 jobs ${round(empty.rcu, 2)} RCU, ${round(empty.wcu, 2)} WCU, ${JSON.stringify(empty.calls)}; ` +
        `1,000 daily ${round(daily.rcu, 2)} RCU, ${round(daily.wcu, 2)} WCU, ${JSON.stringify(daily.calls)}; ` +
        `logs ${Math.round(empty.logBytes + empty.emfBytes)} / ${Math.round(daily.logBytes + daily.emfBytes)} B a tick`,
    );
    const figures: Figure[] = [
      {
        bench: 'idle',
        figure: 'an idle stack a month, 0 jobs (beyond alarms and the dashboard)',
        value: dollars(floor),
        baseline: 'EventBridge Scheduler idles at $0',
        ratio: '',
        goal: `≤ $1 ${floor <= 1 ? '✔' : '✘'}`,
      },
      {
        bench: 'idle',
        figure: '1,000 jobs due once a day, a month (fires included)',
        value: `${dollars(dailyFloor + firesCost + metricsTogether)} – ${dollars(dailyFloor + firesCost + metricsSpread)}`,
        baseline: `floor ${dollars(dailyFloor)} + fires ${dollars(firesCost)}`,
        ratio: '',
        goal: `≤ $1 beyond the fires ${dailyFloor + metricsSpread <= 1 ? '✔' : dailyFloor + metricsTogether <= 1 ? '✔ together / ✘ spread' : '✘'}`,
      },
    ];
    return {
      figures,
      details: { empty, daily, emptyMonth, dailyMonth, perFire, firesAMonth, metricsTogether, metricsSpread },
    };
  },
};
