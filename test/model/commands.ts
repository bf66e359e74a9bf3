/**
 * The steps of a program (fast-check commands) and the case runner: set up the jobs, run the program with
 * the invariants checked after every step, then let the system run its course (quiescence) and check the
 * end state. Shared by test/integration/model.test.ts and `npm run chaos -- model`.
 */
import fc from 'fast-check';
import { PunctualError } from '../../shared/errors.js';
import { deleteJob, type PutResult, pauseJob, putJob, resumeJob, triggerJob } from '../../shared/ops/jobs.js';
import { backfill, replayRun } from '../../shared/ops/runs.js';
import type { RunItem } from '../../shared/store/model.js';
import { iso, type JobModel, type JobSpec, jobInput, MAX_SKEW_MS, Model, type Span } from './model.js';
import { type Actor, MODEL_TICK, ModelSystem, T0 } from './system.js';

export interface Ctx {
  system: ModelSystem;
  model: Model;
  log: string[];
}

type Command = fc.AsyncCommand<Model, Ctx, boolean>;

const started = Date.now();

/** After every step: scan the table, check, throw at the first violation (fast-check shrinks from there). */
export async function afterStep(ctx: Ctx, label: string): Promise<void> {
  ctx.model.steps += 1;
  ctx.log.push(
    `${iso(ctx.system.now)} ${label}${process.env.MODEL_DEBUG ? ` [${Date.now() - started} ms]` : ''}`,
  );
  for (const error of ctx.system.actorErrors.splice(0))
    ctx.model.fail(
      'actor failed with an error nobody injected',
      `${error.actor}: ${error.error.split('\n').slice(0, 3).join(' ')}`,
    );
  ctx.model.checkState(await ctx.system.scan(), ctx.system.invocations);
  if (ctx.model.violations.length) throw new ModelViolation(ctx);
}

export class ModelViolation extends Error {
  constructor(ctx: Ctx) {
    super(
      `${ctx.model.violations.map((v) => `${v.invariant}: ${v.detail}`).join('\n')}\n-- steps --\n${ctx.log.join('\n')}`,
    );
    this.name = 'ModelViolation';
  }
}

function pick<T>(items: T[], k: number): T | undefined {
  return items.length ? items[k % items.length] : undefined;
}

function jobAt(ctx: Ctx, index: number): JobModel {
  const all = [...ctx.model.jobs.values()];
  return all[index % all.length]!;
}

async function cursorOf(ctx: Ctx, jobId: string): Promise<number | undefined> {
  const item = await ctx.system.runtime.store.getJob(jobId);
  return item ? Date.parse(item.cursor) : undefined;
}

// ---- the pipeline ----

class TickCommand implements Command {
  constructor(
    readonly stepwise: boolean,
    readonly skewMs: number,
    readonly crashAt: 'beforeSend' | 'beforeAdvance' | undefined,
  ) {}
  check = () => true;
  async run(_m: Model, ctx: Ctx) {
    const actor = ctx.system.tick({
      stepwise: this.stepwise,
      skewMs: this.skewMs,
      ...(this.crashAt ? { crashAt: this.crashAt } : {}),
    });
    await ctx.system.settle(actor);
    await afterStep(ctx, `${this} → ${actor}`);
  }
  toString() {
    return `tick(${[this.stepwise && 'stepwise', this.skewMs && `skew ${this.skewMs}`, this.crashAt && `dies ${this.crashAt}`].filter(Boolean).join(', ')})`;
  }
}

class SweepCommand implements Command {
  constructor(readonly skewMs: number) {}
  check = () => true;
  async run(_m: Model, ctx: Ctx) {
    await ctx.system.settle(ctx.system.sweep({ stepwise: false, skewMs: this.skewMs }));
    await afterStep(ctx, String(this));
  }
  toString() {
    return `sweep(skew ${this.skewMs})`;
  }
}

