/**
 * The system under the model test: the real store on DynamoDB Local, the real queue on the SQS emulator,
 * the real tick, sweep, executor and operations, each run as an *actor* on a manual clock.
 *
 * An actor is one process of the real deployment (a tick, a sweep, an executor handling one message, an
 * operator's CLI call). Every actor gets its own view of the store and the dispatcher (a Proxy), so the
 * harness can:
 *  - suspend it before each write (any async store method that is not a read, and every send): a
 *    *stepwise* actor stops there until a `step` command lets it go on, so the writes of several actors
 *    interleave in the order the program chose (reads run freely: a suspended actor keeps what it read);
 *  - kill it (`crash`): its suspended write and every later call fail, its target dies with it, and it
 *    never acknowledges its message — a Lambda that was stopped;
 *  - give it a skewed clock.
 *
 * SQS: every message really goes through the emulator, but its `DelaySeconds` is rewritten to 0 on the
 * way in and the delay is kept beside the message id in *manual* time, so delivery follows the manual
 * clock rather than the wall clock. The harness then plays Lambda's event source mapping by hand: it
 * receives what the emulator holds into an inbox and delivers a message when the program says so —
 * once, twice (SQS is at-least-once), or never (dropped). A message whose executor failed or died comes
 * back after the visibility timeout (manual time), and goes to the DLQ after five receives.
 */
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { LocalRuntime } from '../../local/runtime.js';
import type { Target } from '../../shared/jobs/types.js';
import { type CompletionReport, type ReportResult, reportCompletion } from '../../shared/runs/completion.js';
import { type ExecuteDeps, type ExecuteOutcome, executeMessage } from '../../shared/runs/execute.js';
import { silentLog } from '../../shared/runs/lifecycle.js';
import type { RunItem } from '../../shared/store/model.js';
import { createExternalCheck } from '../../shared/targets/external.js';
import { HandlerRegistry } from '../../shared/targets/handlers.js';
import { invokeTarget } from '../../shared/targets/invoke.js';
import { stackTag } from '../../shared/targets/names.js';
import { LOCAL_TARGET_POLICY, TargetGuard } from '../../shared/targets/policy.js';
import type { RunContext, TargetResult } from '../../shared/targets/types.js';
import { TargetError } from '../../shared/targets/types.js';
import { sweep } from '../../shared/tick/sweep.js';
import { DEFAULT_TICK_CONFIG, runTick, type TickConfig, type TickFaults } from '../../shared/tick/tick.js';
import { awsError, FakeEcs, FakeStepFunctions } from '../support/fake-aws.js';

/** The start of every case, 2026-12-01T00:00:00Z. */
export const T0 = Date.parse('2026-12-01T00:00:00.000Z');

/** Tick settings of the model: a one-second tick with a two-second lookahead. */
export const MODEL_TICK: TickConfig = {
  ...DEFAULT_TICK_CONFIG,
  lookaheadMs: 2_000,
  leaseMs: 10_000,
  budgetMs: 3_600_000,
  maxSlotsPerJob: 40,
  deliveryGraceMs: 5_000,
  intervalMs: 1_000,
};
/** The model jobs' target timeout (jobInput): the executor's deadline for an attempt. */
export const TARGET_TIMEOUT_MS = 20_000;
/** The executor's remaining time: with a 20 s target timeout the lease is 20 s + the 5 s margin. */
export const EXECUTOR_REMAINING_MS = 300_000;
/** How long a received message stays invisible when its executor failed or died (manual time). */
export const VISIBILITY_MS = 30_000;
/** Receives before the queue moves a message to the DLQ (as the stack's redrive policy). */
export const MAX_RECEIVES = 5;
/** The asynchronous model jobs' heartbeatTimeout and maxRunDuration (jobInput). */
export const HEARTBEAT_TIMEOUT_MS = 10_000;
export const MAX_RUN_DURATION_MS = 60_000;
/** How often a worker that keeps heartbeating sends one (half its timeout, as examples/worker.ts does). */
export const HEARTBEAT_EVERY_MS = 5_000;

/** Thrown into a dead actor's calls. */
export class ActorDead extends Error {
  constructor(actor: string, call: string) {
    super(`${actor} is dead (${call} not sent)`);
    this.name = 'ActorDead';
  }
}

export type ActorKind = 'tick' | 'sweep' | 'executor' | 'op';

