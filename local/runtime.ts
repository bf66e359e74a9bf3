/**
 * The local runtime: the same tick and executor handlers as in Lambda, on DynamoDB Local and the SQS
 * emulator. It creates the table and the queues with the settings the CDK stack uses, fires the tick on
 * an interval (EventBridge's role) and polls each pool's queue like Lambda's SQS event source mapping:
 * `concurrency` pollers per pool, the pool's batch size, partial batch responses, visibility timeout, redrive.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { createCompletionsHandler } from '../functions/completions.js';
import { createExecutorHandler } from '../functions/executor.js';
import { createTickHandler } from '../functions/tick.js';
import type { DevLiveness } from '../shared/client/connection.js';
import type { JobsFile, PoolDefinition, Target } from '../shared/jobs/types.js';
import { type ClaimDeps, putJob } from '../shared/ops/jobs.js';
import { SqsDispatcher } from '../shared/queue/dispatcher.js';
import { MAX_RECEIVE_COUNT, VISIBILITY_FACTOR } from '../shared/queue/policy.js';
import type { ExecuteOutcome } from '../shared/runs/execute.js';
import { type Log, type PoolRouting, silentLog } from '../shared/runs/lifecycle.js';
import { RecordingSignals } from '../shared/signals.js';
import type { RunItem } from '../shared/store/model.js';
import { Store } from '../shared/store/store.js';
import { ensureTable } from '../shared/store/table.js';
import type { TargetAccessPolicy } from '../shared/targets/access.js';
import type { EcsNetworkPolicy } from '../shared/targets/ecs-network.js';
import { createExternalCheck } from '../shared/targets/external.js';
import { defaultHandlers, type HandlerRegistry } from '../shared/targets/handlers.js';
import { invokeTarget } from '../shared/targets/index.js';
import { stackTag } from '../shared/targets/names.js';
import { LOCAL_TARGET_POLICY, type ResolvedTargetPolicy, TargetGuard } from '../shared/targets/policy.js';
import type { SecretResolver } from '../shared/targets/secrets.js';
import type { TargetClients } from '../shared/targets/types.js';
import { checkGroups, mergeReports, type TickInvoker } from '../shared/tick/fanout.js';
import { lookaheadFor } from '../shared/tick/lookahead.js';
import {
  DEFAULT_TICK_CONFIG,
  type TickConfig,
  type TickFaults,
  type TickReport,
} from '../shared/tick/tick.js';
import { errorMessage } from '../shared/util.js';
import {
  type Emulator,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  localDynamoClient,
  localSqsClient,
  startDynamoLocal,
  startSqsEmulator,
} from './emulators.js';
import { holdLiveness } from './liveness.js';
import { scanRuns } from './report.js';

export { MAX_RECEIVE_COUNT, VISIBILITY_FACTOR };

/**
 * Which of the stack's functions an AWS call is made as: on the stack each runs with its own role. The
 * runtime runs every handler (and each pool's event source mapping: its receives and deletes are the
 * executor role's) inside `awsCaller.run(…)`, so an SDK middleware can tell whose call it sees
 * (test/integration/iam.test.ts holds each against that function's role in the synthesized template).
 * Outside any (a put at start, a client's operations) it is undefined: the operator's own calls. The
 * events function (`aws-events`) has no event source here; tests that run its handler give its scope.
 */
export type AwsCaller =
  | { fn: 'tick' }
  | { fn: 'tick-worker' }
  | { fn: 'executor'; pool: string }
  | { fn: 'completions' }
  | { fn: 'aws-events' };
export const awsCaller = new AsyncLocalStorage<AwsCaller>();

export const DEFAULT_POOL: PoolDefinition = { concurrency: 2, timeout: 300_000, memorySize: 512 };

