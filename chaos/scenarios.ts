/**
 * Fault-injection scenarios. Each builds a runtime (or two, or a `punctual dev` process), runs a bounded
 * schedule under one kind of fault, settles with the faults off, and checks the two invariants punctual
 * sells:
 *   - every slot has exactly one run record, in a terminal state (slots without a fate: 0);
 *   - no attempt of a run is started twice (a counting handler counts target invocations per
 *     `runId#attempt`, and every run's `attempts` list is checked for a repeated attempt number).
 * It also reports what a stuck job would show: a job whose `running` set still names a run that has ended
 * (`staleRunning`), and the `skipped(overlap)` records that such an entry causes.
 *
 * The SDK-level scenarios drive the runtime with a manual clock (tick, then drain every pool, one minute
 * of schedule per step), so they are quick and repeatable with a seed; skew and kill run in real time.
 */
import type { LocalRuntime, LocalRuntimeOptions } from '../local/runtime.js';
import { LocalRuntime as Runtime } from '../local/runtime.js';
import { listJobs } from '../shared/ops/jobs.js';
import { isTerminal, type JobItem, type RunItem } from '../shared/store/model.js';
import { builtinHandlers, type HandlerRegistry } from '../shared/targets/handlers.js';
import { type FaultRates, Faults, seeded } from './faults.js';

export interface Endpoints {
  dynamo: string;
  sqs: string;
}

export interface ScenarioOptions {
  endpoints: Endpoints;
  /** test: small and quick (npm test); full: larger (npm run chaos). */
  scale: 'test' | 'full';
  seed?: number;
  log?: (line: string) => void;
}

export interface ScenarioResult {
  name: string;
  slotsExpected: number;
  records: number;
  byStatus: Record<string, number>;
  /** Slots with no record, or whose record is not terminal after settling (`runId status`). */
  withoutFate: string[];
  /** `runId#attempt` started more than once. */
  startedTwice: string[];
  /** Jobs whose `running` set names a run that is no longer running (the job is stuck for overlap skip/queue). */
  staleRunning: string[];
  injected: Record<string, number>;
  elapsedMs: number;
  notes: string[];
}

/** Starts of each `runId#attempt`, counted by the handlers scenarios use. */
export class StartCounter {
  readonly starts = new Map<string, number>();
  record(runId: string, attempt: number) {
    const key = `${runId}#${attempt}`;
    this.starts.set(key, (this.starts.get(key) ?? 0) + 1);
  }
  twice(): string[] {
    return [...this.starts].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`);
  }
  get total(): number {
    let sum = 0;
    for (const n of this.starts.values()) sum += n;
    return sum;
  }
}

export function countingHandlers(counter: StartCounter, extra?: (registry: HandlerRegistry) => void) {
  const handlers = builtinHandlers({ write: () => {} });
  handlers.register('count', (context) => {
    counter.record(context.runId, context.attempt);
  });
  extra?.(handlers);
  return handlers;
}

export function byStatus(runs: RunItem[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const run of runs) {
    const key = run.reason ? `${run.status}(${run.reason})` : run.status;
    out[key] = (out[key] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** Every slot of `[startAt, endAt)` every `everyMs` for each job id. */
export function expectedSlots(jobIds: string[], startAt: number, endAt: number, everyMs: number): string[] {
  const out: string[] = [];
  for (const id of jobIds)
    for (let slot = startAt; slot < endAt; slot += everyMs) out.push(`${id}@${new Date(slot).toISOString()}`);
  return out;
}

/** The invariants, from the run records, the counter and the job items. */
export async function verify(
  name: string,
  runs: RunItem[],
  jobs: JobItem[],
  expected: string[],
  counter: StartCounter,
): Promise<Omit<ScenarioResult, 'injected' | 'elapsedMs' | 'notes'>> {
  const records = new Map(runs.map((run) => [run.runId, run]));
  const withoutFate: string[] = [];
  for (const runId of expected) {
    const run = records.get(runId);
    if (!run) withoutFate.push(`${runId} (no record)`);
    else if (!isTerminal(run.status)) withoutFate.push(`${runId} ${run.status}`);
  }
  const startedTwice = counter.twice();
  for (const run of runs) {
    const seen = new Set<number>();
    for (const attempt of run.attempts ?? []) {
      if (seen.has(attempt.attempt)) startedTwice.push(`${run.runId}#${attempt.attempt} (twice in attempts)`);
      seen.add(attempt.attempt);
    }
  }
  const staleRunning: string[] = [];
  for (const job of jobs) {
    for (const runId of job.running ?? []) {
      const run = records.get(runId);
      if (run?.status !== 'running')
        staleRunning.push(`${job.jobId}: ${runId} is ${run?.status ?? 'absent'}`);
    }
  }
  return {
    name,
    slotsExpected: expected.length,
    records: runs.filter((run) => expected.includes(run.runId)).length,
    byStatus: byStatus(runs),
    withoutFate,
    startedTwice,
    staleRunning,
  };
}