export class Actor {
  dead = false;
  done = false;
  result: unknown;
  error: unknown;
  /** Calls through the proxies in progress. */
  active = 0;
  /** Suspended writes, each waiting for `step`. */
  readonly gates: { call: string; go: () => void }[] = [];
  /** Blocked in its target (an executor whose target the program holds). */
  inTarget = 0;
  /** Blocked in a sleep that waits for the manual clock. */
  sleeping = 0;
  promise: Promise<void> = Promise.resolve();
  /** True-time of the end (done or crash). */
  endedAt?: number;

  constructor(
    readonly id: number,
    readonly kind: ActorKind,
    readonly label: string,
    readonly stepwise: boolean,
    readonly skewMs: number,
  ) {}

  get blocked(): boolean {
    return this.gates.length > 0 || this.inTarget > 0 || this.sleeping > 0;
  }

  toString(): string {
    const at = this.gates.map((gate) => gate.call).join(',');
    return `#${this.id} ${this.label}${this.dead ? ' (dead)' : ''}${at ? ` @${at}` : ''}${this.inTarget ? ' (in target)' : ''}`;
  }
}

export interface Invocation {
  seq: number;
  actor: number;
  jobId: string;
  runId: string;
  attempt: number;
  /** A run of the schedule (not manual, backfill or replay): the ones overlap and pause apply to. */
  scheduled: boolean;
  overlap: string;
  /** The job's overlap policy when the attempt started, as the model judges it (Model.onInvoke). */
  policyAtStart?: 'strict' | 'allow' | 'either';
  scheduledAt: number;
  /** True time and the executor's own clock at the start. */
  at: number;
  localAt: number;
  state: 'held' | 'active' | 'ok' | 'failed' | 'crashed';
  endedAt?: number;
  finish?: (outcome: 'ok' | 'fail' | 'final') => void;
  signal: AbortSignal;
  /**
   * An asynchronous attempt: once handed off (`handed`) it runs outside its executor (a worker, an
   * execution, a task), so the executor's death does not end it. A worker is alive while it keeps its
   * heartbeat deadline and maxRunDuration (`beatAt`: its last accepted heartbeat, or the hand-off); one
   * that does not is given up (`crashed`: by the contract it stopped), though it may still report late.
   */
  external?: 'worker' | 'stepfunctions' | 'ecs';
  handed?: boolean;
  token?: string;
  beatAt?: number;
  /** A worker that keeps heartbeating while the clock moves (until it stalls, reports its end or dies). */
  beating?: boolean;
}

export interface InboxMessage {
  seq: number;
  messageId: string;
  receipt: string;
  body: string;
  runId: string;
  attempt: number;
  visibleAt: number;
  receives: number;
  inFlight: boolean;
}

/** What a job's target does when the program does not hold it. */
export type TargetMode = 'ok' | 'fail' | 'flaky';

/**
 * Where a model job's runs go: the harness's handler (sync), or an asynchronous target. An asynchronous
 * target's hand-off call has a 5 s timeout, so the executor's lease (35 s) ends well before the 60 s
 * maxRunDuration: an attempt the sweep wrongly judged by the lease would be retried beside a live worker.
 */
export type TargetKind = 'sync' | 'worker' | 'stepfunctions' | 'ecs';

export const MODEL_STATE_MACHINE = 'arn:aws:states:us-east-1:111122223333:stateMachine:model';
export const MODEL_WORK_QUEUE = 'https://sqs.us-east-1.amazonaws.com/111122223333/model-work';

/** The target of a model job of each kind. */
export function targetOf(kind: TargetKind): Record<string, unknown> {
  switch (kind) {
    case 'sync':
      return { type: 'handler', name: 'model', timeout: '20s' };
    case 'worker':
      return { type: 'sqs', queueUrl: MODEL_WORK_QUEUE, completion: 'async', timeout: '5s' };
    case 'stepfunctions':
      return { type: 'stepfunctions', stateMachineArn: MODEL_STATE_MACHINE, timeout: '5s' };
    case 'ecs':
      return {
        type: 'ecs',
        cluster: 'model',
        taskDefinition: 'model:1',
        containerName: 'app',
        launchType: 'FARGATE',
        network: { subnets: ['subnet-0123abcd'] },
        timeout: '5s',
      };
  }
}

