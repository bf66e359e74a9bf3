/**
 * A directed program of the model: the long history no short random program reaches. One job with the
 * largest payload and retry budget the schema allows (64 KiB less a little, 20 attempts) and a target that
 * always fails with a long error; its run fails, and is replayed, eight times over. The invariants are
 * the model's (checked after every replay and at quiescence); the one this program is for is the item
 * size bound (issue 10 #7): a run record must not grow with each replay until DynamoDB refuses its writes.
 */
import { putJob } from '../../shared/ops/jobs.js';
import { replayRun } from '../../shared/ops/runs.js';
import { isTerminal, runIdFor } from '../../shared/store/model.js';
import { afterStep, type CaseOptions, type Ctx, ModelViolation, setupCase } from './commands.js';
import { iso, type JobSpec, jobInput } from './model.js';
import { T0 } from './system.js';

const DAY_MS = 86_400_000;

const SPEC: JobSpec = {
  id: 'history',
  periodS: 86_400,
  overlap: 'allow',
  catchUp: 'latest',
  maxCatchUp: 1,
  maxAttempts: 20,
  startingDeadlineS: 600,
  mode: 'fail',
  payloadKiB: 60,
  initial: false,
};

/** Ticks, delivers and moves the clock until `runId` is terminal (retries, re-sends by the sweep). */
async function runToEnd(ctx: Ctx, runId: string): Promise<void> {
  const { system } = ctx;
  for (let i = 0; i < 200; i++) {
    const run = await system.runtime.store.getRun(runId);
    if (run && isTerminal(run.status)) return;
    await system.settle(system.tick({ stepwise: false, skewMs: 0 }));
    await system.receive();
    const visible = system.visible();
    for (const message of visible)
      await system.settle(
        system.deliver(message, { duplicate: false, hold: false, stepwise: false, skewMs: 0 }),
      );
    if (!visible.length) {
      // Nothing to deliver: on to the next message, or to when the sweep looks at the run again (a retry
      // more than SQS's 15 minutes away is sent by the sweep).
      const open = run?.openUntil ? Date.parse(run.openUntil) + 1 : Number.POSITIVE_INFINITY;
      const next = Math.min(open, ...system.inbox.filter((m) => !m.inFlight).map((m) => m.visibleAt));
      await system.advance(Number.isFinite(next) && next > system.now ? next - system.now : 60_000);
    }
    await afterStep(ctx, `history: tick and deliver (${runId})`);
  }
  throw new Error(`harness: ${runId} did not end`);
}

export async function historyCase(options: CaseOptions, replays = 8): Promise<{ steps: number }> {
  const ctx = await setupCase(options, [SPEC]);
  try {
    const { system, model } = ctx;
    await putJob(
      system.runtime.store,
      { ...jobInput(SPEC), schedule: 'rate(1 day)', retry: { maxAttempts: 20, backoff: '1s' } },
      T0,
      { pools: ['default'] },
    );
    const job = model.job(SPEC.id);
    job.created = true;
    job.epochs.push({ periodMs: DAY_MS, anchor: T0, calledAt: T0 });
    const runId = runIdFor(SPEC.id, T0);
    await runToEnd(ctx, runId);
    for (let i = 0; i < replays; i++) {
      await replayRun(ctxDeps(ctx), runId, system.now);
      job.replays.set(runId, (job.replays.get(runId) ?? 0) + 1);
      await afterStep(ctx, `history: replay ${i + 1} of ${runId}`);
      await runToEnd(ctx, runId);
    }
    const run = await system.runtime.store.getRun(runId);
    ctx.log.push(
      `${iso(system.now)} history: ${runId} ${run?.status}(${run?.reason}), ${run?.attempts.length} attempts kept`,
    );
    model.checkQuiescent(await system.scan(), system.invocations, system.now - DAY_MS, system.now);
    if (model.violations.length) throw new ModelViolation(ctx);
    return { steps: model.steps };
  } finally {
    await ctx.system.stop();
  }
}

function ctxDeps(ctx: Ctx) {
  const { runtime } = ctx.system;
  return {
    store: runtime.store,
    dispatcher: runtime.dispatcher,
    signals: runtime.signals,
    pools: runtime.routing,
    log: { debug() {}, info() {}, warn() {}, error() {} },
  };
}