export function printResult(result: ScenarioResult, log: (line: string) => void) {
  log(`■ ${result.name} (${Math.round(result.elapsedMs / 100) / 10} s)`);
  log(`  slots expected        ${result.slotsExpected}`);
  log(`  run records           ${result.records}  ${JSON.stringify(result.byStatus)}`);
  log(`  faults injected       ${JSON.stringify(result.injected)}`);
  log(
    `  slots without a fate  ${result.withoutFate.length}${result.withoutFate.length ? `  ${result.withoutFate.slice(0, 5).join(', ')}` : ''}`,
  );
  log(
    `  runs started twice    ${result.startedTwice.length}${result.startedTwice.length ? `  ${result.startedTwice.slice(0, 5).join(', ')}` : ''}`,
  );
  log(
    `  stale running entries ${result.staleRunning.length}${result.staleRunning.length ? `  ${result.staleRunning.slice(0, 3).join(', ')}` : ''}`,
  );
  for (const note of result.notes) log(`  note: ${note}`);
}

// ── the manual-clock driver ─────────────────────────────────────────────────────────────────────────

const MINUTE = 60_000;
export const T0 = Date.parse('2026-12-01T00:00:00.000Z');

export interface DrivenOptions extends ScenarioOptions {
  name: string;
  rates?: FaultRates;
  /** Jobs and minutes of schedule (one slot a job a minute). */
  jobs?: number;
  minutes?: number;
  /** The handler each job runs (default `count`). */
  handler?: string;
  maxAttempts?: number;
  extraHandlers?: (registry: HandlerRegistry, counter: StartCounter, faults: Faults) => void;
  overlap?: 'skip' | 'allow' | 'queue';
}

/**
 * A bounded schedule (N jobs `rate(1 minute)` for M minutes, endAt closes it) on a runtime whose clients
 * carry the fault layer; the clock moves a minute per step, each step ticks and drains every pool. Then
 * the faults go off and the runtime settles: ticks (the sweep) and drains while the clock moves on, until
 * no run is open or the settling time is up.
 */
