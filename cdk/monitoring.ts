/**
 * The Scheduler's alarms and dashboard (SPEC §5): silence is impossible.
 *
 * Metric dimensions. The functions publish EMF through Powertools Metrics, created in functions/tick.ts
 * and functions/executor.ts as `new Metrics({ namespace: 'Punctual', serviceName })` with serviceName
 * `punctual-tick` and `punctual-executor`. Powertools makes `service` a default dimension of every metric
 * (Metrics.js: `setDefaultDimensions({ service: resolvedServiceName })`, the constructor's serviceName
 * winning over POWERTOOLS_SERVICE_NAME) and adds nothing else: no function name (only the ColdStart metric
 * gets `function_name`), no pool. So every punctual metric is `Punctual/<name>` with exactly one dimension,
 * `service`, and:
 *   - the executors of all pools publish under the same `service=punctual-executor`: StartLag,
 *     RunDuration and run counts cannot be split by pool (the per-pool view is AWS/Lambda and AWS/SQS);
 *   - some counts come from both functions (the tick records catch-up misses and the sweep's lost runs,
 *     the executor records deadline misses and finished runs), so those alarms add the two series.
 * A CloudWatch metric is identified by its full dimension set: an alarm without the `service` dimension
 * would watch a metric nobody publishes and stay in INSUFFICIENT_DATA forever.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RUN_SUCCEEDED_LOG } from '../shared/runs/execute.js';
import { METRIC_NAMESPACE, type MetricName } from '../shared/signals.js';
import type { ResolvedJob } from './config.js';

/** The `service` dimension of the tick's metrics (functions/tick.ts: `createMetrics('punctual-tick')`). */
export const TICK_SERVICE = 'punctual-tick';
/** The `service` dimension of every executor's metrics (functions/executor.ts). */
export const EXECUTOR_SERVICE = 'punctual-executor';
/** The service dimension of the completions function's metrics. */
export const COMPLETIONS_SERVICE = 'punctual-completions';
/** Per-job successes, counted by a metric filter on the executor logs (see `gapAlarm`). */
export const JOB_SUCCEEDED_METRIC = 'JobRunsSucceeded';
/** The line functions/executor.ts logs (shared/runs/execute.ts) when a run succeeds. */
/** The executor's log line for a successful run (with `jobId`), counted by the per-job gap alarms. */
export const RUN_SUCCEEDED_LOG_MESSAGE = RUN_SUCCEEDED_LOG;

const RUNBOOK = 'Runbook: docs/runbook.md';

/**
 * Alarm thresholds. Each alarm fires when its metric is above the threshold (the heartbeat: below 1).
 *
 * @example new Scheduler(stack, 'Scheduler', { alarms: { startLagP99: Duration.seconds(30) } });
 */
export interface SchedulerAlarmProps {
  /**
   * StartLag (slot → start) p99 above this raises the alarm.
   * @default Duration.seconds(60)
   */
  readonly startLagP99?: Duration;
  /**
   * Runs recorded `missed` in one period above this raise the alarm.
   * @default 0
   */
  readonly runsMissed?: number;
  /**
   * Overdue jobs (next slot older than twice its period) above this raise the alarm.
   * @default 0
   */
  readonly overdueJobs?: number;
  /**
   * Jobs found invalid in the table above this raise the alarm.
   * @default 0
   */
  readonly invalidJobs?: number;
  /**
   * Executor invocation errors per pool in one period above this raise the alarm. Target failures are
   * not invocation errors (they are recorded on the run); these are the executor failing itself.
   * @default 0
   */
  readonly executorErrors?: number;
  /**
   * Executor throttles per pool in one period above this raise the alarm.
   * @default 0
   */
  readonly executorThrottles?: number;
  /**
   * Messages in a DLQ above this raise the alarm.
   * @default 0
   */
  readonly dlqMessages?: number;
  /**
   * Evaluation period of every alarm but the gap alarms (the heartbeat always looks at 5 minutes).
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
  /**
   * Consecutive breaching periods before an alarm fires (the heartbeat: always 1).
   * @default 1
   */
  readonly evaluationPeriods?: number;
}

/** A function and its log group (a `PunctualFunction`). */
export interface MonitoredFunction {
  readonly function: lambda.IFunction;
  readonly logGroup: logs.ILogGroup;
}

