/**
 * Test helpers for asynchronous completion: a local runtime on a manual clock with a job whose `sqs`
 * target hands its runs to a queue the example worker (examples/worker.ts) reads, and a client of it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { type HandedRun, takeRun, type WorkerDeps } from '../../examples/worker.js';
import type { LocalRuntime, LocalRuntimeOptions } from '../../local/runtime.js';
import { PunctualClient } from '../../shared/client/index.js';
import { job, ManualClock, put, T0, testRuntime } from './runtime.js';

export const MINUTE = 60_000;

export interface AsyncSetup {
  clock: ManualClock;
  rt: LocalRuntime;
  worker: WorkerDeps;
  client: PunctualClient;
  close(): Promise<void>;
}

/**
 * Job `agent`, rate(10 minutes) from T0 (its first slot), target `sqs` with `completion: async`, plus
 * `fields`. Nothing is ticked yet. `runtime`: more options of the local runtime (a log, …).
 */
export async function asyncSetup(
  fields: Record<string, unknown>,
  runtime: Partial<LocalRuntimeOptions> = {},
): Promise<AsyncSetup> {
  const clock = new ManualClock(T0);
  const dir = await mkdtemp(join(tmpdir(), 'punctual-async-'));
  const rt = await testRuntime({
    ...runtime,
    clock: clock.fn,
    tick: { lookaheadMs: 0 },
    stateFile: join(dir, '.punctual', 'local.json'),
  });
  const client = await PunctualClient.local(dir, { clock: clock.fn });
  const queueUrl = (
    await rt.sqs.send(new CreateQueueCommand({ QueueName: `work-${randomUUID().slice(0, 8)}` }))
  ).QueueUrl!;
  await put(
    rt,
    job('agent', {
      schedule: 'rate(10 minutes)',
      target: { type: 'sqs', queueUrl, completion: 'async' },
      ...fields,
    }),
    T0,
  );
  return {
    clock,
    rt,
    client,
    worker: { sqs: rt.sqs, queueUrl, completionsQueueUrl: rt.state.completionsQueueUrl },
    close: async () => {
      client.close();
      await rt.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The run the executor handed to the target queue (it must be there). */
export async function takeOne(worker: WorkerDeps): Promise<HandedRun> {
  const run = await takeRun(worker, 0);
  if (!run) throw new Error('no run on the target queue');
  return run;
}

/** First slot ticked, started and handed off; the worker holds it. */
export async function handedOff(setup: AsyncSetup): Promise<HandedRun> {
  await setup.rt.tick();
  const outcomes = await setup.rt.drain();
  if (outcomes.join() !== 'handed-off') throw new Error(`expected a hand-off, got ${outcomes.join()}`);
  return takeOne(setup.worker);
}

/** One compressed minute: the worker's reports are applied, the tick runs, the executor takes what came due. */
export async function minute(setup: AsyncSetup): Promise<void> {
  setup.clock.advance(MINUTE);
  await setup.rt.drainCompletions();
  await setup.rt.tick();
  await setup.rt.drain();
}