export async function driven(options: DrivenOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const full = options.scale === 'full';
  const jobCount = options.jobs ?? (full ? 20 : 10);
  const minutes = options.minutes ?? (full ? 10 : 4);
  const random = seeded(options.seed ?? 42);
  const faults = new Faults(options.rates ?? {}, random);
  faults.enabled = false;
  const counter = new StartCounter();
  const handlers = countingHandlers(counter, (registry) =>
    options.extraHandlers?.(registry, counter, faults),
  );
  let now = T0 - MINUTE;
  const runtime = await Runtime.start({
    endpoints: options.endpoints,
    clock: () => now,
    handlers,
    tickMs: MINUTE,
    // Slots are sent when due (no lookahead): a step's messages are all visible at once for the drain.
    // A short lease and grace so the settle phase sees expired leases and undelivered messages quickly.
    tick: { lookaheadMs: 0, leaseMs: 10_000, deliveryGraceMs: 20_000 },
    jobs: {
      // Pool timeout 1 s: visibility timeout 6 s, so a message whose handling failed comes back soon.
      pools: { default: { concurrency: 1, timeout: 1_000, memorySize: 128 } },
      jobs: Array.from({ length: jobCount }, (_, i) => ({
        id: `chaos-${i}`,
        schedule: 'rate(1 minute)',
        startAt: new Date(T0).toISOString(),
        endAt: new Date(T0 + minutes * MINUTE).toISOString(),
        target: { type: 'handler', name: options.handler ?? 'count', timeout: '1s' },
        retry: { maxAttempts: options.maxAttempts ?? 3, backoff: '1s' },
        ...(options.overlap ? { overlap: options.overlap } : {}),
      })) as never,
    },
  } satisfies LocalRuntimeOptions);
  const uninstall = [
    faults.install(runtime.dynamo.middlewareStack, 'dynamo'),
    faults.install(runtime.sqs.middlewareStack, 'sqs'),
  ];
  const notes: string[] = [];
  let tickErrors = 0;
  let drainErrors = 0;
  const step = async () => {
    // A dying executor takes nothing else down: the tick is another function.
    faults.blackout = false;
    try {
      const report = await runtime.tick();
      tickErrors += report.errors.length;
    } catch {
      tickErrors += 1;
    }
    for (let round = 0; round < 3; round++) {
      try {
        const outcomes = await runtime.drain('default', { max: 500 });
        if (!outcomes.length) break;
      } catch {
        drainErrors += 1;
      }
    }
  };
  try {
    faults.enabled = true;
    for (let minute = 0; minute < minutes; minute++) {
      now = T0 + minute * MINUTE;
      await step();
    }
    // Settle: faults off; the clock moves 15 s a step (past leases and delivery grace), real time passes
    // for the delayed retry messages and the visibility timeouts.
    faults.enabled = false;
    faults.blackout = false;
    const settleUntil = Date.now() + (full ? 90_000 : 40_000);
    const expected = expectedSlots(
      Array.from({ length: jobCount }, (_, i) => `chaos-${i}`),
      T0,
      T0 + minutes * MINUTE,
      MINUTE,
    );
    let settled = false;
    while (Date.now() < settleUntil) {
      now += 15_000;
      await step();
      const runs = await runtime.allRuns();
      const open = runs.filter((run) => !isTerminal(run.status)).length;
      const depth = (await runtime.queueDepths()).default;
      if (
        open === 0 &&
        runs.length >= expected.length &&
        depth &&
        depth.queue + depth.inFlight + depth.delayed === 0
      ) {
        settled = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    if (!settled) notes.push('did not settle within the settling time');
    const runs = await runtime.allRuns();
    const jobs = await listJobs(runtime.store);
    const result = await verify(options.name, runs, jobs, expected, counter);
    if (tickErrors)
      notes.push(
        `${tickErrors} job(s) not dispatched by a tick because of an error (retried by a later tick)`,
      );
    if (drainErrors) notes.push(`${drainErrors} drain call(s) failed (receive refused)`);
    notes.push(
      `${counter.total} target invocations; SDK calls seen by the fault layer ${faults.stats.calls}`,
    );
    return { ...result, injected: { ...faults.stats.injected }, elapsedMs: Date.now() - started, notes };
  } finally {
    for (const remove of uninstall) remove();
    faults.enabled = false;
    faults.blackout = false;
    await runtime.stop();
  }
}

// ── scenarios ─────────────────────────────────────────────────────────────────────────────────────

export const sdkScenarios: Record<string, (options: ScenarioOptions) => Promise<ScenarioResult>> = {
  throttling: (options) => {
    // The SDK backs off 0.5–20 s on a throttle: a smaller rate keeps the test version short.
    const rate = options.scale === 'full' ? 0.1 : 0.06;
    return driven({
      ...options,
      name: `throttling (${rate * 100} % of DynamoDB and SQS calls)`,
      rates: { throttle: rate },
    });
  },
  timeouts: (options) =>
    driven({
      ...options,
      name: 'timeouts (5 % before the call, 5 % after it was applied)',
      rates: { timeoutBefore: 0.05, timeoutAfter: 0.05 },
    }),
  resets: (options) =>
    driven({
      ...options,
      name: 'connection resets (5 % before, 5 % after the call was applied)',
      rates: { resetBefore: 0.05, resetAfter: 0.05 },
    }),
  'partial-batch': (options) =>
    driven({
      ...options,
      name: 'SendMessageBatch partial failures (30 % of batches lose one entry)',
      rates: { partialBatch: 0.3 },
    }),
  'executor-death': (options) =>
    driven({
      ...options,
      name: 'executor dies mid-run (20 % of starts; no write after the target starts)',
      handler: 'die',
      extraHandlers: (registry, counter, faults) => {
        const random = seeded((options.seed ?? 42) + 1);
        registry.register('die', (context) => {
          counter.record(context.runId, context.attempt);
          if (faults.enabled && random() < 0.2) {
            // The process dies with the target running: nothing it would write afterwards reaches AWS
            // (no outcome, no retry, no DeleteMessage). The next poll or the next message's first read
            // (GetItem of its run) is a fresh executor.
            faults.endBlackoutOn = ['GetCommand', 'GetItemCommand', 'ReceiveMessageCommand'];
            faults.blackout = true;
            throw new Error('executor killed mid-run');
          }
        });
      },
    }),
  combined: (options) =>
    driven({
      ...options,
      name: 'everything at once (throttle 5 %, timeouts 3+3 %, resets 3+3 %, partial batch 20 %)',
      rates: {
        throttle: 0.05,
        timeoutBefore: 0.03,
        timeoutAfter: 0.03,
        resetBefore: 0.03,
        resetAfter: 0.03,
        partialBatch: 0.2,
      },
    }),
};

export type { LocalRuntime };