export interface LocalRuntimeOptions {
  /** Jobs (and pools) to put when the runtime starts. */
  jobs?: JobsFile;
  /** Tick interval, ms (EventBridge's rate(1 minute) is 60 000). */
  tickMs?: number;
  /** Keep DynamoDB Local's data on disk here; in memory when omitted. */
  dataDir?: string;
  /** Reuse running emulators instead of starting new ones (tests share one per file). */
  endpoints?: { dynamo: string; sqs: string };
  /** Names of the table and queues; unique per runtime by default so runtimes can share emulators. */
  name?: string;
  shards?: number;
  tick?: Partial<TickConfig>;
  faults?: TickFaults;
  handlers?: HandlerRegistry;
  log?: Log;
  clock?: () => number;
  /** Called for every message an executor handled. */
  onOutcome?: (outcome: ExecuteOutcome, pool: string) => void;
  onTick?: (report: TickReport) => void;
  /** Called as each further shard group's tick starts (`tick.groups` > 1); throw to fail that invocation. */
  onTickGroup?: (group: number) => void;
  /** Written once ready, so `punctual --local` finds this runtime. */
  stateFile?: string;
  /** Publish `Run Succeeded` events (as the construct's `successEvents`). Default false. */
  successEvents?: boolean;
  /**
   * Call AWS targets (lambda, eventbridge, stepfunctions, ecs, and sqs queues not on the emulator) with the
   * SDK's credential chain, in this region and profile. Without it their runs end skipped(aws-targets-off)
   * and nothing leaves the machine: a laptop's shell credentials are nobody's intended target.
   */
  awsTargets?: { region?: string; profile?: string };
  /**
   * Clients for AWS targets and for the sweep's look at stepfunctions/ecs executions and tasks (tests pass
   * stateful fakes: these services have no emulator here). A target type with a client here is called
   * with it, whatever `awsTargets` says.
   */
  awsClients?: Partial<Pick<TargetClients, 'lambda' | 'eventBridge' | 'sfn' | 'ecs'>> & { sqs?: SQSClient };
  /**
   * Where http targets may go (`punctual dev --target-policy FILE`, read with `parseTargetPolicy` over
   * `LOCAL_TARGET_POLICY`). Default `LOCAL_TARGET_POLICY`: the stack's default plus http and loopback,
   * where the echo server and the example worker listen.
   */
  targetPolicy?: ResolvedTargetPolicy;
  /** Where ecs tasks may be placed (AsyncTargets' `ecsNetwork` on a stack). Default: unchecked. */
  ecsNetwork?: EcsNetworkPolicy;
  /**
   * What each application's jobs may reach (the construct's `targetAccess` and `applications`, as ARNs or,
   * for the emulator's queues, queue URLs). Default: unchecked.
   */
  targetAccess?: TargetAccessPolicy;
  /** The declared secrets jobs may name (`punctual dev --secret NAME=ENV_VAR`); none by default. */
  secrets?: SecretResolver;
}

/**
 * Whether a target calls AWS: everything but http, handler and an sqs queue on the local emulator
 * (`sqsEndpoint`), where the example worker's queue lives.
 */
export function callsAws(target: Target, sqsEndpoint: string): boolean {
  if (target.type === 'http' || target.type === 'handler') return false;
  if (target.type === 'sqs') return new URL(target.queueUrl).origin !== new URL(sqsEndpoint).origin;
  return true;
}

export interface LocalPool extends PoolDefinition {
  name: string;
  queueUrl: string;
  dlqUrl: string;
  dlqArn: string;
}

export interface LocalState {
  pid: number;
  /** The loopback socket that answers while this runtime runs (local/liveness.ts). */
  liveness?: DevLiveness;
  startedAt: string;
  dynamoEndpoint: string;
  sqsEndpoint: string;
  region: string;
  tableName: string;
  shards: number;
  /** DynamoDB Local's data directory, when the data is on disk. */
  dataDir?: string;
  /** The tick's lookahead: an operation that claims a job's first slots at once claims as far ahead. */
  lookaheadMs: number;
  /** The handler names the executors hold: a put naming another is refused. */
  handlers: string[];
  /** The names (never the values) of the declared secrets: a put naming another is refused. */
  secrets: string[];
  /** What each application's jobs may reach, when given: a put reaching beyond is refused. */
  targetAccess?: TargetAccessPolicy;
  /** Where ecs tasks may be placed, when given: a put naming another subnet, group or a public IP is refused. */
  ecsNetwork?: EcsNetworkPolicy;
  pools: Record<
    string,
    { queueUrl: string; dlqUrl: string; dlqArn: string; concurrency: number; timeout: number }
  >;
  /** The completions queue (`{ runId, token, type, output | error }`), consumed like the stack's. */
  completionsQueueUrl: string;
  /** Its DLQ: a report that is not a completion message is kept there without its token. */
  completionsDlqUrl?: string;
}