export interface MonitoredPool {
  readonly name: string;
  readonly queue: sqs.IQueue;
  readonly dlq: sqs.IQueue;
  readonly executor: MonitoredFunction;
}

export interface MonitoringProps {
  readonly alarmPrefix: string;
  readonly topic: sns.ITopic;
  readonly thresholds: SchedulerAlarmProps;
  readonly tick: MonitoredFunction;
  /** The shard groups' tick worker, when the tick fans out. */
  readonly tickWorker?: MonitoredFunction;
  readonly tickGroups?: number;
  readonly tickDlq: sqs.IQueue;
  readonly pools: readonly MonitoredPool[];
  readonly jobs: readonly ResolvedJob[];
  readonly dashboardName?: string;
  /** The completions function: asynchronous runs end there (its success lines count for the gap alarms). */
  readonly completions?: MonitoredFunction;
}

/** `Punctual/<name>` as one function publishes it. */
export function punctualMetric(
  name: MetricName,
  service: string,
  options: { statistic?: string; period?: Duration; label?: string } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: { service },
    statistic: options.statistic ?? 'Sum',
    period: options.period ?? Duration.minutes(5),
    ...(options.label ? { label: options.label } : {}),
  });
}

/**
 * A count published by both functions, added up. FILL(…, 0) because in metric math `a + b` has no value
 * where either side has none, and a period where only the tick recorded a miss must still count.
 */
export function bothServicesSum(name: MetricName, period: Duration, label = name): cloudwatch.MathExpression {
  const key = name.toLowerCase();
  return new cloudwatch.MathExpression({
    expression: `FILL(${key}_tick, 0) + FILL(${key}_executor, 0)`,
    usingMetrics: {
      [`${key}_tick`]: punctualMetric(name, TICK_SERVICE, { period }),
      [`${key}_executor`]: punctualMetric(name, EXECUTOR_SERVICE, { period }),
    },
    period,
    label,
  });
}