class DeliverCommand implements Command {
  constructor(
    readonly k: number,
    readonly duplicate: boolean,
    readonly hold: boolean,
    readonly stepwise: boolean,
    readonly skewMs: number,
  ) {}
  check = () => true;
  async run(_m: Model, ctx: Ctx) {
    await ctx.system.receive();
    const message = pick(ctx.system.visible(), this.k);
    if (!message) return;
    const actor = ctx.system.deliver(message, {
      duplicate: this.duplicate,
      hold: this.hold,
      stepwise: this.stepwise,
      skewMs: this.skewMs,
    });
    await ctx.system.settle(actor);
    await afterStep(ctx, `${this} → ${actor} ${actor.done ? String(actor.result ?? actor.error) : ''}`);
  }
  toString() {
    return `deliver(${this.k}${this.duplicate ? ', duplicate' : ''}${this.hold ? ', hold' : ''}${this.stepwise ? ', stepwise' : ''}${this.skewMs ? `, skew ${this.skewMs}` : ''})`;
  }
}

class DropCommand implements Command {
  constructor(readonly k: number) {}
  check = () => true;
  async run(_m: Model, ctx: Ctx) {
    await ctx.system.receive();
    const message = pick(ctx.system.visible(), this.k);
    if (!message) return;
    await ctx.system.drop(message);
    await afterStep(ctx, `${this} → ${message.runId}#${message.attempt}`);
  }
  toString() {
    return `drop(${this.k})`;
  }
}

class FinishCommand implements Command {
  constructor(
    readonly k: number,
    readonly outcome: 'ok' | 'fail' | 'final',
  ) {}
  check = () => true;
  async run(_m: Model, ctx: Ctx) {
    const held = ctx.system.invocations.filter((i) => i.state === 'held');
    const invocation = pick(held, this.k);
    if (!invocation) return;
    await ctx.system.finish(invocation, this.outcome);
    await afterStep(ctx, `${this} → ${invocation.runId}#${invocation.attempt}`);
  }
  toString() {
    return `finish(${this.k}, ${this.outcome})`;
  }
}

class CrashCommand implements Command {
  constructor(readonly k: number) {}
  check = () => true;
  async run(_m: Model, ctx: Ctx) {
    const actor = pick(
      ctx.system.live().filter((a) => a.kind !== 'op'),
      this.k,
    );
    if (!actor) return;
    ctx.system.kill(actor);
    await ctx.system.settle(actor);
    await afterStep(ctx, `${this} → ${actor}`);
  }
  toString() {
    return `crash(${this.k})`;
  }
}

class StepCommand implements Command {
  constructor(readonly k: number) {}
  check = () => true;
  async run(_m: Model, ctx: Ctx) {
    const actor = pick(
      ctx.system.live().filter((a) => a.gates.length > 0),
      this.k,
    );
    if (!actor) return;
    const at = actor.gates.map((g) => g.call).join(',');
    await ctx.system.step(actor);
    await afterStep(ctx, `${this} → ${actor.label} past ${at}${actor.done ? ' (done)' : ''}`);
  }
  toString() {
    return `step(${this.k})`;
  }
}

class ClockCommand implements Command {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_m: Model, ctx: Ctx) {
    await ctx.system.advance(this.ms);
    for (const actor of ctx.system.live()) await ctx.system.settle(actor);
    await afterStep(ctx, String(this));
  }
  toString() {
    return `clock(+${this.ms} ms)`;
  }
}

// ---- operations ----

type OpOptions = { stepwise: boolean; skewMs: number };

const notFoundOrRefused = (error: unknown) => error instanceof PunctualError;

function startOp(
  ctx: Ctx,
  label: string,
  options: OpOptions,
  body: Parameters<ModelSystem['op']>[2],
  onAck: (actor: Actor) => void,
  onFail?: () => void,
): Actor {
  const actor = ctx.system.op(label, options, body, notFoundOrRefused);
  void actor.promise.then(() => {
    if (actor.error === undefined) onAck(actor);
    else onFail?.();
  });
  return actor;
}

