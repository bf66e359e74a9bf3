/**
 * The tick's fan-out over shard groups (shared/tick/fanout.ts) against DynamoDB Local and the SQS
 * emulator: the coordinator invokes each further group's tick; together they claim, sweep and audit every
 * shard once a minute, a group that fails leaves its shards to the next minute, and a group that keeps
 * failing shows in `punctual status` and the `TickGroupsStopped` metric.
 */
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { assessStatus, readHeartbeats } from '../../shared/client/health.js';
import { jobKey, shardOf } from '../../shared/store/model.js';
import { groupShards } from '../../shared/tick/tick.js';
import { byStatus, countingHandlers, job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

const SHARDS = 8;
const GROUPS = 4;
let runtime: LocalRuntime | undefined;

afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

async function putJobs(rt: LocalRuntime, count: number, at: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `fan-${i}`);
  for (const id of ids)
    await put(rt, job(id, { schedule: 'rate(1 minute)', target: { type: 'handler', name: 'count' } }), at);
  return ids;
}

const groupOf = (jobId: string) => shardOf(jobId, SHARDS) % GROUPS;

describe('tick fan-out over shard groups', () => {
  it('claims every due slot once across the groups, each group on its own shards', async () => {
    const clock = new ManualClock(T0);
    const { starts, handlers } = countingHandlers();
    runtime = await testRuntime({
      clock: clock.fn,
      handlers,
      shards: SHARDS,
      tick: { lookaheadMs: 0, groups: GROUPS },
    });
    const ids = await putJobs(runtime, 120, T0 - 1_000);

    // Two minutes' coordinators racing, as EventBridge may overlap them: still one claim per slot. A job
    // whose call failed under load (a timed-out request) keeps its lease; the next tick after the lease
    // takes it, as on AWS.
    const reports = await Promise.all([runtime.tick(), runtime.tick()]);
    clock.advance(31_000);
    reports.push(await runtime.tick());
    const outcomes = await runtime.drain();

    expect(reports.reduce((sum, report) => sum + report.slotsDispatched, 0)).toBe(120);
    expect(outcomes.filter((outcome) => outcome === 'succeeded')).toHaveLength(120);
    expect(starts.size).toBe(120);
    expect([...starts.values()].every((count) => count === 1)).toBe(true);
    expect(byStatus(await runtime.allRuns())).toEqual({ 'succeeded(ok)': 120 });
    // Every group wrote its heartbeat, naming its shards; together they cover each shard exactly once.
    const heartbeats = await runtime.store.getHeartbeats();
    expect([...heartbeats.keys()].sort()).toEqual([0, 1, 2, 3]);
    const covered = [...heartbeats.values()].flatMap((heartbeat) => heartbeat.shards ?? []);
    expect(covered.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const [group, heartbeat] of heartbeats) {
      expect(heartbeat.shards).toEqual(groupShards(group, GROUPS, SHARDS));
      expect(heartbeat.groups).toBe(GROUPS);
    }
    expect(new Set(ids.map(groupOf)).size).toBe(GROUPS);
  }, 120_000);

  it("sweeps and audits every group's shards", async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({
      clock: clock.fn,
      shards: SHARDS,
      tick: { lookaheadMs: 0, groups: GROUPS, deliveryGraceMs: 5_000, auditPageSize: 1_000 },
    });
    const ids = await putJobs(runtime, 40, T0 - 61_000);
    await runtime.tick();
    // Every message lost in transit: the runs wait in `dispatched`, one sweep per group must find them.
    const queueUrl = runtime.pools[0]!.queueUrl;
    let lost = 0;
    for (;;) {
      const { Messages = [] } = await runtime.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (!Messages.length) break;
      for (const message of Messages)
        await runtime.sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
      lost += Messages.length;
    }
    expect(lost).toBe(40);
    // And one job of each group falls out of the due index (edited by hand): each segment's audit puts it back.
    const dropped = [0, 1, 2, 3].map((group) => ids.find((id) => groupOf(id) === group)!);
    for (const id of dropped)
      await runtime.store.doc.send(
        new UpdateCommand({
          TableName: runtime.store.tableName,
          Key: jobKey(id),
          UpdateExpression: 'REMOVE dueAt, dueShard',
        }),
      );

    clock.advance(10_000);
    const report = await runtime.tick();

    expect(report.sweep.resent).toBe(40);
    expect(report.repairedJobs.sort()).toEqual([...dropped].sort());
  }, 120_000);

  it("leaves a failed group's shards to the next minute, which claims them", async () => {
    const clock = new ManualClock(T0);
    const { starts, handlers } = countingHandlers();
    let failures = 1;
    runtime = await testRuntime({
      clock: clock.fn,
      handlers,
      shards: SHARDS,
      tick: { lookaheadMs: 0, groups: GROUPS },
      onTickGroup: (group) => {
        if (group === 2 && failures-- > 0) throw new Error('injected: tick worker of group 2 crashed');
      },
    });
    const ids = await putJobs(runtime, 80, T0 - 61_000);
    const inGroup2 = ids.filter((id) => groupOf(id) === 2);
    expect(inGroup2.length).toBeGreaterThan(0);

    const first = await runtime.tick();
    await runtime.drain();
    const afterFirst = new Set((await runtime.allRuns()).map((run) => run.jobId));
    clock.advance(60_000);
    const second = await runtime.tick();
    await runtime.drain();

    expect(first.slotsDispatched).toBe(80 - inGroup2.length);
    expect(inGroup2.some((id) => afterFirst.has(id))).toBe(false);
    // The next minute: group 2's jobs get their slot (the older one coalesced), the others their next one.
    expect(second.slotsDispatched).toBe(80);
    const runs = await runtime.allRuns();
    for (const id of inGroup2) {
      expect(runs.filter((run) => run.jobId === id && run.status === 'succeeded')).toHaveLength(1);
    }
    expect([...starts.values()].every((count) => count === 1)).toBe(true);
    expect(runs.filter((run) => run.status === 'dispatched' || run.status === 'running')).toHaveLength(0);
  }, 120_000);

  it('a group that keeps failing is reported stopped by status and the TickGroupsStopped metric', async () => {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({
      clock: clock.fn,
      shards: SHARDS,
      tickMs: 60_000,
      tick: { lookaheadMs: 0, groups: GROUPS },
      onTickGroup: (group) => {
        if (group === 1) throw new Error('injected: tick worker of group 1 keeps crashing');
      },
    });
    const status = async () =>
      assessStatus(
        {
          label: 'local',
          heartbeat: (await readHeartbeats(runtime!.store)).get(0),
          groupHeartbeats: await readHeartbeats(runtime!.store),
          shards: SHARDS,
          jobs: [],
          queues: {},
          runs: [],
        },
        clock.now,
      );

    await runtime.tick();
    const fresh = await status();
    for (let minute = 1; minute <= 4; minute++) {
      clock.advance(60_000);
      await runtime.tick();
    }
    const later = await status();

    // Right after a deploy a group that has not reported yet is not an alarm; three minutes on it is.
    expect(fresh.heartbeat.stoppedGroups).toEqual([]);
    expect(fresh.healthy).toBe(true);
    expect(later.heartbeat.groups).toBe(GROUPS);
    expect(later.heartbeat.stoppedGroups).toEqual([1]);
    expect(later.healthy).toBe(false);
    expect(later.problems.join('\n')).toMatch(/tick group 1 \(shards 1, 5\) has not reported/);
    const stopped = runtime.signals.metrics.filter((metric) => metric.name === 'TickGroupsStopped');
    // Published only when a group is stopped (an idle stack pays for no zeros).
    expect(stopped.map((metric) => metric.value)).toEqual([1]);
  }, 120_000);
});