/** Builds the alarms (all notifying the topic, on ALARM and back to OK) and the dashboard. */
export class SchedulerMonitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  readonly gapMetricFilters: logs.MetricFilter[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const t = props.thresholds;
    const period = t.period ?? Duration.minutes(5);
    const evaluationPeriods = t.evaluationPeriods ?? 1;
    const minutes = period.toMinutes();
    const action = new actions.SnsAction(props.topic);
    const add = (
      alarmId: string,
      metric: cloudwatch.IMetric,
      options: {
        threshold: number;
        comparison?: cloudwatch.ComparisonOperator;
        missing?: cloudwatch.TreatMissingData;
        evaluationPeriods?: number;
        datapointsToAlarm?: number;
        description: string;
      },
    ) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, {
        alarmName: `${props.alarmPrefix}-${alarmId}`,
        metric,
        threshold: options.threshold,
        comparisonOperator: options.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: options.evaluationPeriods ?? evaluationPeriods,
        ...(options.datapointsToAlarm ? { datapointsToAlarm: options.datapointsToAlarm } : {}),
        treatMissingData: options.missing ?? cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: options.description.slice(0, 1024),
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      this.alarms.push(alarm);
      return alarm;
    };

    add('TickHeartbeat', punctualMetric('TickHeartbeat', TICK_SERVICE, { period: Duration.minutes(5) }), {
      threshold: 1,
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      // No datapoint at all is exactly the failure this alarm exists for: the tick did not run.
      missing: cloudwatch.TreatMissingData.BREACHING,
      evaluationPeriods: 1,
      description:
        'The tick has not reported a heartbeat for 5 minutes: nothing is being dispatched (slots pile up and ' +
        'will be recorded missed or caught up once it runs again). Check the tick function (errors, timeouts, ' +
        'its EventBridge rule enabled, its DLQ), then `punctual status`. ' +
        `${RUNBOOK}#tickheartbeat`,
    });
    if ((props.tickGroups ?? 1) > 1) {
      // The coordinator counts, each minute, the groups whose heartbeat item is older than 3 minutes
      // (shared/tick/fanout.ts): a worker that keeps failing while the coordinator runs.
      add(
        'TickGroupsStopped',
        punctualMetric('TickGroupsStopped', TICK_SERVICE, {
          statistic: 'Maximum',
          period: Duration.minutes(1),
        }),
        {
          threshold: 0,
          evaluationPeriods: 2,
          description:
            'A shard group of the tick has not reported for 3 minutes while the tick runs: the due jobs of its ' +
            "shards are not being claimed nor its open runs swept. Check the tick worker's errors and throttles " +
            `(its DLQ, the tick DLQ), then \`punctual status\`, which names the group and its shards. ${RUNBOOK}#tickheartbeat`,
        },
      );
    }
    add('RunsMissed', bothServicesSum('RunsMissed', period), {
      threshold: t.runsMissed ?? 0,
      description:
        `More than ${t.runsMissed ?? 0} run(s) were recorded missed in ${minutes} min (catch-up coalesced, deadline, ` +
        'lost): a slot did not run. Find them with `punctual runs list --status missed`, see why (reason), ' +
        `replay the ones that matter with \`punctual runs replay\`. ${RUNBOOK}#runsmissed`,
    });
    add('OverdueJobs', punctualMetric('OverdueJobs', TICK_SERVICE, { statistic: 'Maximum', period }), {
      threshold: t.overdueJobs ?? 0,
      description:
        'At least one job is overdue: its next slot is older than twice its period and the tick has not ' +
        'handled it (the "Job Overdue" event names it). Run `punctual status`, then `punctual jobs get <id>`; ' +
        `look for tick errors or a backlog. ${RUNBOOK}#overduejobs`,
    });
    const startLag = t.startLagP99 ?? Duration.seconds(60);
    add('StartLag', punctualMetric('StartLag', EXECUTOR_SERVICE, { statistic: 'p99', period }), {
      threshold: startLag.toMilliseconds(),
      description:
        `Runs start late: StartLag p99 (slot to start) is above ${startLag.toHumanString()} over ${minutes} min. ` +
        'Usually a pool at its concurrency limit (queue depth growing) or a slow tick. Check queue depths on the ' +
        `dashboard and \`punctual status\`; raise the pool's concurrency if it is saturated. ${RUNBOOK}#startlag`,
    });
    add('InvalidJobs', punctualMetric('InvalidJobs', TICK_SERVICE, { statistic: 'Maximum', period }), {
      threshold: t.invalidJobs ?? 0,
      description:
        'A job item in the table is invalid (edited by hand?) and has been taken out of the schedule; every ' +
        'other job goes on. Find it with `punctual jobs list` (flagged invalid) and the "Job Invalid" event, ' +
        `fix it with \`punctual jobs put\`. ${RUNBOOK}#invalidjobs`,
    });

    const dlqAlarm = (alarmId: string, dlq: sqs.IQueue, what: string, todo: string) =>
      add(alarmId, dlq.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period }), {
        threshold: t.dlqMessages ?? 0,
        description: `${what} ${todo} ${RUNBOOK}#dlqnotempty`,
      });
    dlqAlarm(
      'TickDlqNotEmpty',
      props.tickDlq,
      'A tick invocation failed (or EventBridge could not deliver it) and its event is in the tick DLQ.',
      'The next tick catches up; read the message and the tick logs for the error, then purge the queue.',
    );
    for (const pool of props.pools) {
      dlqAlarm(
        `Pool-${pool.name}-DlqNotEmpty`,
        pool.dlq,
        `Pool "${pool.name}" has messages in its DLQ: runs that failed after their retries, or messages that could not be processed.`,
        `List them with \`punctual dlq list --pool ${pool.name}\`, check \`punctual runs list --status failed\`, fix the cause, then \`punctual dlq redrive --pool ${pool.name}\`.`,
      );
      add(
        `Pool-${pool.name}-ExecutorErrors`,
        pool.executor.function.metricErrors({ period, statistic: 'Sum' }),
        {
          threshold: t.executorErrors ?? 0,
          description:
            `The executor of pool "${pool.name}" failed invocations (not target failures: the executor itself, e.g. ` +
            'DynamoDB or SQS unavailable, a timeout). Its messages come back after the visibility timeout and reach ' +
            `the DLQ after 5 receives. Read the function's logs. ${RUNBOOK}#executorerrors`,
        },
      );
      add(
        `Pool-${pool.name}-ExecutorThrottles`,
        pool.executor.function.metricThrottles({ period, statistic: 'Sum' }),
        {
          threshold: t.executorThrottles ?? 0,
          description:
            `The executor of pool "${pool.name}" was throttled: the account or its reserved concurrency ran out. ` +
            'Throttled receives count towards maxReceiveCount and can push healthy runs to the DLQ. Check the ' +
            `account's concurrency and other functions' reservations. ${RUNBOOK}#executorthrottles`,
        },
      );
    }

    const executorByPool = new Map(props.pools.map((pool) => [pool.name, pool.executor]));
    for (const job of props.jobs) {
      if (!job.gapAlarm) continue;
      const executor = executorByPool.get(job.definition.pool);
      if (!executor) continue;
      const jobId = job.definition.id;
      // No function publishes a per-job metric, so successes are counted from the executor's JSON log
      // line `{"message":"run succeeded","jobId":…}` (Powertools Logger puts the extra keys at the top).
      const filter = new logs.MetricFilter(this, `Gap-${jobId}-Filter`, {
        logGroup: executor.logGroup,
        filterPattern: logs.FilterPattern.all(
          logs.FilterPattern.stringValue('$.message', '=', RUN_SUCCEEDED_LOG_MESSAGE),
          logs.FilterPattern.stringValue('$.jobId', '=', jobId),
        ),
        metricNamespace: METRIC_NAMESPACE,
        metricName: JOB_SUCCEEDED_METRIC,
        metricValue: '1',
        dimensions: { jobId: '$.jobId' },
        unit: cloudwatch.Unit.COUNT,
      });
      this.gapMetricFilters.push(filter);
      if (props.completions) {
        // An asynchronous run succeeds when its worker's report is applied, in the completions function:
        // the same line, the same metric.
        this.gapMetricFilters.push(
          new logs.MetricFilter(this, `Gap-${jobId}-CompletionsFilter`, {
            logGroup: props.completions.logGroup,
            filterPattern: logs.FilterPattern.all(
              logs.FilterPattern.stringValue('$.message', '=', RUN_SUCCEEDED_LOG_MESSAGE),
              logs.FilterPattern.stringValue('$.jobId', '=', jobId),
            ),
            metricNamespace: METRIC_NAMESPACE,
            metricName: JOB_SUCCEEDED_METRIC,
            metricValue: '1',
            dimensions: { jobId: '$.jobId' },
            unit: cloudwatch.Unit.COUNT,
          }),
        );
      }
      const gap = job.gapAlarm;
      const window = Duration.seconds(gap.windowSeconds).toHumanString();
      add(
        `Job-${jobId}-Gap`,
        new cloudwatch.Metric({
          namespace: METRIC_NAMESPACE,
          metricName: JOB_SUCCEEDED_METRIC,
          dimensionsMap: { jobId },
          statistic: 'Sum',
          period: Duration.seconds(gap.periodSeconds),
        }),
        {
          threshold: 1,
          comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          // No success logged in the window is the gap itself.
          missing: cloudwatch.TreatMissingData.BREACHING,
          evaluationPeriods: gap.evaluationPeriods,
          datapointsToAlarm: gap.evaluationPeriods,
          description:
            `Job "${jobId}" has not succeeded for ${window} (${gap.factor} × its longest interval). Its runs fail, ` +
            `are missed or skipped, or it is paused. Run \`punctual jobs get ${jobId}\` (last runs, state, note) and ` +
            `\`punctual runs list --job ${jobId}\`. ${RUNBOOK}#jobgap`,
        },
      );
    }

    this.dashboard = this.buildDashboard(props);
  }

  private buildDashboard(props: MonitoringProps): cloudwatch.Dashboard {
    const minute = Duration.minutes(1);
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      options: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...options });
    const tick = (name: MetricName, statistic = 'Sum') =>
      punctualMetric(name, TICK_SERVICE, { statistic, period: minute, label: `${name} (${statistic})` });
    const executor = (name: MetricName, statistic: string) =>
      punctualMetric(name, EXECUTOR_SERVICE, { statistic, period: minute, label: `${name} ${statistic}` });

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.hours(6),
    });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'punctual alarms',
        alarms: this.alarms,
        width: 24,
        height: 4,
      }),
    );
    dashboard.addWidgets(
      graph('Tick: heartbeat, slots claimed, backlog', [
        tick('TickHeartbeat'),
        tick('SlotsClaimed'),
        tick('DispatchBacklog', 'Maximum'),
      ]),
      // Lambda's own Duration (free) rather than a custom metric published every minute.
      graph(
        'Tick: duration (ms)',
        [
          props.tick.function.metricDuration({ period: minute, statistic: 'Maximum', label: 'tick Maximum' }),
          props.tick.function.metricDuration({ period: minute, statistic: 'p50', label: 'tick p50' }),
        ],
        {
          right: [
            props.tick.function.metricErrors({ period: minute, label: 'tick errors' }),
            ...(props.tickWorker
              ? [props.tickWorker.function.metricErrors({ period: minute, label: 'tick worker errors' })]
              : []),
          ],
        },
      ),
      graph('Lag (ms)', [
        executor('StartLag', 'p50'),
        executor('StartLag', 'p99'),
        punctualMetric('DispatchLag', TICK_SERVICE, {
          statistic: 'p99',
          period: minute,
          label: 'DispatchLag p99',
        }),
      ]),
    );
    dashboard.addWidgets(
      graph(
        'Runs by outcome',
        (['RunsSucceeded', 'RunsFailed', 'RunsMissed', 'RunsSkipped', 'RunsCancelled'] as const).map((name) =>
          bothServicesSum(name, Duration.minutes(5)),
        ),
        { stacked: true },
      ),
      graph('Jobs: overdue, invalid; sweep', [
        tick('OverdueJobs', 'Maximum'),
        tick('InvalidJobs', 'Maximum'),
        tick('SweepRecovered'),
      ]),
      graph(
        'Run duration (ms); unpublished events; poison messages',
        [executor('RunDuration', 'p50'), executor('RunDuration', 'p99')],
        {
          right: [bothServicesSum('EventsFailed', Duration.minutes(5)), executor('PoisonMessages', 'Sum')],
        },
      ),
    );
    const completions = (name: MetricName, statistic: string) =>
      punctualMetric(name, COMPLETIONS_SERVICE, { statistic, period: minute, label: `${name} ${statistic}` });
    dashboard.addWidgets(
      graph(
        'Asynchronous runs in progress: age at each heartbeat (ms)',
        [completions('RunInProgressAge', 'Maximum'), completions('RunInProgressAge', 'p50')],
        { right: [completions('RunInProgressAge', 'SampleCount')] },
      ),
      graph('Asynchronous runs: heartbeats missed (attempts lost)', [tick('HeartbeatsMissed')]),
      graph('Asynchronous runs: duration to the real end (ms)', [
        completions('RunDuration', 'p50'),
        completions('RunDuration', 'Maximum'),
      ]),
    );
    dashboard.addWidgets(
      graph(
        'Queue depth (visible + delayed)',
        props.pools.flatMap((pool) => [
          pool.queue.metricApproximateNumberOfMessagesVisible({
            period: minute,
            statistic: 'Maximum',
            label: `${pool.name} visible`,
          }),
          pool.queue.metricApproximateNumberOfMessagesDelayed({
            period: minute,
            statistic: 'Maximum',
            label: `${pool.name} delayed`,
          }),
          pool.queue.metricApproximateNumberOfMessagesNotVisible({
            period: minute,
            statistic: 'Maximum',
            label: `${pool.name} in flight`,
          }),
        ]),
      ),
      graph('DLQ depth', [
        props.tickDlq.metricApproximateNumberOfMessagesVisible({
          period: minute,
          statistic: 'Maximum',
          label: 'tick DLQ',
        }),
        ...props.pools.map((pool) =>
          pool.dlq.metricApproximateNumberOfMessagesVisible({
            period: minute,
            statistic: 'Maximum',
            label: `${pool.name} DLQ`,
          }),
        ),
      ]),
      graph(
        'Executors: concurrency, errors, throttles',
        props.pools.map((pool) =>
          pool.executor.function.metric('ConcurrentExecutions', {
            period: minute,
            statistic: 'Maximum',
            label: `${pool.name} concurrent`,
          }),
        ),
        {
          right: props.pools.flatMap((pool) => [
            pool.executor.function.metricErrors({ period: minute, label: `${pool.name} errors` }),
            pool.executor.function.metricThrottles({ period: minute, label: `${pool.name} throttles` }),
          ]),
        },
      ),
    );
    return dashboard;
  }
}

/** The console URL of a dashboard. */
export function dashboardUrl(scope: Construct, dashboard: cloudwatch.Dashboard): string {
  const region = Stack.of(scope).region;
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${dashboard.dashboardName}`;
}