export interface SystemHooks {
  /** Called at each target invocation, before it runs (the model checks its invariants there). */
  onInvoke(invocation: Invocation, run: RunItem | undefined): void;
  /** The mode of a job's target. */
  modeOf(jobId: string): TargetMode;
  /** Error text of a failing attempt (long for the big jobs). */
  errorOf(jobId: string): string;
}

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;

/** Reads never suspend an actor: only its writes are interleaving points. */
function isRead(name: string): boolean {
  return /^(get|query|scan)/.test(name);
}

export class ModelSystem {
  now = T0;
  private actorSeq = 0;
  private invocationSeq = 0;
  private messageSeq = 0;
  readonly actors: Actor[] = [];
  readonly invocations: Invocation[] = [];
  readonly inbox: InboxMessage[] = [];
  /** Messages that went to the DLQ after MAX_RECEIVES (by run id). */
  readonly deadLettered: string[] = [];
  /** Manual-time visibility of each message id, recorded as it is sent. */
  private readonly visibleAt = new Map<string, number>();
  private readonly sleepers: { at: number; wake: () => void; actor: Actor }[] = [];
  /** Errors the harness did not inject, thrown by an actor (a bug, or a write DynamoDB refused). */
  readonly actorErrors: { actor: string; error: string }[] = [];
  /** Stateful fakes of Step Functions and ECS (test/support/fake-aws.ts) the targets and the sweep call. */
  readonly sfn: FakeStepFunctions;
  readonly ecs = new FakeEcs();
  /** Until when (true time) every Describe/List call of the sweep fails (AccessDenied). */
  describeFailsUntil = Number.NEGATIVE_INFINITY;
  readonly tickConfig: TickConfig;
  private readonly checkExternal: ReturnType<typeof createExternalCheck>;
  private readonly policy = new TargetGuard(LOCAL_TARGET_POLICY);

  private constructor(
    readonly runtime: LocalRuntime,
    private readonly hooks: SystemHooks,
    groups: number,
  ) {
    this.installDelayLayer();
    this.sfn = new FakeStepFunctions(() => this.now);
    const describeFault = (command: string) =>
      this.now < this.describeFailsUntil && /^(Describe|List)/.test(command)
        ? awsError('AccessDeniedException', `model: ${command} denied`)
        : undefined;
    this.sfn.fault = describeFault;
    this.ecs.fault = describeFault;
    this.checkExternal = createExternalCheck(
      { sfn: this.sfn.client, ecs: this.ecs.client },
      stackTag(runtime.state.tableName),
    );
    this.tickConfig = { ...MODEL_TICK, groups };
  }

  /** `groups`: tick shard groups (the store gets one shard per group). */
  static async start(
    endpoints: { dynamo: string; sqs: string },
    hooks: SystemHooks,
    groups = 1,
  ): Promise<ModelSystem> {
    let system: ModelSystem | undefined;
    const runtime = await LocalRuntime.start({
      endpoints,
      clock: () => system?.now ?? T0,
      jobs: { pools: { default: { concurrency: 4, timeout: 60_000, memorySize: 512 } }, jobs: [] },
      tick: { ...MODEL_TICK, groups },
      // One shard a tick group: the due and open indexes are each one query a group (the shards are the
      // store's, not the model's, concern).
      shards: groups,
    });
    system = new ModelSystem(runtime, hooks, groups);
    return system;
  }

  async stop(): Promise<void> {
    for (const actor of this.actors) this.kill(actor);
    await this.runtime.stop();
  }

  get queueUrl(): string {
    return this.runtime.pools[0]!.queueUrl;
  }

  /** Rewrites DelaySeconds to 0 and keeps the delay in manual time, by message id. */
  private installDelayLayer() {
    type Args = { input: unknown };
    type Next = (args: Args) => Promise<{ output: unknown }>;
    const stack = this.runtime.sqs.middlewareStack as unknown as {
      add(mw: (next: Next, context: { commandName?: string }) => Next, options: object): void;
    };
    stack.add(
      (next, context) => async (args) => {
        const now = this.now;
        if (context.commandName === 'SendMessageCommand') {
          const input = args.input as { DelaySeconds?: number };
          const delay = input.DelaySeconds ?? 0;
          const result = await next({ ...args, input: { ...input, DelaySeconds: 0 } });
          const id = (result.output as { MessageId?: string }).MessageId;
          if (id) this.visibleAt.set(id, now + delay * 1000);
          return result;
        }
        if (context.commandName === 'SendMessageBatchCommand') {
          const input = args.input as { Entries?: { Id?: string; DelaySeconds?: number }[] };
          const delays = new Map((input.Entries ?? []).map((entry) => [entry.Id, entry.DelaySeconds ?? 0]));
          const result = await next({
            ...args,
            input: {
              ...input,
              Entries: (input.Entries ?? []).map((entry) => ({ ...entry, DelaySeconds: 0 })),
            },
          });
          for (const entry of (result.output as { Successful?: { Id?: string; MessageId?: string }[] })
            .Successful ?? []) {
            if (entry.MessageId)
              this.visibleAt.set(entry.MessageId, now + (delays.get(entry.Id) ?? 0) * 1000);
          }
          return result;
        }
        return next(args);
      },
      { step: 'initialize', name: 'modelDelays' },
    );
  }

