/**
 * Upgrade: a table written by the code before issue 11's data model (test/fixtures/migration/table-v0.json,
 * every item of a run of commit 335da44: payloads inline on job items and run records, runs in flight
 * whose messages the upgrade loses) is read, ticked and run by this code without losing a job, a run
 * record or a payload.
 */
import { readFile } from 'node:fs/promises';
import { type AttributeValue, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { describeJob } from '../../shared/ops/jobs.js';
import type { RunItem } from '../../shared/store/model.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import { ManualClock, put, T0, testRuntime } from '../support/runtime.js';

interface Fixture {
  clock: string;
  items: Record<string, AttributeValue>[];
}

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

async function upgradedTable(clock: ManualClock, payloads: Map<string, unknown>, file = 'table-v0.json') {
  const fixture = JSON.parse(
    await readFile(new URL(`../fixtures/migration/${file}`, import.meta.url), 'utf8'),
  ) as Fixture;
  const handlers = builtinHandlers();
  handlers.register('noop', (context) => void payloads.set(context.runId, context.payload), {
    replace: true,
  });
  runtime = await testRuntime({
    clock: clock.fn,
    handlers,
    tick: { lookaheadMs: 0, deliveryGraceMs: 30_000 },
  });
  // The items as the old version wrote them, into a table this version created (its own indexes).
  for (const item of fixture.items)
    await runtime.dynamo.send(new PutItemCommand({ TableName: runtime.state.tableName, Item: item }));
  return fixture.items.map((item) => unmarshall(item));
}

/** Ticks once a minute from `from` for `minutes`, running what each tick (and its sweep) sent. */
async function runMinutes(clock: ManualClock, from: number, minutes: number) {
  for (let minute = 0; minute < minutes; minute++) {
    clock.set(from + minute * 60_000);
    const report = await runtime!.tick();
    expect(report.errors).toEqual([]);
    await runtime!.drain();
  }
}

/** A job's payload as the old version stored it: inline in its definition, or in its definition item. */
function payloadOf(items: Record<string, unknown>[], job: Record<string, unknown>): unknown {
  const inline = (job.definition as { payload?: unknown }).payload;
  if (inline !== undefined || job.definitionId === undefined) return inline;
  const item = items.find((i) => i.pk === job.pk && i.sk === `DEF#${job.definitionId as string}`);
  return (item?.definition as { payload?: unknown } | undefined)?.payload;
}

/**
 * The upgrade's promise, for a table written by an older version: no job, run record or payload lost, the
 * runs in flight settled, the next slots run with their payloads, a paused job still paused.
 */
async function upgradeKeepsEverything(file: string, bigJob: string) {
  const clock = new ManualClock(T0 + 120_000);
  const payloads = new Map<string, unknown>();
  const before = await upgradedTable(clock, payloads, file);
  const jobsBefore = before.filter((item) => item.type === 'job');
  const runsBefore = before.filter((item) => item.type === 'run') as RunItem[];

  // Five ticks, a minute apart; the slots checked below are those of the first three, so each has had
  // the sweep of two later ticks (a retry's SQS delay is real time: it may miss the next tick's drain).
  await runMinutes(clock, T0 + 180_500, 5);

  const runs = await runtime!.allRuns();
  const byId = new Map(runs.map((run) => [run.runId, run]));
  // No run record lost; ended ones unchanged.
  for (const old of runsBefore) {
    const now = byId.get(old.runId);
    expect(now, old.runId).toBeDefined();
    if (['succeeded', 'failed', 'missed', 'skipped', 'cancelled'].includes(old.status))
      expect(now?.status).toBe(old.status);
  }
  // Every slot up to the last tick has a terminal fate: the runs whose messages the upgrade lost too.
  const last = T0 + 180_500 + 3 * 60_000;
  const open = runs.filter((run) => Date.parse(run.scheduledAt) <= last - 60_000 && !run.finishedAt);
  expect(open.map((run) => `${run.runId} ${run.status}`)).toEqual([]);
  for (const old of runsBefore.filter((run) => run.status === 'dispatched'))
    expect(['succeeded', 'failed', 'missed', 'skipped'], old.runId).toContain(byId.get(old.runId)?.status);
  // Every job is still there with its whole definition; the paused one stayed paused and ran nothing.
  for (const old of jobsBefore) {
    const description = await describeJob(runtime!.store, old.jobId as string, clock.now);
    expect(description.definition?.payload, String(old.jobId)).toEqual(payloadOf(before, old));
    expect(description.job.enabled).toBe(old.enabled);
  }
  expect(runs.filter((run) => run.jobId === 'fx-paused')).toEqual([]);
  // New slots ran, and got their payloads, from the old items (inline definitions, or definition items).
  const big = payloadOf(before, jobsBefore.find((item) => item.jobId === bigJob)!);
  expect(big).toEqual({ data: 'y'.repeat(40 * 1024) });
  const bigRuns = runs.filter((run) => run.jobId === bigJob && run.status === 'succeeded');
  expect(bigRuns.length).toBeGreaterThanOrEqual(5);
  for (const run of bigRuns.filter((r) => payloads.has(r.runId)))
    expect(payloads.get(run.runId)).toEqual(big);
}

describe('upgrade from the data model before issue 11', () => {
  it('keeps every job and run record, settles the runs in flight and runs the next slots with their payloads', async () => {
    await upgradeKeepsEverything('table-v0.json', 'fx-big');
  }, 120_000);

  it('a put after the upgrade moves the payload to a definition item; runs reference it and deliver it', async () => {
    const clock = new ManualClock(T0 + 120_000);
    const payloads = new Map<string, unknown>();
    const before = await upgradedTable(clock, payloads);
    const old = before.find((item) => item.jobId === 'fx-big' && item.type === 'job')!;
    const definition = old.definition as Record<string, unknown>;

    await put(runtime!, { ...definition, payload: definition.payload }, clock.now);
    await runMinutes(clock, T0 + 180_500, 2);

    const raw = await runtime!.store.getJobRaw('fx-big');
    expect(raw?.definitionId).toEqual(expect.any(String));
    expect((raw!.definition as { payload?: unknown }).payload).toBeUndefined();
    expect(JSON.stringify(raw).length).toBeLessThan(4_000);
    const fresh = (await runtime!.allRuns()).filter(
      (run) => run.jobId === 'fx-big' && run.definitionId === raw?.definitionId,
    );
    expect(fresh.length).toBeGreaterThanOrEqual(2);
    for (const run of fresh) {
      expect(run.definition.payload).toBeUndefined();
      expect(run.status).toBe('succeeded');
      expect(payloads.get(run.runId)).toEqual(definition.payload);
    }
  }, 120_000);
});

describe('upgrade from main before 2026-12-07 (adc763c: no incarnation or format, exact due keys, allow runs on the job item)', () => {
  it('keeps every job and run record, settles the runs in flight and runs the next slots with their payloads', async () => {
    await upgradeKeepsEverything('table-v1.json', 'fx-big');
  }, 120_000);

  it('an old job is ticked and run by the new code: its due key kept as a lower bound, the allow runs off the job item', async () => {
    const clock = new ManualClock(T0 + 120_000);
    const before = await upgradedTable(clock, new Map(), 'table-v1.json');
    expect(before.filter((item) => item.type === 'job' && item.incarnation !== undefined)).toEqual([]);

    await runMinutes(clock, T0 + 180_500, 5);

    const runs = await runtime!.allRuns();
    const allow = runs.filter((run) => run.jobId === 'fx-allow' && run.status === 'succeeded');
    expect(allow.length).toBeGreaterThanOrEqual(12); // three a minute
    const raw = (await runtime!.store.getJobRaw('fx-allow'))!;
    expect((raw.running as string[] | undefined) ?? []).toEqual([]);
    // The daily job was due at no slot of these minutes: untouched, its key its next slot.
    const daily = (await runtime!.store.getJobRaw('fx-daily'))!;
    expect(daily.nextRunAt).toBe('2026-12-01T03:00:00.000Z');
    expect(runs.filter((run) => run.jobId === 'fx-daily')).toEqual([]);
    // Every job the old version wrote is still valid for the new one.
    for (const job of before.filter((item) => item.type === 'job'))
      expect(
        (await describeJob(runtime!.store, job.jobId as string, clock.now)).invalid,
        String(job.jobId),
      ).toBeUndefined();
  }, 120_000);
});