export { lookaheadFor };

export class LocalRuntime {
  readonly signals: RecordingSignals;
  readonly store: Store;
  readonly dispatcher: SqsDispatcher;
  readonly routing: PoolRouting;
  readonly tickConfig: TickConfig;
  /** What operations need to claim a job's first slots at once (a put, a resume), as a tick would. */
  readonly claim: ClaimDeps;
  private stopping = false;
  private loops: Promise<void>[] = [];
  private tickTimer: NodeJS.Timeout | undefined;
  private ticksInFlight = 0;
  private readonly tickHandler: (invoker?: TickInvoker) => ReturnType<typeof createTickHandler>;
  private readonly executors = new Map<string, ReturnType<typeof createExecutorHandler>>();
  private readonly completions: ReturnType<typeof createCompletionsHandler>;
  readonly inFlight = new Map<string, number>();

  private constructor(
    readonly options: LocalRuntimeOptions,
    readonly dynamo: DynamoDBClient,
    readonly sqs: SQSClient,
    readonly state: LocalState,
    readonly pools: LocalPool[],
    private readonly owned: Emulator[],
  ) {
    const clock = options.clock ?? Date.now;
    const log = options.log ?? silentLog;
    this.signals = new RecordingSignals(clock);
    this.store = new Store(dynamo, { tableName: state.tableName, shards: state.shards });
    this.dispatcher = new SqsDispatcher(sqs);
    const byName = new Map(pools.map((pool) => [pool.name, pool]));
    this.routing = {
      queueUrl: (pool) => byName.get(pool)?.queueUrl,
      dlqUrl: (pool) => byName.get(pool)?.dlqUrl,
    };
    const tickMs = options.tickMs ?? 60_000;
    this.tickConfig = {
      ...DEFAULT_TICK_CONFIG,
      lookaheadMs: lookaheadFor(tickMs),
      budgetMs: Math.max(1_000, Math.round(tickMs * 0.75)),
      intervalMs: tickMs,
      // A local queue delivers on time or not at all (a kill -9 loses the in-memory emulator's messages):
      // re-send after two ticks (5 s at least, a minute at most) rather than after AWS's minute.
      deliveryGraceMs: Math.min(60_000, Math.max(5_000, 2 * tickMs)),
      ...options.tick,
    };
    const deps = {
      store: this.store,
      dispatcher: this.dispatcher,
      signals: this.signals,
      pools: this.routing,
      log,
      successEvents: options.successEvents ?? false,
    };
    this.claim = { deps: { ...deps, clock }, config: this.tickConfig };
    checkGroups(this.tickConfig.groups, this.store.shards);
    // AWS targets have no emulator here: they go to AWS only when asked (`awsTargets`), with the SDK's
    // own credentials; otherwise their runs end skipped(aws-targets-off) before anything is called.
    const aws = options.awsTargets;
    const awsConfig = aws
      ? { ...(aws.region ? { region: aws.region } : {}), ...(aws.profile ? { profile: aws.profile } : {}) }
      : { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
    const injected = options.awsClients ?? {};
    const lambda = injected.lambda ?? new LambdaClient(awsConfig);
    const eventBridge = injected.eventBridge ?? new EventBridgeClient(awsConfig);
    const remoteSqs = injected.sqs ?? (aws ? new SQSClient(awsConfig) : undefined);
    const sfn = injected.sfn ?? (aws ? new SFNClient(awsConfig) : undefined);
    const ecs = injected.ecs ?? (aws ? new ECSClient(awsConfig) : undefined);
    // As on a stack, the sweep asks Step Functions / ECS about their attempts before ending them, and the
    // executors stop the run a later slot replaces (overlap replace).
    const external =
      sfn || ecs
        ? {
            checkExternal: createExternalCheck(
              { ...(sfn ? { sfn } : {}), ...(ecs ? { ecs } : {}) },
              stackTag(state.tableName),
            ),
          }
        : {};
    const tickDeps = {
      ...deps,
      config: this.tickConfig,
      clock,
      ...(options.faults ? { faults: options.faults } : {}),
      ...external,
    };
    this.tickHandler = (invoker) => createTickHandler({ ...tickDeps, ...(invoker ? { invoker } : {}) });
    this.completions = createCompletionsHandler({
      ...deps,
      clock,
      ...(state.completionsDlqUrl ? { malformedTo: state.completionsDlqUrl } : {}),
    });
    const handlers = options.handlers ?? defaultHandlers;
    const sqsEndpoint = state.sqsEndpoint;
    const given = (target: Target) =>
      (target.type === 'stepfunctions' && injected.sfn) ||
      (target.type === 'ecs' && injected.ecs) ||
      (target.type === 'lambda' && injected.lambda) ||
      (target.type === 'eventbridge' && injected.eventBridge) ||
      (target.type === 'sqs' && injected.sqs);
    const refuseTarget = aws
      ? undefined
      : (target: Target) =>
          callsAws(target, sqsEndpoint) && !given(target) ? ('aws-targets-off' as const) : undefined;
    const policy = new TargetGuard(options.targetPolicy ?? LOCAL_TARGET_POLICY);
    // punctual's own queues, which no job may write to, as on a stack (shared/targets/reserved.ts).
    const reserved = {
      queueUrls: [...pools.flatMap((pool) => [pool.queueUrl, pool.dlqUrl]), state.completionsQueueUrl],
    };
    const clientsFor = (target: Target) => ({
      lambda,
      eventBridge,
      sqs: remoteSqs && callsAws(target, sqsEndpoint) ? remoteSqs : sqs,
      ...(sfn ? { sfn } : {}),
      ...(ecs ? { ecs } : {}),
      ...(options.secrets ? { secrets: options.secrets } : {}),
    });
    for (const pool of pools) {
      this.executors.set(
        pool.name,
        createExecutorHandler({
          ...deps,
          pool: pool.name,
          clock,
          ...external,
          ...(refuseTarget ? { refuseTarget } : {}),
          invoke: (target, context, signal) =>
            invokeTarget(target, context, {
              clients: clientsFor(target),
              handlers,
              signal,
              policy,
              reserved,
              ...(options.ecsNetwork ? { ecsNetwork: options.ecsNetwork } : {}),
              ...(options.targetAccess ? { access: options.targetAccess } : {}),
              stack: stackTag(state.tableName),
            }),
          onOutcome: (outcome, record) => {
            this.listeners.get(record.messageId)?.(outcome);
            options.onOutcome?.(outcome, pool.name);
          },
        }),
      );
    }
  }

  /** Starts (or joins) the emulators, creates the table and queues, puts the jobs. Does not tick yet. */
  static async start(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
    const owned: Emulator[] = [];
    try {
      let endpoints = options.endpoints;
      if (!endpoints) {
        const [dynamo, sqs] = await Promise.all([
          startDynamoLocal(options.dataDir ? { dataDir: options.dataDir } : {}),
          startSqsEmulator(),
        ]);
        owned.push(dynamo, sqs);
        endpoints = { dynamo: dynamo.endpoint, sqs: sqs.endpoint };
      }
      const dynamo = localDynamoClient(endpoints.dynamo);
      const sqs = localSqsClient(endpoints.sqs);
      const name = options.name ?? (options.dataDir ? 'punctual' : `punctual-${randomUUID().slice(0, 8)}`);
      await ensureTable(dynamo, name);
      const poolDefs: Record<string, PoolDefinition> = { default: DEFAULT_POOL, ...options.jobs?.pools };
      const pools = await Promise.all(
        Object.entries(poolDefs).map(([poolName, def]) => createPoolQueues(sqs, name, poolName, def)),
      );
      // The completions function's timeout is 30 s on the stack; its queue takes the same settings.
      const completions = await createPoolQueues(sqs, name, 'completions', {
        concurrency: 1,
        timeout: 30_000,
        memorySize: 256,
      });
      const state: LocalState = {
        pid: process.pid,
        startedAt: new Date().toISOString(),
        dynamoEndpoint: endpoints.dynamo,
        sqsEndpoint: endpoints.sqs,
        region: LOCAL_REGION,
        tableName: name,
        shards: options.shards ?? 4,
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        lookaheadMs: options.tick?.lookaheadMs ?? lookaheadFor(options.tickMs ?? 60_000),
        handlers: (options.handlers ?? defaultHandlers).names().sort(),
        secrets: [...(options.secrets?.names ?? [])].sort(),
        ...(options.targetAccess ? { targetAccess: options.targetAccess } : {}),
        ...(options.ecsNetwork ? { ecsNetwork: options.ecsNetwork } : {}),
        pools: Object.fromEntries(
          pools.map((pool) => [
            pool.name,
            {
              queueUrl: pool.queueUrl,
              dlqUrl: pool.dlqUrl,
              dlqArn: pool.dlqArn,
              concurrency: pool.concurrency,
              timeout: pool.timeout,
            },
          ]),
        ),
        completionsQueueUrl: completions.queueUrl,
        completionsDlqUrl: completions.dlqUrl,
      };
      const runtime = new LocalRuntime(options, dynamo, sqs, state, pools, owned);
      const now = (options.clock ?? Date.now)();
      // The file's calendars before its jobs, which may exclude them.
      for (const calendar of Object.values(options.jobs?.calendars ?? {}))
        await runtime.store.putCalendar(calendar, now);
      for (const job of options.jobs?.jobs ?? []) {
        await putJob(runtime.store, job, now, {
          pools: pools.map((pool) => pool.name),
          handlerNames: state.handlers,
          secretNames: state.secrets,
          ...(state.targetAccess ? { targetAccess: state.targetAccess } : {}),
          ...(state.ecsNetwork ? { ecsNetwork: state.ecsNetwork } : {}),
        });
      }
      if (options.stateFile) {
        // The state file says the runtime runs for as long as the process holds this socket.
        const held = await holdLiveness();
        owned.push({ endpoint: `tcp://127.0.0.1:${held.liveness.port}`, stop: held.stop });
        state.liveness = held.liveness;
        await mkdir(dirname(options.stateFile), { recursive: true });
        await writeFile(options.stateFile, `${JSON.stringify(state, null, 2)}\n`);
      }
      return runtime;
    } catch (error) {
      await Promise.all(owned.map((emulator) => emulator.stop()));
      throw error;
    }
  }

  /**
   * One tick, now: the coordinator and, with shard groups, each further group's tick (started without
   * waiting, as Lambda's asynchronous invoke does). Resolves when all of them ended, with their sum.
   */
  async tick(): Promise<TickReport> {
    const groups: Promise<TickReport | undefined>[] = [];
    const worker = this.tickHandler();
    const invoker: TickInvoker = {
      invokeGroup: async (request) => {
        const run = () =>
          awsCaller.run({ fn: 'tick-worker' }, async () => {
            this.options.onTickGroup?.(request.group);
            return worker(request, undefined);
          });
        groups.push(
          run().catch((error) => {
            // A failed invocation: its shards wait for the next tick, as on Lambda.
            this.options.log?.error('tick group failed', {
              group: request.group,
              error: errorMessage(error),
            });
            return undefined;
          }),
        );
      },
    };
    const coordinator = await awsCaller.run({ fn: 'tick' }, () => this.tickHandler(invoker)({}, undefined));
    const reports = (await Promise.all(groups)).filter((report) => report !== undefined);
    return mergeReports([coordinator, ...reports]);
  }

  /** Starts the tick interval and the pollers. */
  run(): void {
    const tickMs = this.options.tickMs ?? 60_000;
    const fire = () => {
      if (this.stopping) return;
      // EventBridge fires whether or not the last tick ended; two in flight at most keeps a slow
      // emulator from piling ticks up, and overlapping ticks are harmless by construction.
      if (this.ticksInFlight < 2) {
        this.ticksInFlight += 1;
        this.tick()
          .then((report) => this.options.onTick?.(report))
          .catch((error) => this.options.log?.error('tick failed', { error: errorMessage(error) }))
          .finally(() => {
            this.ticksInFlight -= 1;
          });
      }
    };
    fire();
    this.tickTimer = setInterval(fire, tickMs);
    for (const pool of this.pools) {
      for (let i = 0; i < pool.concurrency; i++) this.loops.push(this.poll(pool));
    }
    this.loops.push(this.pollCompletions());
  }

  /** The completions function's event source: batches of up to 10 reports, partial batch responses. */
  private async pollCompletions(): Promise<void> {
    while (!this.stopping) {
      try {
        if ((await this.drainCompletions({ waitSeconds: 1 })) === 0) continue;
      } catch (error) {
        if (this.stopping) return;
        this.options.log?.warn('completions receive failed', { error: errorMessage(error) });
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /**
   * Receives the reports waiting on the completions queue and applies them (tests call it to drive the
   * queue step by step). Returns how many messages it received.
   */
  async drainCompletions(options: { waitSeconds?: number } = {}): Promise<number> {
    return awsCaller.run({ fn: 'completions' }, () => this.receiveCompletions(options));
  }

  private async receiveCompletions(options: { waitSeconds?: number }): Promise<number> {
    const queueUrl = this.state.completionsQueueUrl;
    const { Messages = [] } = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: options.waitSeconds ?? 0,
        AttributeNames: ['All'],
      }),
    );
    if (!Messages.length) return 0;
    const pool = { name: 'completions' } as LocalPool;
    const event: SQSEvent = { Records: Messages.map((message) => toSqsRecord(message, pool)) };
    const response = await this.completions(event);
    const failed = new Set(response.batchItemFailures.map((item) => item.itemIdentifier));
    for (const message of Messages) {
      if (failed.has(message.MessageId ?? '')) continue;
      await this.sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }
    return Messages.length;
  }

  /** One poller: Lambda's event source mapping for one concurrent invocation, of the pool's batch size. */
  private poll(pool: LocalPool): Promise<void> {
    return awsCaller.run({ fn: 'executor', pool: pool.name }, () => this.pollAs(pool));
  }

  private async pollAs(pool: LocalPool): Promise<void> {
    while (!this.stopping) {
      let messages: Message[] = [];
      try {
        const result = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: pool.queueUrl,
            MaxNumberOfMessages: pool.batchSize ?? 1,
            WaitTimeSeconds: 1,
            AttributeNames: ['All'],
          }),
        );
        messages = result.Messages ?? [];
      } catch (error) {
        if (this.stopping) return;
        this.options.log?.warn('receive failed', { pool: pool.name, error: errorMessage(error) });
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (messages.length) await this.deliver(pool, messages);
    }
  }

  /**
   * Hands received messages to the pool's executor handler as one batch (one invocation) and settles
   * each as the ESM would. Returns the outcomes in the messages' order.
   */
  private async deliver(pool: LocalPool, messages: Message[]): Promise<(ExecuteOutcome | 'error')[]> {
    const handler = this.executors.get(pool.name)!;
    this.inFlight.set(pool.name, (this.inFlight.get(pool.name) ?? 0) + messages.length);
    const started = Date.now();
    const outcomes = new Map<string, ExecuteOutcome | 'error'>();
    const unsubscribe = messages.map((message) =>
      this.listen(message.MessageId ?? '', (value) => {
        outcomes.set(message.MessageId ?? '', value);
      }),
    );
    try {
      const response = await handler(
        { Records: messages.map((message) => toSqsRecord(message, pool)) },
        { getRemainingTimeInMillis: () => pool.timeout - (Date.now() - started) },
      );
      const failed = new Set(response.batchItemFailures.map((item) => item.itemIdentifier));
      // As the event source mapping does: delete what succeeded; a reported failure stays in the
      // queue and comes back after its visibility timeout (and to the DLQ after maxReceiveCount).
      for (const message of messages) {
        if (failed.has(message.MessageId ?? '')) outcomes.set(message.MessageId ?? '', 'error');
        else
          await this.sqs.send(
            new DeleteMessageCommand({ QueueUrl: pool.queueUrl, ReceiptHandle: message.ReceiptHandle }),
          );
      }
    } catch (error) {
      this.options.log?.error('executor invocation failed', { pool: pool.name, error: errorMessage(error) });
    } finally {
      for (const stop of unsubscribe) stop();
      this.inFlight.set(pool.name, (this.inFlight.get(pool.name) ?? messages.length) - messages.length);
    }
    return messages.map((message) => outcomes.get(message.MessageId ?? '') ?? 'error');
  }

  private readonly listeners = new Map<string, (outcome: ExecuteOutcome) => void>();

  private listen(messageId: string, fn: (outcome: ExecuteOutcome) => void): () => void {
    this.listeners.set(messageId, fn);
    return () => this.listeners.delete(messageId);
  }

  /**
   * Receives and handles every message visible now in a pool's queue, one at a time, until it is empty
   * (tests drive the executor step by step with it). Returns the outcomes in order.
   */
  async drain(poolName = 'default', options: { max?: number } = {}): Promise<(ExecuteOutcome | 'error')[]> {
    const pool = this.pools.find((candidate) => candidate.name === poolName);
    if (!pool) throw new Error(`no pool ${poolName}`);
    return awsCaller.run({ fn: 'executor', pool: pool.name }, () => this.drainAs(pool, options));
  }

  private async drainAs(pool: LocalPool, options: { max?: number }): Promise<(ExecuteOutcome | 'error')[]> {
    const outcomes: (ExecuteOutcome | 'error')[] = [];
    const max = options.max ?? 10_000;
    while (outcomes.length < max) {
      const { Messages } = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: pool.queueUrl,
          MaxNumberOfMessages: Math.min(10, max - outcomes.length),
          WaitTimeSeconds: 0,
          AttributeNames: ['All'],
        }),
      );
      if (!Messages?.length) break;
      // In batches of the pool's size, as its event source mapping delivers them.
      const size = pool.batchSize ?? 1;
      for (let i = 0; i < Messages.length; i += size)
        outcomes.push(...(await this.deliver(pool, Messages.slice(i, i + size))));
    }
    return outcomes;
  }

  /** Every run record in the table (tests and `--report`). */
  async allRuns(): Promise<RunItem[]> {
    const runs = await scanRuns(this.store);
    return runs.sort((a, b) => a.scheduledAt.localeCompare(b.scheduledAt) || a.runId.localeCompare(b.runId));
  }

  /** Queue depths (visible, in flight, delayed) of each pool's queue and DLQ. */
  async queueDepths(): Promise<
    Record<string, { queue: number; inFlight: number; delayed: number; dlq: number }>
  > {
    const out: Record<string, { queue: number; inFlight: number; delayed: number; dlq: number }> = {};
    for (const pool of this.pools) {
      const attrs = async (url: string) =>
        (await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })))
          .Attributes ?? {};
      const [queue, dlq] = await Promise.all([attrs(pool.queueUrl), attrs(pool.dlqUrl)]);
      out[pool.name] = {
        queue: Number(queue.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(queue.ApproximateNumberOfMessagesNotVisible ?? 0),
        delayed: Number(queue.ApproximateNumberOfMessagesDelayed ?? 0),
        dlq: Number(dlq.ApproximateNumberOfMessages ?? 0),
      };
    }
    return out;
  }

  /** Stops ticking, lets the pollers finish the message in hand, stops owned emulators. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    await Promise.allSettled(this.loops);
    for (let i = 0; i < 100 && this.ticksInFlight > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    this.dynamo.destroy();
    this.sqs.destroy();
    await Promise.all(this.owned.map((emulator) => emulator.stop()));
    if (this.options.stateFile) await rm(this.options.stateFile, { force: true });
  }
}

async function createPoolQueues(
  sqs: SQSClient,
  prefix: string,
  name: string,
  def: PoolDefinition,
): Promise<LocalPool> {
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-${name}-dlq`,
      Attributes: { MessageRetentionPeriod: '1209600' },
    }),
  );
  const dlqUrl = dlq.QueueUrl!;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const dlqArn = Attributes!.QueueArn!;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-${name}`,
      Attributes: {
        VisibilityTimeout: String(Math.ceil((def.timeout * VISIBILITY_FACTOR) / 1000)),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: MAX_RECEIVE_COUNT }),
      },
    }),
  );
  return { ...def, name, queueUrl: queue.QueueUrl!, dlqUrl, dlqArn };
}

function toSqsRecord(message: Message, pool: LocalPool): SQSRecord {
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp:
        message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${LOCAL_REGION}:000000000000:${pool.name}`,
    awsRegion: LOCAL_REGION,
  };
}