  // ---- the clock ----

  /**
   * Moves the clock. A held target whose deadline (the job's 20 s target timeout, a wall-clock timer in
   * the executor) falls within the move ends there, as a timeout, before the clock goes on: under a manual
   * clock the program could otherwise hold a target longer than any real executor would.
   */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      const due = this.invocations
        .filter((i) => i.state === 'held' && i.at + TARGET_TIMEOUT_MS <= target)
        .sort((a, b) => a.at - b.at)[0];
      // A worker that keeps heartbeating sends one every HEARTBEAT_EVERY_MS.
      const beat = this.invocations
        .filter((i) => i.beating && i.state === 'active' && (i.beatAt ?? i.at) + HEARTBEAT_EVERY_MS <= target)
        .sort((a, b) => (a.beatAt ?? a.at) - (b.beatAt ?? b.at))[0];
      const dueAt = due ? due.at + TARGET_TIMEOUT_MS : Number.POSITIVE_INFINITY;
      const beatAt = beat ? (beat.beatAt ?? beat.at) + HEARTBEAT_EVERY_MS : Number.POSITIVE_INFINITY;
      if (!due && !beat) break;
      const at = Math.max(this.now, Math.min(dueAt, beatAt));
      this.giveUpWorkers(at);
      this.moveTo(at);
      if (due && dueAt <= beatAt) await this.finish(due, 'fail');
      else if (beat?.state === 'active') await this.report(beat, 'heartbeat');
      else if (beat) beat.beating = false;
    }
    this.giveUpWorkers(target);
    this.moveTo(target);
  }

  /**
   * A worker that missed its heartbeat deadline or ran past maxRunDuration by `at` has stopped, as its
   * contract says (it may still send a late report: `report`).
   */
  private giveUpWorkers(at: number): void {
    for (const invocation of this.invocations) {
      if (invocation.external !== 'worker' || invocation.state !== 'active' || !invocation.handed) continue;
      const timeout = invocation.at + MAX_RUN_DURATION_MS;
      const until = Math.min((invocation.beatAt ?? invocation.at) + HEARTBEAT_TIMEOUT_MS, timeout);
      if (until <= at) {
        // Past maxRunDuration it timed out (failed); silent past its heartbeat deadline it stopped.
        invocation.state = until === timeout ? 'failed' : 'crashed';
        invocation.endedAt = until;
        invocation.beating = false;
      }
    }
  }

  private moveTo(at: number): void {
    this.now = at;
    for (const sleeper of [...this.sleepers]) {
      if (sleeper.at <= this.now) {
        this.sleepers.splice(this.sleepers.indexOf(sleeper), 1);
        sleeper.wake();
      }
    }
  }

  private clockOf(actor: Actor): () => number {
    return () => this.now + actor.skewMs;
  }

  // ---- actors ----

  private async checkpoint(actor: Actor, call: string): Promise<void> {
    if (actor.dead) throw new ActorDead(actor.label, call);
    if (actor.stepwise) await new Promise<void>((go) => actor.gates.push({ call, go }));
    if (actor.dead) throw new ActorDead(actor.label, call);
  }

  /** The actor's view of an object: every async method counted, writes suspended when stepwise. */
  private view<T extends object>(target: T, actor: Actor): T {
    return new Proxy(target, {
      get: (object, property) => {
        const value = Reflect.get(object, property, object);
        if (typeof value !== 'function') return value;
        if (!(value instanceof AsyncFunction)) return value.bind(object);
        const name = String(property);
        return async (...args: unknown[]) => {
          if (isRead(name)) {
            if (actor.dead) throw new ActorDead(actor.label, name);
          } else await this.checkpoint(actor, name);
          actor.active += 1;
          try {
            return await value.apply(object, args);
          } finally {
            actor.active -= 1;
          }
        };
      },
    });
  }

  private spawn(
    kind: ActorKind,
    label: string,
    stepwise: boolean,
    skewMs: number,
    body: (actor: Actor) => Promise<unknown>,
  ): Actor {
    const actor = new Actor(++this.actorSeq, kind, label, stepwise, skewMs);
    this.actors.push(actor);
    actor.promise = body(actor)
      .then(
        (result) => {
          actor.result = result;
        },
        (error) => {
          actor.error = error;
        },
      )
      .finally(() => {
        actor.done = true;
        actor.endedAt ??= this.now;
      });
    return actor;
  }

  /** Waits until the actor has finished or is blocked (suspended, in its target, asleep) with nothing in flight. */
  async settle(actor: Actor): Promise<void> {
    let quiet = 0;
    for (let i = 0; i < 20_000; i++) {
      if (actor.done) return;
      await new Promise((resolve) => setImmediate(resolve));
      if (actor.active === 0 && actor.blocked) quiet += 1;
      else quiet = 0;
      if (quiet >= 3) return;
      if (quiet === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    throw new Error(`harness: actor ${actor} neither finished nor blocked`);
  }

  /** Lets a suspended actor go on to its next write (or its end). */
  async step(actor: Actor): Promise<void> {
    const gates = actor.gates.splice(0);
    for (const gate of gates) gate.go();
    await this.settle(actor);
  }

  /** Kills an actor: its suspended and later calls fail, its target dies with it. */
  kill(actor: Actor): void {
    if (actor.done || actor.dead) return;
    actor.dead = true;
    actor.endedAt = this.now;
    for (const invocation of this.invocations) {
      if (
        invocation.actor === actor.id &&
        !invocation.handed &&
        (invocation.state === 'held' || invocation.state === 'active')
      ) {
        invocation.state = 'crashed';
        invocation.endedAt = this.now;
      }
    }
    for (const gate of actor.gates.splice(0)) gate.go();
    for (const sleeper of this.sleepers.filter((s) => s.actor === actor)) {
      this.sleepers.splice(this.sleepers.indexOf(sleeper), 1);
      sleeper.wake();
    }
  }

  live(): Actor[] {
    return this.actors.filter((actor) => !actor.done && !actor.dead);
  }

  private record(actor: Actor, error: unknown) {
    if (actor.dead || error instanceof ActorDead) return;
    this.actorErrors.push({ actor: actor.label, error: (error as Error)?.stack ?? String(error) });
  }

  // ---- tick and sweep ----

  tick(options: {
    stepwise: boolean;
    skewMs: number;
    crashAt?: 'beforeSend' | 'beforeAdvance';
    group?: number;
  }): Actor {
    const group = (options.group ?? 0) % this.tickConfig.groups;
    const label = `tick${this.tickConfig.groups > 1 ? ` group ${group}` : ''}${options.crashAt ? ` dying ${options.crashAt}` : ''}${options.skewMs ? ` skew ${options.skewMs}` : ''}`;
    return this.spawn('tick', label, options.stepwise, options.skewMs, async (actor) => {
      const die = () => {
        actor.dead = true;
        throw new ActorDead(actor.label, options.crashAt!);
      };
      const faults: TickFaults = {};
      if (options.crashAt === 'beforeSend') faults.beforeSend = die;
      if (options.crashAt === 'beforeAdvance') faults.beforeAdvance = die;
      const report = await runTick(
        {
          store: this.view(this.runtime.store, actor),
          dispatcher: this.view(this.runtime.dispatcher, actor),
          signals: this.runtime.signals,
          pools: this.runtime.routing,
          log: silentLog,
          clock: this.clockOf(actor),
          faults,
          checkExternal: this.checkExternal,
        },
        this.tickConfig,
        { group },
      );
      for (const error of report.errors) {
        if (!/is dead/.test(error.error))
          this.record(actor, new Error(`tick: ${error.jobId}: ${error.error}`));
      }
      return report;
    });
  }

  sweep(options: { stepwise: boolean; skewMs: number }): Actor {
    return this.spawn(
      'sweep',
      `sweep${options.skewMs ? ` skew ${options.skewMs}` : ''}`,
      options.stepwise,
      options.skewMs,
      async (actor) => {
        try {
          return await sweep(
            {
              store: this.view(this.runtime.store, actor),
              dispatcher: this.view(this.runtime.dispatcher, actor),
              signals: this.runtime.signals,
              pools: this.runtime.routing,
              log: silentLog,
              checkExternal: this.checkExternal,
            },
            {
              now: this.clockOf(actor)(),
              graceMs: MODEL_TICK.deliveryGraceMs,
              pageSize: MODEL_TICK.pageSize,
              outOfTime: () => false,
            },
          );
        } catch (error) {
          this.record(actor, error);
          throw error;
        }
      },
    );
  }

  // ---- operations ----

  op(
    label: string,
    options: { stepwise: boolean; skewMs: number },
    body: (deps: ExecuteDeps, now: number) => Promise<unknown>,
    accept: (error: unknown) => boolean,
  ): Actor {
    return this.spawn('op', label, options.stepwise, options.skewMs, async (actor) => {
      const clock = this.clockOf(actor);
      try {
        return await body(this.deps(actor), clock());
      } catch (error) {
        if (!accept(error)) this.record(actor, error);
        throw error;
      }
    });
  }

  private deps(actor: Actor): ExecuteDeps {
    return {
      store: this.view(this.runtime.store, actor),
      dispatcher: this.view(this.runtime.dispatcher, actor),
      signals: this.runtime.signals,
      pools: this.runtime.routing,
      log: silentLog,
      clock: this.clockOf(actor),
      sleep: (ms) => this.sleep(actor, ms),
      // Overlap replace: the executor stops the execution or task of the run it replaces.
      checkExternal: this.checkExternal,
      invoke: (target, context, signal) => this.invoke(actor, target, context, signal),
    };
  }

  // ---- the queue and the executors ----

  /** Moves what the emulator holds into the inbox. */
  async receive(): Promise<void> {
    for (;;) {
      const { Messages } = await this.runtime.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (!Messages?.length) return;
      for (const message of Messages) {
        const id = message.MessageId ?? '';
        let runId = '?';
        let attempt = 0;
        try {
          const body = JSON.parse(message.Body ?? '{}') as { runId?: string; attempt?: number };
          runId = String(body.runId ?? '?');
          attempt = Number(body.attempt ?? 0);
        } catch {}
        this.inbox.push({
          seq: ++this.messageSeq,
          messageId: id,
          receipt: message.ReceiptHandle ?? '',
          body: message.Body ?? '',
          runId,
          attempt,
          visibleAt: this.visibleAt.get(id) ?? this.now,
          receives: 0,
          inFlight: false,
        });
      }
    }
  }

  visible(): InboxMessage[] {
    return this.inbox.filter((message) => !message.inFlight && message.visibleAt <= this.now);
  }

  private async forget(message: InboxMessage) {
    const at = this.inbox.indexOf(message);
    if (at >= 0) this.inbox.splice(at, 1);
    await this.runtime.sqs.send(
      new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: message.receipt }),
    );
  }

  /** SQS lost it. */
  async drop(message: InboxMessage): Promise<void> {
    await this.forget(message);
  }

  /**
   * An executor takes the message. `duplicate`: SQS hands the same message to a second executor while it
   * stays in the queue. `hold`: the target waits for `finish` (or the executor's death).
   */
  deliver(
    message: InboxMessage,
    options: { duplicate: boolean; hold: boolean; stepwise: boolean; skewMs: number },
  ): Actor {
    if (!options.duplicate) {
      message.inFlight = true;
      message.receives += 1;
    }
    const label = `executor ${message.runId}#${message.attempt}${options.duplicate ? ' (dup)' : ''}${options.hold ? ' (hold)' : ''}${options.skewMs ? ` skew ${options.skewMs}` : ''}`;
    const actor = this.spawn('executor', label, options.stepwise, options.skewMs, async (a) => {
      (a as Actor & { hold?: boolean }).hold = options.hold;
      try {
        return await executeMessage(this.deps(a), message.body, {
          pool: 'default',
          remainingMs: () => EXECUTOR_REMAINING_MS,
          graceMs: MODEL_TICK.deliveryGraceMs,
        });
      } catch (error) {
        this.record(a, error);
        throw error;
      }
    });
    if (!options.duplicate) {
      void actor.promise.then(async () => {
        if (actor.error === undefined && !actor.dead) {
          await this.forget(message);
          return;
        }
        // Not acknowledged: back after the visibility timeout, to the DLQ after MAX_RECEIVES.
        message.inFlight = false;
        message.visibleAt = (actor.endedAt ?? this.now) + VISIBILITY_MS;
        if (message.receives >= MAX_RECEIVES) {
          this.deadLettered.push(message.runId);
          await this.forget(message);
        }
      });
    }
    return actor;
  }

  /** A crashed executor's message comes back after the visibility timeout. */
  crashed(actor: Actor): void {
    this.kill(actor);
  }

  private async sleep(actor: Actor, ms: number): Promise<void> {
    if (actor.dead) throw new ActorDead(actor.label, 'sleep');
    actor.sleeping += 1;
    try {
      await new Promise<void>((wake) => this.sleepers.push({ at: this.now + ms, wake, actor }));
    } finally {
      actor.sleeping -= 1;
    }
    if (actor.dead) throw new ActorDead(actor.label, 'sleep');
  }

  private async invoke(
    actor: Actor,
    target: Target,
    context: RunContext,
    signal: AbortSignal,
  ): Promise<TargetResult> {
    const run = await this.runtime.store.getRun(context.runId);
    this.syncExternal();
    const external =
      target.type === 'stepfunctions' || target.type === 'ecs'
        ? target.type
        : context.completionToken
          ? ('worker' as const)
          : undefined;
    const invocation: Invocation = {
      seq: ++this.invocationSeq,
      actor: actor.id,
      jobId: context.jobId,
      runId: context.runId,
      attempt: context.attempt,
      scheduled: !context.manual && !run?.backfill && !run?.replays,
      overlap: run?.definition.overlap ?? 'skip',
      scheduledAt: Date.parse(context.scheduledAt),
      at: this.now,
      localAt: this.now + actor.skewMs,
      state: 'active',
      signal,
      ...(external ? { external } : {}),
      ...(context.completionToken ? { token: context.completionToken } : {}),
    };
    this.invocations.push(invocation);
    this.hooks.onInvoke(invocation, run);
    if (external === 'stepfunctions' || external === 'ecs') {
      // The real target code against the fakes: StartExecution / RunTask, names and tokens as on AWS.
      try {
        const result = await invokeTarget(target, context, {
          clients: {
            sfn: this.sfn.client,
            ecs: this.ecs.client,
          } as unknown as Parameters<typeof invokeTarget>[2]['clients'],
          handlers: new HandlerRegistry(),
          signal,
          policy: this.policy,
          stack: stackTag(this.runtime.state.tableName),
        });
        invocation.handed = true;
        invocation.beatAt = this.now;
        return result;
      } catch (error) {
        invocation.state = 'failed';
        invocation.endedAt = this.now;
        throw error;
      }
    }
    if (external === 'worker') {
      // The message is on the worker's queue and a worker has it: it runs until it reports, stops
      // heartbeating or dies (the program's `report` steps).
      invocation.handed = true;
      invocation.beatAt = this.now;
      return { detail: 'handed to the model worker' };
    }
    const hold = (actor as Actor & { hold?: boolean }).hold;
    const mode = this.hooks.modeOf(context.jobId);
    let outcome: 'ok' | 'fail' | 'final';
    if (hold) {
      invocation.state = 'held';
      actor.inTarget += 1;
      try {
        outcome = await new Promise<'ok' | 'fail' | 'final'>((resolve) => {
          invocation.finish = resolve;
        });
      } finally {
        actor.inTarget -= 1;
      }
    } else
      outcome = mode === 'ok' ? 'ok' : mode === 'fail' ? 'fail' : context.attempt % 2 === 1 ? 'fail' : 'ok';
    invocation.endedAt = this.now;
    // The real deadline is a wall-clock timer (runTarget's setTimeout): if it fired while the program held
    // the target, the executor records a timeout, and so does the model.
    if (outcome === 'ok' && !signal.aborted) {
      invocation.state = 'ok';
      return { detail: 'model' };
    }
    invocation.state = 'failed';
    throw new TargetError(`model target failed: ${this.hooks.errorOf(context.jobId)}`, outcome !== 'final');
  }

  // ---- asynchronous targets ----

  /** The execution or task an invocation started (the latest of its run with its token). */
  externalOf(invocation: Invocation) {
    if (invocation.external === 'stepfunctions')
      return this.sfn
        .ofRun(invocation.runId)
        .find(
          (e) => (JSON.parse(e.input) as { completionToken?: string }).completionToken === invocation.token,
        );
    if (invocation.external === 'ecs')
      return this.ecs
        .ofRun(invocation.runId)
        .find((t) =>
          (t.overrides.containerOverrides ?? []).some((o) =>
            (o.environment ?? []).some(
              (e) => e.name === 'PUNCTUAL_COMPLETION_TOKEN' && e.value === invocation.token,
            ),
          ),
        );
    return undefined;
  }

  /** Invocations of executions and tasks follow the fakes: in the target while RUNNING / not STOPPED. */
  syncExternal(): void {
    for (const invocation of this.invocations) {
      if (!invocation.handed || invocation.state !== 'active') continue;
      if (invocation.external === 'stepfunctions') {
        const execution = this.externalOf(invocation) as { status: string } | undefined;
        if (!execution || execution.status === 'RUNNING') continue;
        invocation.state = execution.status === 'SUCCEEDED' ? 'ok' : 'failed';
        invocation.endedAt = this.now;
      } else if (invocation.external === 'ecs') {
        const task = this.externalOf(invocation) as
          | { lastStatus: string; containers: { exitCode?: number }[] }
          | undefined;
        if (task?.lastStatus !== 'STOPPED') continue;
        invocation.state = task.containers[0]?.exitCode === 0 ? 'ok' : 'failed';
        invocation.endedAt = this.now;
      }
    }
  }

  /** Ends an execution or task by itself (it succeeded or failed); ECS tasks asked to stop stop. */
  endExternal(invocation: Invocation, outcome: 'ok' | 'fail'): void {
    if (invocation.external === 'stepfunctions') {
      const execution = this.externalOf(invocation) as { executionArn: string; status: string } | undefined;
      if (execution?.status === 'RUNNING')
        this.sfn.finish(
          execution.executionArn,
          outcome === 'ok' ? 'SUCCEEDED' : 'FAILED',
          outcome === 'ok' ? { output: '{"model":true}' } : { error: 'Model.Failed', cause: 'model' },
        );
    } else if (invocation.external === 'ecs') {
      const task = this.externalOf(invocation) as { taskArn: string; lastStatus: string } | undefined;
      if (task && task.lastStatus !== 'STOPPED') this.ecs.exit(task.taskArn, outcome === 'ok' ? 0 : 1);
    }
    this.syncExternal();
  }

  /**
   * A worker's report through the client (as `punctual runs heartbeat|complete|fail` does), by its
   * token; a heartbeat accepted keeps it alive, an end accepted ends it, a refusal makes it stop.
   */
  async report(invocation: Invocation, type: CompletionReport['type']): Promise<ReportResult | undefined> {
    if (!invocation.token) return undefined;
    const result = await reportCompletion(
      {
        store: this.runtime.store,
        dispatcher: this.runtime.dispatcher,
        signals: this.runtime.signals,
        pools: this.runtime.routing,
        log: silentLog,
        graceMs: MODEL_TICK.deliveryGraceMs,
      },
      {
        runId: invocation.runId,
        token: invocation.token,
        type,
        ...(type === 'complete' ? { output: { model: true } } : {}),
        ...(type === 'fail' ? { error: 'model worker failed' } : {}),
      },
      this.now,
    );
    const alive = invocation.state === 'active';
    // Accepted: the attempt was still this worker's (a late one the sweep had not judged yet lives on).
    if (result.ok && result.outcome === 'heartbeat') {
      invocation.state = 'active';
      invocation.beatAt = this.now;
      invocation.endedAt = undefined;
    } else if (result.ok && result.outcome !== 'duplicate') {
      invocation.state = type === 'complete' ? 'ok' : 'failed';
      invocation.endedAt = this.now;
      invocation.beating = false;
    } else if (!result.ok && alive) {
      invocation.state = 'crashed';
      invocation.endedAt = this.now;
      invocation.beating = false;
    }
    return result;
  }

  /** Ends a held target. */
  async finish(invocation: Invocation, outcome: 'ok' | 'fail' | 'final'): Promise<void> {
    const actor = this.actors.find((candidate) => candidate.id === invocation.actor)!;
    if (invocation.state !== 'held' || !invocation.finish) return;
    invocation.finish(outcome);
    invocation.finish = undefined;
    await this.settle(actor);
  }

  // ---- the table ----

  async scan(): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.runtime.store.doc.send(
        new ScanCommand({
          TableName: this.runtime.state.tableName,
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }
}

export type { ExecuteOutcome };
