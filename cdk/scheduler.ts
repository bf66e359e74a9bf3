/**
 * The `Scheduler` construct: the whole of punctual (SPEC §2) in one CDK construct.
 *
 * EventBridge rule rate(1 minute) → tick → DynamoDB table + SQS queue per pool → executor per pool,
 * lifecycle events on an EventBridge bus, alarms on an SNS topic, a dashboard, and the jobs declared in
 * the props written to the table by a custom resource.
 */
import { CfnOutput, CustomResource, Duration, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { ENV } from '../functions/commons/config.js';
import { formatViolation } from '../shared/errors.js';
import type { JobDefinition } from '../shared/jobs/index.js';
import { MAX_RECEIVE_COUNT, VISIBILITY_FACTOR } from '../shared/queue/policy.js';
import { jobIdPrefixProblem } from '../shared/store/model.js';
import { TABLE_KEYS } from '../shared/store/table.js';
import {
  type AccessList,
  applicationPrefixViolations,
  type TargetAccessPolicy,
} from '../shared/targets/access.js';
import { NO_ECS_NETWORK } from '../shared/targets/ecs-network.js';
import type { TargetPolicy } from '../shared/targets/policy.js';
import { Completions } from './completions.js';
import {
  type GapAlarmOptions,
  type PoolProps,
  RESERVED_CONCURRENCY_HEADROOM,
  type ResolvedConfig,
  type ResolvedPool,
  resolveConfig,
  TICK_TIMEOUT_MS,
} from './config.js';
import {
  checkDeclaredJobsAccess,
  type KnownAccessList,
  type KnownAccessPolicy,
  knownEntry,
} from './declared-access.js';
import { environmentSize, LAMBDA_ENVIRONMENT_LIMIT } from './environment-size.js';
import {
  bundleWithHandlers,
  type HandlersBundle,
  PunctualFunction,
  prebuiltCode,
  seconds,
} from './functions.js';
import { dashboardUrl, type SchedulerAlarmProps, SchedulerMonitoring } from './monitoring.js';
import { acknowledgeFindings, acknowledgeKeyGrant } from './nag.js';

export type { GapAlarmOptions, PoolProps, SchedulerAlarmProps };

/**
 * What the executors may call on behalf of `lambda`, `sqs` and `eventbridge` targets. Nothing is granted
 * by default and nothing is granted with a wildcard: list each resource a declared or CLI-put job targets.
 *
 * @example new Scheduler(stack, 'Scheduler', { targetAccess: { functions: [reportFn], queues: [workQueue] } });
 */
export interface TargetAccess {
  /**
   * Functions `lambda` targets invoke (`lambda:InvokeFunction` on exactly these ARNs). A job naming an
   * alias or a version needs that alias or version here (its ARN is not the function's).
   * @default - none
   */
  readonly functions?: (lambda.IFunction | string)[];
  /**
   * Queues `sqs` targets send to (`sqs:SendMessage`, plus the key's encrypt permissions for a KMS-encrypted
   * queue given as an `IQueue`).
   * @default - none
   */
  readonly queues?: (sqs.IQueue | string)[];
  /**
   * Event buses `eventbridge` targets put events on (`events:PutEvents`). For the account's default bus use
   * `EventBus.fromEventBusName(this, 'DefaultBus', 'default')`.
   * @default - none
   */
  readonly buses?: (events.IEventBus | string)[];
}

/**
 * One application's jobs and what they may reach: the jobs whose id starts with `jobIdPrefix` (the prefix
 * its `grantManageJobs(grantee, { jobIdPrefix })` grant is scoped to) may call the resources in
 * `targetAccess` and nothing else of what the executors may call. The executors' role holds the union of
 * every application's and the stack's `targetAccess`; the executor refuses a job reaching beyond its own
 * list (a final failure, nothing called), and `putJob` refuses it where the client knows the stack.
 *
 * @example new Scheduler(stack, 'Scheduler', { applications: [{ jobIdPrefix: 'billing-', targetAccess: { functions: [billFn] } }] });
 */
export interface SchedulerApplication {
  /** The start of every job id of this application (`billing-`); no other application's prefix may start with it. */
  readonly jobIdPrefix: string;
  /** What this application's jobs may call (`lambda`, `sqs`, `eventbridge` targets). */
  readonly targetAccess: TargetAccess;
}

/**
 * Your own handlers, bundled into every executor (see `SchedulerProps.handlers`).
 *
 * @example new Scheduler(stack, 'Scheduler', { handlers: { entry: 'src/jobs.ts' } });
 */
export interface SchedulerHandlers {
  /**
   * A module (TypeScript or JavaScript, resolved from the current directory, as NodejsFunction's `entry`)
   * whose import registers handlers with `registerHandler` from `punctual/handlers`. It is bundled with the
   * executor by esbuild at synth, so the app needs `esbuild` installed (`npm i -D esbuild`).
   *
   * @example 'src/jobs.ts'
   */
  readonly entry: string;
}

/** Utilization the auto scaling of `billing: 'provisioned'` keeps the table and its indexes at. */
export const PROVISIONED_TARGET_UTILIZATION = 70;

/**
 * The Scheduler's props; every one is optional.
 *
 * @example new Scheduler(stack, 'Scheduler', { pools: { default: { concurrency: 4 } }, jobs: [], alarmEmails: ['oncall@example.com'] });
 */
export interface SchedulerProps {
  /**
   * Your own functions for `handler` targets: a module that registers them, bundled with the executor. Jobs
   * may then name them (`target: { type: 'handler', name: 'my-report' }`); a declared job naming a handler
   * that is neither a builtin nor registered by the module fails `cdk synth`.
   *
   * @example { entry: 'src/jobs.ts' }
   * @default - the builtin handlers only (noop, log, sleep, fail, flaky), from the prebuilt executor bundle
   */
  readonly handlers?: SchedulerHandlers;
  /**
   * Executor pools by name: one SQS queue, DLQ and executor function each. A `default` pool always exists
   * (2 concurrent runs, 5 minute timeout, 512 MB); declaring `default` here changes its settings.
   * @default { default: { concurrency: 2, timeout: '5m', memorySize: 512 } }
   */
  readonly pools?: Record<string, PoolProps>;
  /**
   * Jobs to declare, as written in a jobs file (SPEC §3). Each is validated at synth (a bad one fails
   * `cdk synth` naming the field and the rule) and written to the table on deploy: created, updated, and
   * deleted when removed from this list or when the stack is deleted. An entry may carry
   * `gapAlarm: { factor }` (a construct option, not part of the job) for an alarm when the job has not
   * succeeded for `factor` × its period.
   * @default - no declared jobs (put them with `punctual jobs put`)
   */
  readonly jobs?: unknown[];
  /**
   * Exclusion calendars by name, as a jobs file's `calendars:` map: dates, ranges or cron expressions in a
   * time zone (docs/jobs.md "Exclusion calendars"). A declared job lists the ones it skips in `exclude`.
   * Written on deploy before the jobs; one no longer declared is deleted after them.
   * @example { 'uk-bank-holidays': { timezone: 'Europe/London', dates: ['2026-12-25', '2026-12-28'] } }
   * @default - no declared calendars (put them with `punctual calendars put`)
   */
  readonly calendars?: Record<string, unknown>;
  /**
   * Shards of the table's due and open indexes (each shard is one partition's worth of throughput).
   * Changing it re-puts the declared jobs; jobs put from the CLI must be put again.
   * @default 4
   */
  readonly shards?: number;
  /**
   * How long run records are kept (DynamoDB TTL on `expiresAt`). Whole days.
   * @default Duration.days(30)
   */
  readonly runRetention?: Duration;
  /**
   * The table's name.
   * @default - generated by CloudFormation
   */
  readonly tableName?: string;
  /**
   * A customer managed KMS key for the table.
   * @default - the AWS managed key (`aws/dynamodb`)
   */
  readonly tableEncryptionKey?: kms.IKey;
  /**
   * Deletion protection on the table.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How far ahead the tick sends slots (delayed SQS messages deliver them at their second). 60–900 s.
   * @default Duration.seconds(75)
   */
  readonly lookahead?: Duration;
  /**
   * After this the tick starts no new job and leaves the rest to the next tick (counted as backlog). 5–50 s.
   * @default Duration.seconds(45)
   */
  readonly tickBudget?: Duration;
  /**
   * Shard groups of the tick (1 to `shards`, at most 64). With more than one, the tick EventBridge fires is
   * a coordinator: each minute it invokes a tick-worker function asynchronously per further group and
   * handles group 0 itself; group g claims, sweeps and audits the shards s with s mod groups = g. Claims per
   * second grow with the groups (docs/scale.md: one group handles ≈ 600 claims a second at AWS latencies).
   * @default 1
   */
  readonly tickGroups?: number;
  /**
   * Memory of the tick function, MB.
   * @default 512
   */
  readonly tickMemorySize?: number;
  /**
   * Retries of the EventBridge rule when it cannot invoke the tick; after them the event goes to the tick DLQ.
   * @default 2
   */
  readonly tickRetryAttempts?: number;
  /**
   * Set each executor's reserved concurrency to its pool's concurrency + 1 (see
   * `RESERVED_CONCURRENCY_HEADROOM`). Turn off in an account whose concurrency quota cannot spare it (Lambda
   * keeps 100 unreserved); the event source mapping's maximumConcurrency still caps each pool.
   * @default true
   */
  readonly reserveConcurrency?: boolean;
  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Application log level of the functions (Lambda advanced logging; Powertools Logger follows it). Gap
   * alarms count INFO lines: keep INFO (or DEBUG) when you use them.
   * @default lambda.ApplicationLogLevel.INFO
   */
  readonly logLevel?: lambda.ApplicationLogLevel;
  /**
   * Ship each function's source map and run it with `--enable-source-maps`, so stack traces in the logs
   * name the TypeScript sources. Off by default: the maps more than double each asset (≈ 1.9 MB beside a
   * 1.4 MB bundle) and source-mapped stack traces cost time on every error.
   * @default false
   */
  readonly sourceMaps?: boolean;
  /**
   * The table's capacity mode. `on-demand` bills each request. `provisioned` bills capacity by the hour,
   * scaled by Application Auto Scaling to keep the table and each index at 70 % of what is provisioned,
   * between the bounds of `provisionedCapacity`: for a steady load it costs ≈ 0.41× on-demand per write and
   * read (bench/RESULTS.md "Cost per fire" gives the price per fire), but a burst above the provisioned rate
   * is throttled until scaling catches up (minutes), so the tick's claims may wait for the next tick.
   * @default 'on-demand'
   */
  readonly billing?: 'on-demand' | 'provisioned';
  /**
   * Bounds of the auto scaling with `billing: 'provisioned'`, in capacity units a second, for the table and
   * for each of its two indexes.
   * @default { readMin: 5, readMax: 1000, writeMin: 5, writeMax: 1000 }
   */
  readonly provisionedCapacity?: { readMin?: number; readMax?: number; writeMin?: number; writeMax?: number };
  /**
   * Projection of the table's `due` and `open` indexes. `keys-only` costs an index write only when a job's
   * next slot or a run's `openUntil` moves (the tick reads the items with BatchGetItem). A stack deployed
   * before 0.2 has `all` indexes, whose projection CloudFormation cannot change in place: set `all` there
   * (the code reads either); docs/data-model.md "Upgrading" says how to move such a table to `keys-only`.
   * @default 'keys-only'
   */
  readonly indexProjection?: 'keys-only' | 'all';
  /**
   * Publish a `Run Succeeded` event on the bus for every successful run. EventBridge bills each event
   * ($1.00 a million), as much as the rest of a fire together; `Run Failed`, `Run Missed`, `Run Skipped`
   * and `Run Cancelled` are always published, and the `RunsSucceeded` metric counts successes either way.
   * @default false
   */
  readonly successEvents?: boolean;
  /**
   * Name of the EventBridge bus for run lifecycle events (source `punctual`).
   * @default - generated
   */
  readonly eventBusName?: string;
  /**
   * The SNS topic alarms notify (on ALARM and on OK).
   * @default - a new topic that enforces SSL
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * E-mail addresses subscribed to the alarm topic (each confirms by e-mail).
   * @default - none
   */
  readonly alarmEmails?: string[];
  /**
   * Alarm thresholds and evaluation.
   * @default - see SchedulerAlarmProps
   */
  readonly alarms?: SchedulerAlarmProps;
  /**
   * Resources the executors may call for `lambda`, `sqs` and `eventbridge` targets. `http` and `handler`
   * targets need none.
   * @default - none
   */
  readonly targetAccess?: TargetAccess;
  /**
   * Per-application target access (docs/security.md, "Least privilege per application"). With it, a job
   * whose id starts with an application's `jobIdPrefix` may reach that application's `targetAccess` only,
   * and any other job the stack's `targetAccess` only; without it, every job may reach `targetAccess`.
   * Prefixes may not overlap (`billing-` and `billing-eu-`).
   * @default - none: `targetAccess` is shared by every job
   * @example applications: [{ jobIdPrefix: 'billing-', targetAccess: { functions: [billFn] } }, { jobIdPrefix: 'reports-', targetAccess: { queues: [reportQueue] } }]
   */
  readonly applications?: SchedulerApplication[];
  /**
   * Where `http` targets may go: the operator's decision, not the job author's (docs/security.md). Each
   * field given replaces its default. Every address a target's host resolves to is checked when the
   * executor connects; link-local and cloud metadata addresses are refused whatever this says.
   * @default - https only, public addresses only, no redirects followed
   * @example targetPolicy: { allow: { hosts: ['billing.internal'], cidrs: ['10.20.0.0/16'] }, maxRedirects: 2 }
   */
  readonly targetPolicy?: TargetPolicy;
  /**
   * The secrets jobs may name (`hmacSecret: NAME`, `headers: { authorization: { secret: NAME, prefix:
   * 'Bearer ' } }`), by name: a Secrets Manager secret (its text value) or an SSM SecureString parameter.
   * Each executor may read these and nothing else; a job naming another is refused (at synth for declared
   * jobs, by the executor for any). Values are read at run time (cached 5 minutes) and never stored.
   * @default - none
   * @example secrets: { 'billing-hook': secretsmanager.Secret.fromSecretNameV2(this, 'Hook', 'billing/hook') }
   */
  readonly secrets?: Record<string, secretsmanager.ISecret | ssm.IParameter>;
  /**
   * Name of the CloudWatch dashboard.
   * @default - generated
   */
  readonly dashboardName?: string;
  /**
   * Add the stack outputs the CLI reads (`TableName`, `Pools`, …; see docs/deploy.md). Their keys are fixed,
   * so turn this off for a second Scheduler in the same stack.
   * @default true
   */
  readonly outputs?: boolean;
}

/**
 * The resources of one pool.
 *
 * @example scheduler.pools.default.queue.grantSendMessages(producerFn);
 */
export interface SchedulerPool {
  readonly name: string;
  readonly concurrency: number;
  readonly timeout: Duration;
  readonly queue: sqs.Queue;
  readonly dlq: sqs.Queue;
  readonly executor: lambda.Function;
  readonly executorLogGroup: logs.ILogGroup;
}

/**
 * The stack output keys (stable: the CLI reads them with `--stack`).
 *
 * @example
 * // aws cloudformation describe-stacks --stack-name Punctual: the output named OUTPUT_KEYS.tableName ('TableName')
 * const tableName = outputs.find((o) => o.OutputKey === OUTPUT_KEYS.tableName)?.OutputValue;
 */
export const OUTPUT_KEYS = {
  tableName: 'TableName',
  shards: 'Shards',
  retentionDays: 'RetentionDays',
  pools: 'Pools',
  eventBusName: 'EventBusName',
  alarmTopicArn: 'AlarmTopicArn',
  dashboardName: 'DashboardName',
  dashboardUrl: 'DashboardUrl',
  tickFunctionName: 'TickFunctionName',
  tickDlqUrl: 'TickDlqUrl',
  completionsQueueUrl: 'CompletionsQueueUrl',
  tickGroups: 'TickGroups',
  secretNames: 'SecretNames',
  targetAccess: 'TargetAccess',
  ecsNetwork: 'EcsNetwork',
} as const;

const DYNAMO_READ_WRITE = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'];
/**
 * The tick's: read-write, Scan for the due-index audit (a page a minute, shared/tick/tick.ts), and
 * BatchGetItem: the due and open indexes project keys only, so the tick reads the items a query named with
 * it (shared/store/base.ts itemsOf).
 */
const TICK_TABLE = [...DYNAMO_READ_WRITE, 'dynamodb:Scan', 'dynamodb:BatchGetItem'];
/** What PunctualClient reads: items (GetItem), a job's runs (Query), every job (Scan). */
const CLIENT_READ = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'];

/** How far a client grant reaches (`grantManageJobs`, `grantReadRuns`). */
export interface ClientGrantOptions {
  /**
   * Only the jobs whose id starts with this (and their runs and definitions): `dynamodb:LeadingKeys` with
   * `ForAllValues:StringLike` on `JOB#<prefix>*`, without Scan. Give the application's client the same
   * `jobIdPrefix`. The tag index's items (partition key `TAG#…`) cannot be scoped by job: see
   * docs/security.md "Least privilege per application".
   *
   * @example scheduler.grantManageJobs(billingFn, { jobIdPrefix: 'billing-' })
   */
  readonly jobIdPrefix?: string;
}
/** What it writes besides: jobs and runs created (PutItem), changed (UpdateItem), deleted (DeleteItem). */
const CLIENT_MANAGE = [...CLIENT_READ, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
/**
 * putJob reads the item and creates (PutItem) or updates it (UpdateItem); deleteJob deletes it; the claim
 * of a new job's first slots writes its run records and leases/advances the job (shared/store/store.ts).
 */
const DYNAMO_JOB_WRITE = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  // The calendar partition: a job that excludes calendars is checked against them, and its claim reads them.
  'dynamodb:Query',
  // A deploy that stops declaring a calendar first finds the jobs that still exclude it (one Scan, only then).
  'dynamodb:Scan',
];

/** What synth knows of each resource a `TargetAccess` names (cdk/declared-access.ts). */
function knownAccess(scope: Construct, access: TargetAccess, path: string): KnownAccessList {
  return {
    functions: (access.functions ?? []).map((fn, i) =>
      typeof fn === 'string'
        ? knownEntry(undefined, [fn], '', `${path}.functions[${i}]`, scope)
        : knownEntry(
            fn,
            [fn.functionArn, fn.functionName],
            'functionName',
            `${path}.functions[${i}] (${fn.node.path})`,
            scope,
          ),
    ),
    queues: (access.queues ?? []).map((queue, i) =>
      typeof queue === 'string'
        ? knownEntry(undefined, [queue], '', `${path}.queues[${i}]`, scope)
        : knownEntry(
            queue,
            [queue.queueArn, queue.queueUrl, queue.queueName],
            'queueName',
            `${path}.queues[${i}] (${queue.node.path})`,
            scope,
          ),
    ),
    buses: (access.buses ?? []).map((bus, i) =>
      typeof bus === 'string'
        ? knownEntry(undefined, [bus], '', `${path}.buses[${i}]`, scope)
        : knownEntry(
            bus,
            [bus.eventBusArn, bus.eventBusName],
            'name',
            `${path}.buses[${i}] (${bus.node.path})`,
            scope,
          ),
    ),
  };
}

/** The policy without its empty `functions`, `queues` and `buses` lists (absent reads as empty). */
function compactAccessPolicy(policy: TargetAccessPolicy): unknown {
  const compact = (list: AccessList) =>
    Object.fromEntries(
      Object.entries(list).filter(
        ([key, value]) =>
          !(['functions', 'queues', 'buses'].includes(key) && (value as unknown[]).length === 0),
      ),
    );
  return {
    shared: compact(policy.shared),
    applications: policy.applications.map((app) => ({
      jobIdPrefix: app.jobIdPrefix,
      access: compact(app.access),
    })),
  };
}

/** The ARNs a `TargetAccess` names (tokens until deploy). */
function accessArns(access: TargetAccess): AccessList {
  return {
    functions: (access.functions ?? []).map((fn) => (typeof fn === 'string' ? fn : fn.functionArn)),
    queues: (access.queues ?? []).map((queue) => (typeof queue === 'string' ? queue : queue.queueArn)),
    buses: (access.buses ?? []).map((bus) => (typeof bus === 'string' ? bus : bus.eventBusArn)),
  };
}

function attributeType(type: 'S' | 'N' | 'B'): dynamodb.AttributeType {
  return type === 'N'
    ? dynamodb.AttributeType.NUMBER
    : type === 'B'
      ? dynamodb.AttributeType.BINARY
      : dynamodb.AttributeType.STRING;
}

/**
 * punctual on AWS: a DynamoDB table, a one-minute tick, a queue + DLQ + executor per pool, a lifecycle
 * event bus, alarms, a dashboard and the declared jobs.
 *
 * @example
 * import { App, Duration, Stack } from 'aws-cdk-lib';
 * import { Scheduler } from 'punctual/cdk';
 *
 * const app = new App();
 * const stack = new Stack(app, 'Punctual');
 * new Scheduler(stack, 'Scheduler', {
 *   pools: { default: { concurrency: 4 }, reports: { concurrency: 2, timeout: '10m', memorySize: 1024 } },
 *   jobs: [
 *     { id: 'heartbeat', schedule: 'rate(5 minutes)', target: { type: 'handler', name: 'log' }, gapAlarm: { factor: 3 } },
 *     { id: 'nightly-report', schedule: 'cron(0 2 * * ? *)', timezone: 'Europe/Berlin', pool: 'reports',
 *       target: { type: 'http', url: 'https://example.com/hook', timeout: '5m' } },
 *   ],
 *   alarmEmails: ['oncall@example.com'],
 *   alarms: { startLagP99: Duration.seconds(30) },
 * });
 */
export class Scheduler extends Construct {
  /** The props after validation and defaults. */
  readonly config: ResolvedConfig;
  /** The declared jobs, normalized (defaults applied, durations in ms). */
  readonly jobs: JobDefinition[];
  readonly table: dynamodb.Table;
  readonly tickFunction: lambda.Function;
  /** The shard groups' tick worker (`tickGroups` > 1), invoked by the tick each minute. */
  readonly tickWorkerFunction?: lambda.Function;
  readonly tickLogGroup: logs.ILogGroup;
  readonly tickRule: events.Rule;
  /** Tick events EventBridge could not deliver and tick invocations that failed. */
  readonly tickDlq: sqs.Queue;
  readonly pools: Record<string, SchedulerPool>;
  readonly eventBus: events.EventBus;
  /** Whether the functions ship and use their source maps (the `sourceMaps` prop). */
  readonly sourceMaps: boolean;
  readonly alarmTopic: sns.ITopic;
  readonly alarms: cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;
  /** The function behind the declared-jobs custom resource (absent without declared jobs). */
  readonly deployJobsFunction?: lambda.Function;
  /**
   * Asynchronous completion: the queue workers report `heartbeat`/`complete`/`fail` on, its DLQ and the
   * function consuming it (`grantReportCompletion` lets a worker send).
   */
  readonly completions: Completions;
  /**
   * The `EcsNetwork` output (absent with `outputs: false`): where `ecs` targets may place tasks, as JSON,
   * for the client's check at put. Nothing declared until `AsyncTargets` sets it from its `ecsNetwork`.
   */
  readonly ecsNetworkOutput?: CfnOutput;
  /**
   * What each application's jobs may reach, as the executors and the client are told it (ARNs, tokens
   * until deploy): absent without `applications`. `AsyncTargets` adds `stateMachines` and `ecsTasks`.
   */
  readonly targetAccessPolicy?: TargetAccessPolicy;
  /** The same, reduced to what synth knows of each entry: the declared jobs are checked against it. */
  readonly knownTargetAccess?: KnownAccessPolicy;

  constructor(scope: Construct, id: string, props: SchedulerProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    // The consumer's handlers are bundled first: the declared jobs are checked against the names they register.
    const handlers: HandlersBundle | undefined = props.handlers
      ? bundleWithHandlers(
          this,
          props.handlers.entry,
          `Scheduler "${id}" props: handlers.entry`,
          props.sourceMaps ?? false,
        )
      : undefined;
    const declaredSecrets = Object.entries(props.secrets ?? {});
    const config = resolveConfig(
      {
        ...props,
        ...(handlers ? { handlerNames: handlers.names } : {}),
        secretNames: declaredSecrets.map(([name]) => name),
      },
      `Scheduler "${id}" props`,
    );
    this.config = config;
    this.jobs = config.jobs.map((job) => job.definition);

    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const logLevel = props.logLevel ?? lambda.ApplicationLogLevel.INFO;
    const sourceMaps = props.sourceMaps ?? false;
    this.sourceMaps = sourceMaps;

    // ── table ─────────────────────────────────────────────────────────────────────────────────────
    const provisioned = props.billing === 'provisioned';
    const capacity = {
      readMin: props.provisionedCapacity?.readMin ?? 5,
      readMax: props.provisionedCapacity?.readMax ?? 1000,
      writeMin: props.provisionedCapacity?.writeMin ?? 5,
      writeMax: props.provisionedCapacity?.writeMax ?? 1000,
    };
    this.table = new dynamodb.Table(this, 'Table', {
      ...(props.tableName ? { tableName: props.tableName } : {}),
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      ...(provisioned
        ? {
            billingMode: dynamodb.BillingMode.PROVISIONED,
            readCapacity: capacity.readMin,
            writeCapacity: capacity.writeMin,
          }
        : { billingMode: dynamodb.BillingMode.PAY_PER_REQUEST }),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      ...(props.tableEncryptionKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.tableEncryptionKey }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    for (const index of TABLE_KEYS.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey.name, type: attributeType(index.partitionKey.type) },
        sortKey: { name: index.sortKey.name, type: attributeType(index.sortKey.type) },
        // KEYS_ONLY unless a table deployed before asks to keep ALL (shared/store/table.ts).
        projectionType:
          props.indexProjection === 'all' ? dynamodb.ProjectionType.ALL : dynamodb.ProjectionType.KEYS_ONLY,
        ...(provisioned ? { readCapacity: capacity.readMin, writeCapacity: capacity.writeMin } : {}),
      });
    }
    if (provisioned) {
      // Target tracking at 70 % utilization, table and each index apart (each has its own capacity).
      const scale = (reads: dynamodb.IScalableTableAttribute, writes: dynamodb.IScalableTableAttribute) => {
        reads.scaleOnUtilization({ targetUtilizationPercent: PROVISIONED_TARGET_UTILIZATION });
        writes.scaleOnUtilization({ targetUtilizationPercent: PROVISIONED_TARGET_UTILIZATION });
      };
      const reads = { minCapacity: capacity.readMin, maxCapacity: capacity.readMax };
      const writes = { minCapacity: capacity.writeMin, maxCapacity: capacity.writeMax };
      scale(this.table.autoScaleReadCapacity(reads), this.table.autoScaleWriteCapacity(writes));
      for (const index of TABLE_KEYS.indexes)
        scale(
          this.table.autoScaleGlobalSecondaryIndexReadCapacity(index.name, reads),
          this.table.autoScaleGlobalSecondaryIndexWriteCapacity(index.name, writes),
        );
    }
    // Named indexes, not `index/*`: the functions query these two and nothing else.
    const tableResources = [
      this.table.tableArn,
      ...TABLE_KEYS.indexes.map((index) => `${this.table.tableArn}/index/${index.name}`),
    ];
    const kmsRoles = new Set<iam.Role>();
    const grantTable = (role: iam.Role, actions: string[]) => {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: tableResources }));
      if (props.tableEncryptionKey) {
        props.tableEncryptionKey.grantEncryptDecrypt(role);
        kmsRoles.add(role);
      }
    };

    // ── lifecycle events, alarm topic ─────────────────────────────────────────────────────────────
    this.eventBus = new events.EventBus(this, 'Bus', {
      ...(props.eventBusName ? { eventBusName: props.eventBusName } : {}),
      description: 'punctual run lifecycle events (source "punctual")',
    });
    this.alarmTopic =
      props.alarmTopic ??
      new sns.Topic(this, 'AlarmTopic', {
        displayName: `punctual alarms (${stack.stackName})`.slice(0, 100),
        enforceSSL: true,
      });
    const emailSubscriptions = (props.alarmEmails ?? []).map((email) =>
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(email)),
    );

    // ── pools: queue + DLQ ───────────────────────────────────────────────────────────────────────
    const queues = new Map<
      string,
      { pool: ResolvedPool; scope: Construct; queue: sqs.Queue; dlq: sqs.Queue }
    >();
    for (const pool of config.pools) {
      const scope = new Construct(this, `Pool-${pool.name}`);
      const dlq = new sqs.Queue(scope, 'Dlq', {
        retentionPeriod: Duration.days(14),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      const queue = new sqs.Queue(scope, 'Queue', {
        // AWS: at least 6 × the function timeout, so a message is not redelivered while an invocation,
        // with the poller's retries, still holds it (local/runtime.ts uses the same factor).
        visibilityTimeout: seconds(pool.timeoutMs * VISIBILITY_FACTOR),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        deadLetterQueue: { queue: dlq, maxReceiveCount: MAX_RECEIVE_COUNT },
      });
      queues.set(pool.name, { pool, scope, queue, dlq });
    }
    const routing = stack.toJsonString(
      Object.fromEntries(
        [...queues].map(([name, { queue, dlq }]) => [
          name,
          { queueUrl: queue.queueUrl, dlqUrl: dlq.queueUrl },
        ]),
      ),
    );
    const commonEnvironment: Record<string, string> = {
      [ENV.table]: this.table.tableName,
      [ENV.shards]: String(config.shards),
      [ENV.retentionDays]: String(config.retentionDays),
      [ENV.pools]: routing,
      [ENV.bus]: this.eventBus.eventBusName,
      ...(props.successEvents ? { [ENV.successEvents]: 'true' } : {}),
    };

    // ── tick ──────────────────────────────────────────────────────────────────────────────────────
    this.tickDlq = new sqs.Queue(this, 'TickDlq', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    const newTickFunction = (fnId: string, description: string, environment: Record<string, string>) => {
      const fn = new PunctualFunction(this, fnId, {
        code: prebuiltCode('tick', sourceMaps),
        description,
        timeout: Duration.millis(TICK_TIMEOUT_MS),
        memorySize: props.tickMemorySize ?? 512,
        environment: {
          ...commonEnvironment,
          [ENV.lookahead]: String(config.lookaheadMs),
          [ENV.budget]: String(config.tickBudgetMs),
          [ENV.tickGroups]: String(config.tickGroups),
          ...environment,
        },
        logRetention,
        logLevel,
        sourceMaps,
      });
      grantTable(fn.role, TICK_TABLE);
      // The tick sends slots to every pool, the sweep's retries too, and a run the sweep fails (lost) is
      // copied to its pool's DLQ (shared/runs/lifecycle.ts endRun → sendToDlq).
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['sqs:SendMessage'],
          resources: [...queues.values()].flatMap(({ queue, dlq }) => [queue.queueArn, dlq.queueArn]),
        }),
      );
      this.eventBus.grantPutEventsTo(fn.role);
      // No retry of a failed tick: the next one starts within the minute and catches up; a failed
      // invocation goes to the tick DLQ, whose alarm tells the operator.
      fn.function.configureAsyncInvoke({
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
        onFailure: new destinations.SqsDestination(this.tickDlq),
      });
      return fn;
    };
    // Shard groups 1…n−1 (shared/tick/fanout.ts): the same bundle, invoked by the coordinator.
    const tickWorker =
      config.tickGroups > 1
        ? newTickFunction(
            'TickWorker',
            'punctual tick worker: claims, sweeps and audits one shard group a minute for the tick',
            {},
          )
        : undefined;
    const tick = newTickFunction(
      'Tick',
      'punctual tick: claims due jobs and sends their slots to the pool queues',
      tickWorker ? { [ENV.tickWorker]: tickWorker.function.functionName } : {},
    );
    this.tickFunction = tick.function;
    this.tickLogGroup = tick.logGroup;
    this.tickWorkerFunction = tickWorker?.function;
    if (tickWorker) {
      // The function itself, not `<arn>:*` as grantInvoke adds: the coordinator invokes $LATEST only.
      tick.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [tickWorker.function.functionArn],
        }),
      );
    }
    this.tickRule = new events.Rule(this, 'TickRule', {
      description: 'punctual: fires the tick every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
    });
    this.tickRule.addTarget(
      new eventTargets.LambdaFunction(tick.function, {
        retryAttempts: props.tickRetryAttempts ?? 2,
        maxEventAge: Duration.minutes(1),
        deadLetterQueue: this.tickDlq,
      }),
    );

    // ── executors ─────────────────────────────────────────────────────────────────────────────────
    const applications = props.applications ?? [];
    const prefixProblems = applicationPrefixViolations(applications.map((app) => app.jobIdPrefix));
    if (prefixProblems.length > 0) {
      throw new Error(`Scheduler "${id}" props: ${prefixProblems.map(formatViolation).join('; ')}`);
    }
    const shared = accessArns(props.targetAccess ?? {});
    const perApplication = applications.map((app) => ({
      jobIdPrefix: app.jobIdPrefix,
      access: accessArns(app.targetAccess),
    }));
    // The executors' role holds the union; the executor itself keeps each application to its own list.
    const union = [shared, ...perApplication.map((app) => app.access)];
    const invokeArns = [...new Set(union.flatMap((list) => list.functions))];
    const sendArns = [...new Set(union.flatMap((list) => list.queues))];
    const busArns = [...new Set(union.flatMap((list) => list.buses))];
    const wildcards = [...invokeArns, ...sendArns, ...busArns].filter(
      (arn) => !Token.isUnresolved(arn) && arn.includes('*'),
    );
    if (wildcards.length > 0) {
      throw new Error(
        `Scheduler "${id}" props: targetAccess ${wildcards.join(', ')}: must name resources, not wildcards`,
      );
    }
    // What each application's jobs may reach, for the executors (and the client, as the TargetAccess output).
    // Serialized at synth (toJsonString is lazy): AsyncTargets adds its state machines and tasks to it.
    if (applications.length > 0) {
      this.targetAccessPolicy = { shared, applications: perApplication };
      this.knownTargetAccess = {
        shared: knownAccess(this, props.targetAccess ?? {}, 'targetAccess'),
        applications: applications.map((app, i) => ({
          jobIdPrefix: app.jobIdPrefix,
          access: knownAccess(this, app.targetAccess, `applications[${i}].targetAccess`),
        })),
      };
      checkDeclaredJobsAccess(`Scheduler "${id}" props`, this, this.jobs, this.knownTargetAccess, [
        'lambda',
        'sqs',
        'eventbridge',
      ]);
    }
    // Produced at synth, after AsyncTargets has added its lists; empty function, queue and bus lists left
    // out (the reader takes them as empty): the 4 KB environment is what bounds the applications.
    const policy = this.targetAccessPolicy;
    const targetAccessJson = policy
      ? Lazy.string({ produce: () => stack.toJsonString(compactAccessPolicy(policy)) })
      : undefined;
    const encryptedQueues = [props.targetAccess, ...applications.map((app) => app.targetAccess)].flatMap(
      (access) => access?.queues ?? [],
    );

    // Where each declared secret is read (never its value): PUNCTUAL_SECRETS of the executors.
    const secretSources = stack.toJsonString(
      Object.fromEntries(
        declaredSecrets.map(([name, secret]) => [
          name,
          'secretArn' in secret ? { secretsManager: secret.secretArn } : { ssm: secret.parameterName },
        ]),
      ),
    );
    const pools: Record<string, SchedulerPool> = {};
    const executors: PunctualFunction[] = [];
    const executorCode = handlers?.code ?? prebuiltCode('executor', sourceMaps);
    for (const { pool, scope, queue, dlq } of queues.values()) {
      const executor = new PunctualFunction(scope, 'Executor', {
        code: executorCode,
        description:
          pool.batchSize > 1
            ? `punctual executor of pool "${pool.name}": runs up to ${pool.batchSize} runs per invocation, side by side`
            : `punctual executor of pool "${pool.name}": runs one run per invocation`,
        timeout: seconds(pool.timeoutMs),
        memorySize: pool.memorySize,
        environment: {
          ...commonEnvironment,
          [ENV.pool]: pool.name,
          [ENV.targetPolicy]: JSON.stringify(config.targetPolicy),
          ...(declaredSecrets.length > 0 ? { [ENV.secrets]: secretSources } : {}),
          ...(targetAccessJson ? { [ENV.targetAccess]: targetAccessJson } : {}),
        },
        logRetention,
        logLevel,
        sourceMaps,
        ...(props.reserveConcurrency === false
          ? {}
          : { reservedConcurrentExecutions: pool.concurrency + RESERVED_CONCURRENCY_HEADROOM }),
      });
      grantTable(executor.role, DYNAMO_READ_WRITE);
      // Each declared secret, and nothing else: a job names one of these or its request is not sent.
      for (const [, secret] of declaredSecrets) secret.grantRead(executor.role);
      // Retries go back to its own queue and failed runs to its own DLQ (shared/runs/lifecycle.ts). A held
      // run of a job that moved to another pool meanwhile is left to the tick's sweep, which may send anywhere.
      executor.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn, dlq.queueArn] }),
      );
      this.eventBus.grantPutEventsTo(executor.role);
      if (invokeArns.length > 0) {
        executor.role.addToPrincipalPolicy(
          new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: invokeArns }),
        );
      }
      if (sendArns.length > 0) {
        executor.role.addToPrincipalPolicy(
          new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: sendArns }),
        );
      }
      for (const target of encryptedQueues) {
        if (typeof target !== 'string' && target.encryptionMasterKey) {
          target.encryptionMasterKey.grantEncryptDecrypt(executor.role);
          kmsRoles.add(executor.role);
        }
      }
      if (busArns.length > 0) {
        executor.role.addToPrincipalPolicy(
          new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: busArns }),
        );
      }
      executor.function.addEventSource(
        new SqsEventSource(queue, {
          // One run per invocation unless the pool batches: runs in flight ≤ concurrency × batchSize. No
          // batching window (a batch is what is visible at once), so no start waits for one.
          batchSize: pool.batchSize,
          // Caps the pool without throttling: a throttled poller would count receives and DLQ healthy runs.
          maxConcurrency: pool.concurrency,
          // Required: include the value ReportBatchItemFailures in the FunctionResponseTypes list.
          reportBatchItemFailures: true,
        }),
      );
      executors.push(executor);
      pools[pool.name] = {
        name: pool.name,
        concurrency: pool.concurrency,
        timeout: seconds(pool.timeoutMs),
        queue,
        dlq,
        executor: executor.function,
        executorLogGroup: executor.logGroup,
      };
    }
    this.pools = pools;
    // Lambda refuses an environment over 4 KB only at deploy; the per-application lists are most of it.
    this.node.addValidation({
      validate: () =>
        Object.values(pools).flatMap((pool) => {
          const { total, variables } = environmentSize(pool.executor);
          if (total <= LAMBDA_ENVIRONMENT_LIMIT) return [];
          const largest = Object.entries(variables)
            .sort(([, a], [, b]) => b - a)
            .slice(0, 3)
            .map(([key, size]) => `${key} ${size}`)
            .join(', ');
          return [
            `Scheduler "${id}": the environment of pool "${pool.name}"'s executor would be up to ${total} bytes once ` +
              `deployed, over Lambda's limit of ${LAMBDA_ENVIRONMENT_LIMIT} (keys and values; largest: ${largest}). ` +
              `The per-application target access (${applications.length} applications, ${ENV.targetAccess}) grows with ` +
              'every resource listed: list fewer, name them by ARN strings (shorter than the ARNs of resources CloudFormation ' +
              'names), or give applications that share resources one prefix (docs/security.md, "How many applications fit")',
          ];
        }),
    });

    // ── declared jobs ─────────────────────────────────────────────────────────────────────────────
    let deployJobs: PunctualFunction | undefined;
    let provider: cr.Provider | undefined;
    if (config.jobs.length > 0 || config.calendars.length > 0) {
      deployJobs = new PunctualFunction(this, 'DeployJobs', {
        code: prebuiltCode('deploy-jobs', sourceMaps),
        description: 'punctual: writes the jobs declared in the stack to the table (custom resource)',
        timeout: Duration.minutes(5),
        memorySize: 256,
        // The table and the shards come with each request (the custom resource's properties); the pool
        // queues and the lookahead let it send a new job's first slots at once, as the tick would.
        environment: {
          [ENV.retentionDays]: String(config.retentionDays),
          [ENV.pools]: routing,
          [ENV.lookahead]: String(config.lookaheadMs),
        },
        logRetention,
        logLevel,
        sourceMaps,
      });
      grantTable(deployJobs.role, DYNAMO_JOB_WRITE);
      deployJobs.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['sqs:SendMessage'],
          resources: [...queues.values()].map(({ queue }) => queue.queueArn),
        }),
      );
      this.deployJobsFunction = deployJobs.function;
      provider = new cr.Provider(this, 'JobsProvider', {
        onEventHandler: deployJobs.function,
        logGroup: new logs.LogGroup(this, 'JobsProviderLogs', { retention: logRetention }),
      });
      const jobsJson = JSON.stringify(this.jobs);
      // CloudFormation hands custom resource properties to Lambda in one request; stay well inside it.
      if (Buffer.byteLength(jobsJson) > 200_000) {
        throw new Error(
          `Scheduler "${id}" props: jobs are ${Buffer.byteLength(jobsJson)} bytes as JSON; declare at most ~200 KB ` +
            'in the stack and put the rest with `punctual jobs put`',
        );
      }
      const resource = new CustomResource(this, 'Jobs', {
        serviceToken: provider.serviceToken,
        resourceType: 'Custom::PunctualJobs',
        properties: {
          TableName: this.table.tableName,
          Shards: String(config.shards),
          Pools: config.pools.map((pool) => pool.name),
          // One string: CloudFormation turns every number and boolean of a property into a string.
          Jobs: jobsJson,
          ...(config.calendars.length ? { Calendars: JSON.stringify(config.calendars) } : {}),
        },
      });
      // The handler's permissions must exist before CloudFormation calls it.
      resource.node.addDependency(deployJobs);
    }

    // ── completions: reports of asynchronous runs ─────────────────────────────────────────────────
    this.completions = new Completions(this, 'Completions', {
      environment: commonEnvironment,
      logRetention,
      logLevel,
      sourceMaps,
      grantTable: (role) => grantTable(role, DYNAMO_READ_WRITE),
      // A failed attempt's retry goes to its pool's queue, a failed run to its pool's DLQ.
      sendTo: [...queues.values()].flatMap(({ queue, dlq }) => [queue.queueArn, dlq.queueArn]),
      grantPutEvents: (role) => this.eventBus.grantPutEventsTo(role),
    });

    // A job must not write to the completions queue either (shared/targets/reserved.ts).
    for (const pool of Object.values(pools)) {
      pool.executor.addEnvironment(ENV.completionsQueue, this.completions.queue.queueUrl);
    }

    // ── alarms, dashboard ─────────────────────────────────────────────────────────────────────────
    const monitoring = new SchedulerMonitoring(this, 'Monitoring', {
      alarmPrefix: `${stack.stackName}-${id}`,
      topic: this.alarmTopic,
      thresholds: props.alarms ?? {},
      tick,
      ...(tickWorker ? { tickWorker } : {}),
      tickGroups: config.tickGroups,
      tickDlq: this.tickDlq,
      pools: Object.values(pools).map((pool) => ({
        name: pool.name,
        queue: pool.queue,
        dlq: pool.dlq,
        executor: { function: pool.executor, logGroup: pool.executorLogGroup },
      })),
      jobs: config.jobs,
      completions: {
        function: this.completions.consumer.function,
        logGroup: this.completions.consumer.logGroup,
      },
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
    });
    this.alarms = monitoring.alarms;
    this.dashboard = monitoring.dashboard;

    // ── outputs ───────────────────────────────────────────────────────────────────────────────────
    if (props.outputs !== false) {
      const output = (key: string, value: string, description: string) => {
        const made = new CfnOutput(this, `Output-${key}`, { value, description });
        made.overrideLogicalId(key);
        return made;
      };
      output(OUTPUT_KEYS.tableName, this.table.tableName, 'punctual table');
      output(OUTPUT_KEYS.shards, String(config.shards), 'shards of the due and open indexes');
      output(OUTPUT_KEYS.retentionDays, String(config.retentionDays), 'days run records are kept');
      output(
        OUTPUT_KEYS.pools,
        stack.toJsonString(
          Object.fromEntries(
            Object.values(pools).map((pool) => [
              pool.name,
              {
                queueUrl: pool.queue.queueUrl,
                dlqUrl: pool.dlq.queueUrl,
                dlqArn: pool.dlq.queueArn,
                functionName: pool.executor.functionName,
                concurrency: pool.concurrency,
                timeout: pool.timeout.toMilliseconds(),
              },
            ]),
          ),
        ),
        'pools as JSON: { [pool]: { queueUrl, dlqUrl, dlqArn, functionName, concurrency, timeout (ms) } }',
      );
      output(OUTPUT_KEYS.eventBusName, this.eventBus.eventBusName, 'bus of the run lifecycle events');
      output(OUTPUT_KEYS.alarmTopicArn, this.alarmTopic.topicArn, 'SNS topic the alarms notify');
      output(OUTPUT_KEYS.dashboardName, this.dashboard.dashboardName, 'CloudWatch dashboard');
      output(OUTPUT_KEYS.dashboardUrl, dashboardUrl(this, this.dashboard), 'CloudWatch dashboard URL');
      output(OUTPUT_KEYS.tickFunctionName, this.tickFunction.functionName, 'tick function');
      output(OUTPUT_KEYS.tickDlqUrl, this.tickDlq.queueUrl, 'DLQ of failed tick invocations');
      output(
        OUTPUT_KEYS.completionsQueueUrl,
        this.completions.queue.queueUrl,
        'queue workers report heartbeat/complete/fail of asynchronous runs on',
      );
      output(OUTPUT_KEYS.tickGroups, String(config.tickGroups), 'shard groups the tick fans out to');
      // Names only, never where or what: the client refuses a put naming an undeclared secret.
      output(
        OUTPUT_KEYS.secretNames,
        JSON.stringify(declaredSecrets.map(([name]) => name).sort()),
        'names of the declared secrets jobs may use, as JSON (values stay in Secrets Manager / SSM)',
      );
      // The executors' PUNCTUAL_ECS_NETWORK, for the client: AsyncTargets replaces it with its ecsNetwork.
      this.ecsNetworkOutput = output(
        OUTPUT_KEYS.ecsNetwork,
        JSON.stringify(NO_ECS_NETWORK),
        'where ecs targets may place tasks, as JSON: { subnets, securityGroups, allowPublicIp }',
      );
      if (targetAccessJson) {
        // The client refuses a put whose job would reach beyond its application's list.
        output(
          OUTPUT_KEYS.targetAccess,
          targetAccessJson,
          'what each application (jobIdPrefix) may reach, as JSON: { shared, applications: [{ jobIdPrefix, access }] }',
        );
      }
    }

    acknowledgeFindings({
      tick,
      ...(tickWorker ? { tickWorker } : {}),
      executors,
      ...(deployJobs ? { deployJobs } : {}),
      ...(provider && deployJobs
        ? { provider: { construct: provider, onEventHandler: deployJobs.function } }
        : {}),
      tickDlq: this.tickDlq,
      poolDlqs: Object.values(pools).map((pool) => pool.dlq),
      completions: { consumer: this.completions.consumer, dlq: this.completions.dlq },
      kmsRoles: [...kmsRoles],
      emailSubscriptions,
    });
  }

  /**
   * Lets `grantee` (an application's function or role) read jobs and runs with `PunctualClient`:
   * `getJob`, `listJobs`, `listRuns`, `getRun`. GetItem, Query and Scan on the table itself (the client
   * reads no index), decrypt with the table's key if it has one, and DescribeStacks on this stack for a
   * client made with `{ stackName }`. No queue: reading sends nothing.
   *
   * @example
   * const app = new NodejsFunction(stack, 'Dashboard', { entry: 'src/dashboard.ts' });
   * scheduler.grantReadRuns(app);
   */
  grantReadRuns(grantee: iam.IGrantable, options: ClientGrantOptions = {}): iam.Grant {
    return this.grantClient(grantee, CLIENT_READ, false, options);
  }

  /**
   * Lets `grantee` create and operate jobs with `PunctualClient`: everything `grantReadRuns` allows,
   * plus PutItem, UpdateItem and DeleteItem on the table (put, pause, resume, delete, trigger, replay,
   * backfill), encrypt with the table's key if it has one, and sqs:SendMessage on each pool's queue
   * (a new job's first slots, triggers, replays and backfills are sent there). Not the DLQs: listing
   * and redriving them stays an operator's task.
   *
   * With `{ jobIdPrefix }`, only the items of jobs whose id starts with it (ClientGrantOptions): give each
   * application its own prefix, and its client the same `jobIdPrefix`.
   *
   * @example
   * const signup = new NodejsFunction(stack, 'Signup', { entry: 'src/signup.ts' });
   * scheduler.grantManageJobs(signup, { jobIdPrefix: 'signup-' });
   */
  grantManageJobs(grantee: iam.IGrantable, options: ClientGrantOptions = {}): iam.Grant {
    return this.grantClient(grantee, CLIENT_MANAGE, true, options);
  }

  /**
   * Lets `grantee` (a worker that runs jobs handed off with `completion: async`) report `heartbeat`,
   * `complete` or `fail` on the completions queue: sqs:SendMessage on that queue and nothing else — no
   * table access; the run context's `completionToken` is what authorizes each report. Give the worker
   * the queue URL (`scheduler.completions.queue.queueUrl`, output `CompletionsQueueUrl`).
   *
   * @example
   * const worker = new ecs.FargateService(stack, 'Worker', { … });
   * scheduler.grantReportCompletion(worker.taskDefinition.taskRole);
   */
  grantReportCompletion(grantee: iam.IGrantable): iam.Grant {
    return this.completions.grantReport(grantee);
  }

  private grantClient(
    grantee: iam.IGrantable,
    tableActions: string[],
    send: boolean,
    options: ClientGrantOptions,
  ): iam.Grant {
    const stack = Stack.of(this);
    const prefix = options.jobIdPrefix;
    if (prefix !== undefined) {
      const problem = jobIdPrefixProblem(prefix);
      if (problem) throw new Error(`Scheduler grant: jobIdPrefix ${JSON.stringify(prefix)}: ${problem}`);
    }
    let grant =
      prefix === undefined
        ? iam.Grant.addToPrincipal({
            grantee,
            actions: tableActions,
            // The table only, not `index/*`: the client's reads are GetItem, Query and Scan of the base table.
            resourceArns: [this.table.tableArn],
          })
        : iam.Grant.addToPrincipal({
            grantee,
            // No Scan: a Scan names no partition key, and ForAllValues over no key at all holds.
            actions: [
              ...tableActions.filter((action) => action !== 'dynamodb:Scan'),
              'dynamodb:BatchGetItem',
            ],
            resourceArns: [this.table.tableArn],
            conditions: {
              // Every partition key a request touches: this application's jobs (their job, run and definition
              // items share pk JOB#<id>), and the tag index (pk TAG#<key>=<value>, sk JOB#<id>), whose
              // partition key is the tag, not the job: docs/security.md says what that leaves open.
              'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`JOB#${prefix}*`, 'TAG#*'] },
              // …and at least one: a request naming none (Scan) is refused.
              Null: { 'dynamodb:LeadingKeys': 'false' },
            },
          });
    grant = grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['cloudformation:DescribeStacks'],
        // The stack's own id (its full ARN), not `stack/name/*`.
        resourceArns: [stack.stackId],
      }),
    );
    const key = this.table.encryptionKey;
    if (key) grant = grant.combine(send ? key.grantEncryptDecrypt(grantee) : key.grantDecrypt(grantee));
    // The grantee's policy now holds grantEncryptDecrypt's wildcard action families, on that one key.
    if (key && send && grantee.grantPrincipal instanceof Construct)
      acknowledgeKeyGrant(grantee.grantPrincipal);
    if (send) {
      grant = grant.combine(
        iam.Grant.addToPrincipal({
          grantee,
          // The queues are SQS-managed encrypted (SSE-SQS): sending needs no KMS permission.
          actions: ['sqs:SendMessage'],
          resourceArns: Object.values(this.pools).map((pool) => pool.queue.queueArn),
        }),
      );
    }
    return grant;
  }
}