async function settleOp(ctx: Ctx, actor: Actor, label: string) {
  await ctx.system.settle(actor);
  await new Promise((resolve) => setImmediate(resolve));
  await afterStep(
    ctx,
    `${label} → ${actor}${actor.done ? (actor.error ? ` refused: ${(actor.error as Error).message}` : ' ok') : ''}`,
  );
}

class PutCommand implements Command {
  constructor(
    readonly job: number,
    readonly edit: 'payload' | 'schedule' | 'retry',
    readonly periodS: number,
    readonly options: OpOptions,
  ) {}
  check(m: Model) {
    const job = [...m.jobs.values()][this.job % m.jobs.size]!;
    // One create at a time (a second would be an edit the model counted as a create); never re-created.
    return !job.deleted && (job.created || job.editsInFlight === 0);
  }
  async run(_m: Model, ctx: Ctx) {
    const job = jobAt(ctx, this.job);
    const id = job.spec.id;
    const create = !job.created;
    const current = job.epochs.at(-1)?.periodMs ?? job.spec.periodS * 1000;
    const periodS = this.edit === 'schedule' && !create ? this.periodS : current / 1000;
    const input = jobInput(
      {
        ...job.spec,
        maxAttempts: this.edit === 'retry' ? (job.spec.maxAttempts % 3) + 1 : job.spec.maxAttempts,
      },
      periodS,
      ++job.edits,
    );
    const calledAt = ctx.system.now;
    const endCursor = create ? undefined : await cursorOf(ctx, id);
    job.editsInFlight += 1;
    const actor = startOp(
      ctx,
      `${create ? 'create' : `edit ${this.edit}`} ${id}`,
      this.options,
      // As the CLI and the client do: a create or a re-anchoring edit claims the first slots at once.
      (deps, now) =>
        putJob(deps.store, input, now, { pools: ['default'], claim: { deps, config: MODEL_TICK } }),
      (a) => {
        job.editsInFlight -= 1;
        job.created = true;
        // The schedule as this put left it (read by the put right after its write): with edits in flight at
        // once, a put may re-anchor although it did not mean to change the schedule (its input carries
        // the schedule as it was when it was called), so the model follows the table, not the intent.
        const item = (a.result as PutResult).job;
        const anchor = Date.parse(item.anchor);
        const periodMs = Number(/rate\((\d+) /.exec(String(item.definition.schedule))?.[1] ?? periodS) * 1000;
        const previous = job.epochs.at(-1);
        if (previous && previous.anchor === anchor && previous.periodMs === periodMs) return;
        // The write took effect somewhere between the call and the acknowledgement: the lenient band
        // around the change runs from the call to the acknowledgement (a put suspended for 7 s writes a
        // schedule that starts from its own, older, now, behind a cursor that moved meanwhile).
        const at = a.endedAt ?? calledAt;
        if (previous) {
          previous.endCursor = endCursor ?? previous.endCursor;
          previous.endCalledAt = at;
        }
        job.epochs.push({ periodMs, anchor, calledAt: at });
      },
      () => {
        job.editsInFlight -= 1;
      },
    );
    await settleOp(ctx, actor, String(this));
  }
  toString() {
    return `put(job ${this.job}, ${this.edit}${this.edit === 'schedule' ? ` ${this.periodS}s` : ''}${this.options.stepwise ? ', stepwise' : ''}${this.options.skewMs ? `, skew ${this.options.skewMs}` : ''})`;
  }
}

class PauseCommand implements Command {
  constructor(
    readonly job: number,
    readonly options: OpOptions,
  ) {}
  check = (m: Model) => [...m.jobs.values()][this.job % m.jobs.size]!.created;
  async run(_m: Model, ctx: Ctx) {
    const job = jobAt(ctx, this.job);
    const cursor = await cursorOf(ctx, job.spec.id);
    const span: Span = { calledAt: ctx.system.now, callSeq: ctx.model.seq() };
    const actor = startOp(
      ctx,
      `pause ${job.spec.id}`,
      this.options,
      (deps, now) => pauseJob(deps.store, job.spec.id, now),
      (a) => {
        span.ackedAt = a.endedAt;
        span.ackSeq = ctx.model.seq();
        job.pauses.push(span);
        job.cursorAtPause = cursor;
      },
    );
    await settleOp(ctx, actor, String(this));
  }
  toString() {
    return `pause(job ${this.job}${this.options.stepwise ? ', stepwise' : ''}${this.options.skewMs ? `, skew ${this.options.skewMs}` : ''})`;
  }
}

class ResumeCommand implements Command {
  constructor(
    readonly job: number,
    readonly replay: boolean,
    readonly options: OpOptions,
  ) {}
  check = (m: Model) => [...m.jobs.values()][this.job % m.jobs.size]!.created;
  async run(_m: Model, ctx: Ctx) {
    const job = jobAt(ctx, this.job);
    const span: Span = {
      calledAt: ctx.system.now,
      localAt: ctx.system.now + this.options.skewMs,
      callSeq: ctx.model.seq(),
      replay: this.replay,
      // A resume of a job that is not paused is a no-op: it opens no first-slot window.
      effective: ctx.model.paused(job) !== 'no',
    };
    job.resumes.push(span);
    const actor = startOp(
      ctx,
      `resume ${job.spec.id}`,
      this.options,
      (deps, now) =>
        resumeJob(deps.store, job.spec.id, now, { replay: this.replay, claim: { deps, config: MODEL_TICK } }),
      (a) => {
        span.ackedAt = a.endedAt;
        span.ackSeq = ctx.model.seq();
      },
    );
    await settleOp(ctx, actor, String(this));
  }
  toString() {
    return `resume(job ${this.job}${this.replay ? ', replay' : ''}${this.options.stepwise ? ', stepwise' : ''}${this.options.skewMs ? `, skew ${this.options.skewMs}` : ''})`;
  }
}

class DeleteCommand implements Command {
  constructor(readonly job: number) {}
  check = (m: Model) => {
    const job = [...m.jobs.values()][this.job % m.jobs.size]!;
    return job.created && !job.deleted && job.editsInFlight === 0;
  };
  async run(_m: Model, ctx: Ctx) {
    const job = jobAt(ctx, this.job);
    job.cursorAtDelete = await cursorOf(ctx, job.spec.id);
    const span: Span = { calledAt: ctx.system.now, callSeq: ctx.model.seq() };
    job.deleted = span;
    const actor = startOp(
      ctx,
      `delete ${job.spec.id}`,
      { stepwise: false, skewMs: 0 },
      (deps) => deleteJob(deps.store, job.spec.id, ctx.system.now),
      (a) => {
        span.ackedAt = a.endedAt;
        span.ackSeq = ctx.model.seq();
      },
    );
    await settleOp(ctx, actor, String(this));
  }
  toString() {
    return `delete(job ${this.job})`;
  }
}

class TriggerCommand implements Command {
  constructor(
    readonly job: number,
    readonly options: OpOptions,
  ) {}
  check = (m: Model) => [...m.jobs.values()][this.job % m.jobs.size]!.created;
  async run(_m: Model, ctx: Ctx) {
    const job = jobAt(ctx, this.job);
    const actor = startOp(
      ctx,
      `trigger ${job.spec.id}`,
      this.options,
      (deps, now) => triggerJob(deps, job.spec.id, now),
      (a) => {
        job.triggers.push((a.result as RunItem).runId);
      },
    );
    await settleOp(ctx, actor, String(this));
  }
  toString() {
    return `trigger(job ${this.job}${this.options.stepwise ? ', stepwise' : ''})`;
  }
}

class ReplayCommand implements Command {
  constructor(
    readonly job: number,
    readonly k: number,
    readonly options: OpOptions,
  ) {}
  check = (m: Model) => [...m.jobs.values()][this.job % m.jobs.size]!.created;
  async run(_m: Model, ctx: Ctx) {
    const job = jobAt(ctx, this.job);
    const { items } = await ctx.system.runtime.store.queryRuns(job.spec.id, { limit: 200 });
    const run = pick(
      items.filter((r) => ['missed', 'skipped', 'failed', 'cancelled'].includes(r.status)),
      this.k,
    );
    if (!run) return;
    const actor = startOp(
      ctx,
      `replay ${run.runId}`,
      this.options,
      (deps, now) => replayRun(deps, run.runId, now),
      () => {
        job.replays.set(run.runId, (job.replays.get(run.runId) ?? 0) + 1);
      },
    );
    await settleOp(ctx, actor, `${this} ${run.runId} (${run.status}(${run.reason}))`);
  }
  toString() {
    return `replay(job ${this.job}, ${this.k}${this.options.stepwise ? ', stepwise' : ''})`;
  }
}

class BackfillCommand implements Command {
  constructor(
    readonly job: number,
    readonly backS: number,
    readonly lengthS: number,
  ) {}
  check = (m: Model) => {
    const job = [...m.jobs.values()][this.job % m.jobs.size]!;
    return job.created && !job.deleted && job.editsInFlight === 0;
  };
  async run(_m: Model, ctx: Ctx) {
    const job = jobAt(ctx, this.job);
    const epoch = job.epochs.at(-1)!;
    const to = ctx.system.now - this.backS * 1000 + this.lengthS * 1000;
    const window = { from: ctx.system.now - this.backS * 1000, to: Math.min(to, ctx.system.now) };
    if (window.from >= window.to) return;
    const actor = startOp(
      ctx,
      `backfill ${job.spec.id}`,
      { stepwise: false, skewMs: 0 },
      (deps, now) => backfill(deps, job.spec.id, window, now, { limit: 100 }),
      () => {
        job.backfills.push({ ...window, anchor: epoch.anchor, periodMs: epoch.periodMs });
      },
    );
    await settleOp(ctx, actor, `${this} [${iso(window.from)}, ${iso(window.to)})`);
  }
  toString() {
    return `backfill(job ${this.job}, -${this.backS}s, ${this.lengthS}s)`;
  }
}

// ---- arbitraries ----

const skew = fc.constantFrom(0, 0, 0, -MAX_SKEW_MS, -1_000, 1_000, MAX_SKEW_MS);
const opOptions = fc.record({ stepwise: fc.boolean(), skewMs: skew });
const jobIndex = fc.nat(2);
const k = fc.nat(9);

export const jobSpecs: fc.Arbitrary<JobSpec[]> = fc
  .array(
    fc.record({
      periodS: fc.constantFrom(2, 3, 5),
      overlap: fc.constantFrom('allow' as const, 'skip' as const, 'queue' as const),
      catchUp: fc.constantFrom('skip' as const, 'latest' as const, 'all' as const),
      maxCatchUp: fc.integer({ min: 1, max: 3 }),
      maxAttempts: fc.integer({ min: 1, max: 3 }),
      startingDeadlineS: fc.constantFrom(5, 20, 60),
      mode: fc.constantFrom('ok' as const, 'fail' as const, 'flaky' as const),
      payloadKiB: fc.constantFrom(0, 0, 0, 60),
      initial: fc.boolean(),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .map((specs) => specs.map((spec, i) => ({ ...spec, id: `j${i}`, initial: i === 0 || spec.initial })));

export const commandArbs: fc.Arbitrary<Command>[] = [
  fc
    .tuple(
      fc.boolean(),
      skew,
      fc.constantFrom(undefined, undefined, 'beforeSend' as const, 'beforeAdvance' as const),
    )
    .map(([s, w, c]) => new TickCommand(s, w, c)),
  fc
    .tuple(
      fc.boolean(),
      skew,
      fc.constantFrom(undefined, undefined, 'beforeSend' as const, 'beforeAdvance' as const),
    )
    .map(([s, w, c]) => new TickCommand(s, w, c)),
  skew.map((w) => new SweepCommand(w)),
  fc
    .tuple(k, fc.boolean(), fc.boolean(), fc.boolean(), skew)
    .map(([i, d, h, s, w]) => new DeliverCommand(i, d && i % 3 === 0, h, s && i % 2 === 0, w)),
  fc
    .tuple(k, fc.boolean(), fc.boolean(), fc.boolean(), skew)
    .map(([i, d, h, s, w]) => new DeliverCommand(i, d && i % 3 === 0, h, s && i % 2 === 0, w)),
  k.map((i) => new DropCommand(i)),
  fc
    .tuple(k, fc.constantFrom('ok' as const, 'fail' as const, 'final' as const))
    .map(([i, o]) => new FinishCommand(i, o)),
  k.map((i) => new CrashCommand(i)),
  k.map((i) => new StepCommand(i)),
  k.map((i) => new StepCommand(i)),
  fc.constantFrom(500, 1_000, 1_000, 2_000, 3_000, 7_000, 30_000).map((ms) => new ClockCommand(ms)),
  fc.constantFrom(500, 1_000, 2_000, 3_000).map((ms) => new ClockCommand(ms)),
  fc
    .tuple(
      jobIndex,
      fc.constantFrom('payload' as const, 'schedule' as const, 'retry' as const),
      fc.constantFrom(2, 3, 4, 5),
      opOptions,
    )
    .map(([j, e, p, o]) => new PutCommand(j, e, p, o)),
  fc.tuple(jobIndex, opOptions).map(([j, o]) => new PauseCommand(j, o)),
  fc.tuple(jobIndex, fc.boolean(), opOptions).map(([j, r, o]) => new ResumeCommand(j, r, o)),
  jobIndex.map((j) => new DeleteCommand(j)),
  fc.tuple(jobIndex, opOptions).map(([j, o]) => new TriggerCommand(j, o)),
  fc.tuple(jobIndex, k, opOptions).map(([j, i, o]) => new ReplayCommand(j, i, o)),
  fc
    .tuple(jobIndex, fc.integer({ min: 5, max: 60 }), fc.integer({ min: 1, max: 20 }))
    .map(([j, b, l]) => new BackfillCommand(j, b, l)),
];

// ---- one case ----

export interface CaseOptions {
  endpoints: { dynamo: string; sqs: string };
  /** Run on after the program before the end is judged (manual time), then settle. */
  runOnMs?: number;
  settleMs?: number;
}

export interface CaseStats {
  steps: number;
  cases?: number;
  /** Called after each case (shrinking included) with its outcome. */
  onCase?: (outcome: { ok: boolean; steps: number; ms: number; first?: string }) => void;
}

/** Creates the jobs a case starts with. */
export async function setupCase(options: CaseOptions, specs: JobSpec[]): Promise<Ctx> {
  let model: Model | undefined;
  let system: ModelSystem | undefined;
  system = await ModelSystem.start(options.endpoints, {
    onInvoke: (invocation, run) => model!.onInvoke(invocation, system!.invocations, run),
    modeOf: (jobId) => model!.job(jobId).spec.mode,
    errorOf: (jobId) => (model!.job(jobId).spec.payloadKiB ? 'e'.repeat(3_000) : 'boom'),
  });
  model = new Model(specs);
  for (const spec of specs.filter((s) => s.initial)) {
    // Through an actor, like every operation: its sends go through the harness's queue.
    const created = system.op(
      `create ${spec.id}`,
      { stepwise: false, skewMs: 0 },
      (deps, now) =>
        putJob(deps.store, jobInput(spec), now, { pools: ['default'], claim: { deps, config: MODEL_TICK } }),
      () => false,
    );
    await system.settle(created);
    const job = model.job(spec.id);
    job.created = true;
    job.epochs.push({ periodMs: spec.periodS * 1000, anchor: T0, calledAt: T0 });
  }
  return { system, model, log: [] };
}

/**
 * Lets the system run its course: every suspended actor goes on, held targets end as their job's mode
 * says, then the clock runs on (ticks every 2 s, every visible message delivered at once) so that every
 * slot up to `endAt` reaches its fate: past retries, leases of dead executors, visibility timeouts.
 */
export async function quiesce(ctx: Ctx, options: CaseOptions): Promise<void> {
  const { system, model } = ctx;
  ctx.log.push(`${iso(system.now)} -- quiescence --`);
  for (let round = 0; round < 200 && system.live().length; round++) {
    for (const invocation of system.invocations.filter((i) => i.state === 'held')) {
      const mode = model.job(invocation.jobId).spec.mode;
      await system.finish(
        invocation,
        mode === 'ok' ? 'ok' : mode === 'fail' ? 'fail' : invocation.attempt % 2 ? 'fail' : 'ok',
      );
    }
    for (const actor of system.live()) if (actor.gates.length) await system.step(actor);
    if (system.live().some((a) => a.sleeping)) await system.advance(1_000);
    for (const actor of system.live()) await system.settle(actor);
  }
  await afterStep(ctx, 'all actors finished');
  const endAt = system.now + (options.runOnMs ?? 4_000);
  const stopAt = endAt + (options.settleMs ?? 80_000);
  while (system.now < stopAt) {
    await system.advance(3_000);
    await system.settle(system.tick({ stepwise: false, skewMs: 0 }));
    for (let i = 0; i < 50; i++) {
      await system.receive();
      const visible = system.visible();
      if (!visible.length) break;
      for (const message of visible)
        await system.settle(
          system.deliver(message, { duplicate: false, hold: false, stepwise: false, skewMs: 0 }),
        );
      for (const actor of system.live()) await system.settle(actor);
    }
    await afterStep(ctx, 'run on: tick and deliver');
  }
  model.checkQuiescent(await system.scan(), system.invocations, endAt, system.now);
  if (model.violations.length) throw new ModelViolation(ctx);
}

/** The property: any program over any 1–3 jobs keeps every invariant. */
export function modelProperty(options: CaseOptions, stats: CaseStats, maxCommands = 30, replayPath?: string) {
  return fc.asyncProperty(
    jobSpecs,
    fc.commands(commandArbs, { maxCommands, size: 'max', ...(replayPath ? { replayPath } : {}) }),
    async (specs, commands) => {
      const ctx = await setupCase(options, specs);
      const started = Date.now();
      let ok = false;
      try {
        await fc.asyncModelRun(() => ({ model: ctx.model, real: ctx }), commands);
        await quiesce(ctx, options);
        ok = true;
      } finally {
        stats.cases = (stats.cases ?? 0) + 1;
        const first = ctx.model.violations[0];
        stats.onCase?.({
          ok,
          steps: ctx.model.steps,
          ms: Date.now() - started,
          ...(first ? { first: `${first.invariant}: ${first.detail}` } : {}),
        });
        if (process.env.MODEL_DEBUG) {
          const runs = (await ctx.system.scan()).filter((item) => item.type === 'run');
          const statuses: Record<string, number> = {};
          for (const run of runs)
            statuses[`${run.status}(${run.reason ?? ''})`] =
              (statuses[`${run.status}(${run.reason ?? ''})`] ?? 0) + 1;
          process.stderr.write(
            `${ctx.log.join('\n')}\ninvocations ${ctx.system.invocations.length}, runs ${JSON.stringify(statuses)}\n\n`,
          );
        }
        stats.steps += ctx.model.steps;
        await ctx.system.stop();
      }
    },
  );
}
