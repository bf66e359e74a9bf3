/**
 * Health of a deployment (`PunctualClient.status`, `punctual status`). Attention: the tick heartbeat older
 * than three ticks (or absent), overdue jobs, invalid jobs, a non-empty DLQ, failed or missed runs in the
 * last hour.
 *
 * The tick heartbeat item, `pk = TICK, sk = HEARTBEAT`: when the last tick ran. `punctual status` reads it
 * for a local runtime and for a deployed stack alike (CloudWatch's `TickHeartbeat` metric is out of reach
 * offline). The tick writes it (Store.putHeartbeat) with its interval `tickMs`, so that status knows what
 * "three ticks" means (a stack ticks every minute, `punctual dev --tick 1s` every second). Its sk is not
 * `JOB`, so job scans never see it.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { roughDuration } from '../jobs/duration.js';
import { overdueMs } from '../ops/list.js';
import { decodeJob } from '../store/decode.js';
import type { JobItem, RunItem } from '../store/model.js';
import type { Store } from '../store/store.js';
import { STOPPED_AFTER_TICKS, stoppedGroups } from '../tick/fanout.js';
import { groupShards } from '../tick/tick.js';
import { shortTime } from '../util.js';
import type { AlarmsRead } from './alarms.js';
import { type Connection, STACK_TICK_MS } from './connection.js';

export const HEARTBEAT_KEY = { pk: 'TICK', sk: 'HEARTBEAT' } as const;

export interface HeartbeatItem {
  /** ISO time the last tick started. */
  lastTickAt: string;
  durationMs?: number;
  /** The tick interval, when the writer knows it. */
  tickMs?: number;
  /** Who wrote it: `punctual dev`, or the tick itself. */
  source?: string;
  overdueJobs?: string[];
  /** With shard groups: how many (the coordinator's, group 0), and since when. */
  groups?: number;
  groupsSince?: string;
}

/** Every tick group's heartbeat (group 0: the coordinator's, `HEARTBEAT_KEY`), the unreadable ones left out. */
export async function readHeartbeats(store: Store): Promise<Map<number, HeartbeatItem>> {
  const out = new Map<number, HeartbeatItem>();
  for (const [group, item] of await store.getHeartbeats()) {
    if (typeof item.lastTickAt === 'string' && !Number.isNaN(Date.parse(item.lastTickAt)))
      out.set(group, item as HeartbeatItem);
  }
  return out;
}

/** The heartbeat is stale after this many tick intervals (a shard group is stopped after as many). */
export const HEARTBEAT_TICKS = STOPPED_AFTER_TICKS;
export { OVERDUE_PERIODS } from '../ops/list.js';

const time = z.iso.datetime();

export const statusReportSchema = z
  .object({
    healthy: z.boolean(),
    target: z.string().describe('which deployment was checked'),
    checkedAt: time,
    heartbeat: z.object({
      lastTickAt: time.nullable().describe('when the last tick ran; null when it never ran'),
      ageMs: z.number().nullable(),
      tickMs: z.number().describe('the tick interval'),
      stale: z.boolean().describe(`older than ${HEARTBEAT_TICKS} tick intervals, or absent`),
      source: z.string().nullable().describe('who wrote it'),
      groups: z.number().int().describe('shard groups the tick fans out to (1: one tick does it all)'),
      stoppedGroups: z
        .array(z.number().int())
        .describe(`shard groups whose heartbeat is older than ${HEARTBEAT_TICKS} tick intervals`),
    }),
    jobs: z.object({
      total: z.number().int(),
      paused: z.number().int(),
      overdue: z.number().int(),
      invalid: z.number().int(),
    }),
    overdueJobs: z.array(z.object({ id: z.string(), nextRunAt: time, overdueMs: z.number() })),
    invalidJobs: z.array(z.object({ id: z.string(), error: z.string() })),
    queues: z
      .record(
        z.string(),
        z.object({
          queued: z.number().int(),
          inFlight: z.number().int(),
          delayed: z.number().int(),
          dlq: z.number().int(),
        }),
      )
      .describe('depths by pool'),
    runsLastHour: z.record(z.string(), z.number().int()).describe('runs by status, slots of the last hour'),
    alarms: z
      .object({
        topicArn: z
          .string()
          .describe('the alarms read are those notifying this topic (the stack’s AlarmTopicArn)'),
        error: z.string().nullable().describe('why they could not be read; null when they were'),
        list: z.array(
          z.object({
            name: z.string(),
            state: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
            since: time.nullable().describe('when it entered its state'),
            reason: z.string().describe('CloudWatch’s reason for the state'),
          }),
        ),
      })
      .nullable()
      .describe(
        'the stack’s CloudWatch alarms; null where there are none to read (a local runtime, a table named directly)',
      ),
    problems: z.array(z.string()).describe('one line per thing that needs attention; empty when healthy'),
  })
  .describe('Health of a deployment');

export type StatusReport = z.infer<typeof statusReportSchema>;

/** Queue and DLQ depths of every pool. */
export async function queueDepths(target: Connection): Promise<StatusReport['queues']> {
  const out: StatusReport['queues'] = {};
  for (const [name, pool] of Object.entries(target.pools).sort(([a], [b]) => a.localeCompare(b))) {
    const attrs = async (url: string) =>
      (
        await target.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
              'ApproximateNumberOfMessagesDelayed',
            ],
          }),
        )
      ).Attributes ?? {};
    const [queue, dlq] = await Promise.all([
      attrs(pool.queueUrl),
      pool.dlqUrl ? attrs(pool.dlqUrl) : Promise.resolve({} as Record<string, string>),
    ]);
    out[name] = {
      queued: Number(queue.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(queue.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(queue.ApproximateNumberOfMessagesDelayed ?? 0),
      // Visible messages, as the DlqNotEmpty alarm counts them (a message held by a listing for a moment is
      // not counted; SQS's NotVisible cannot simply be added: the local emulator counts those in both).
      dlq: Number(dlq.ApproximateNumberOfMessages ?? 0),
    };
  }
  return out;
}

export interface StatusInput {
  label: string;
  /** The tick interval when the deployment fixes it (a stack); else the heartbeat says. */
  tickMs?: number;
  heartbeat: HeartbeatItem | undefined;
  /** The further shard groups' heartbeats, by group (a fanned-out tick). */
  groupHeartbeats?: ReadonlyMap<number, HeartbeatItem>;
  /** Shards of the due and open indexes (to name a stopped group's). */
  shards?: number;
  jobs: JobItem[];
  queues: StatusReport['queues'];
  /** Runs whose slot is in the last hour. */
  runs: RunItem[];
  /** The jobs of a sample of each non-empty DLQ's messages (null: a poison message), by pool. */
  dlqJobs?: Record<string, (string | null)[]>;
  /** The stack's alarms, when it has them to read. */
  alarms?: AlarmsRead;
}

/**
 * `, of jobs a, b (deleted: punctual dlq purge --job b --yes)`: whose messages a DLQ holds, from a sample,
 * so that a deleted job's leftovers are told apart from live failures.
 */
function dlqWhose(sample: (string | null)[] | undefined, jobs: JobItem[]): string {
  if (!sample?.length) return '';
  const existing = new Set(jobs.map((job) => job.jobId));
  const names = [...new Set(sample.map((jobId) => jobId ?? '(unreadable message)'))].sort();
  const deleted = names.filter((name) => name !== '(unreadable message)' && !existing.has(name));
  const listed = names.map((name) => (deleted.includes(name) ? `${name} (deleted)` : name)).join(', ');
  const purge = deleted.map((name) => `punctual dlq purge --job ${name} --yes`).join('; ');
  return `, of ${names.length === 1 ? 'job' : 'jobs'} ${listed}${purge ? `; a deleted job's can go: ${purge}` : ''}`;
}

/** The health report of what was read (`PunctualClient.status`). */
export function assessStatus(input: StatusInput, now: number): StatusReport {
  const { heartbeat, jobs, queues, runs } = input;
  const problems: string[] = [];
  const tickMs = input.tickMs ?? heartbeat?.tickMs ?? STACK_TICK_MS;
  const ageMs = heartbeat ? now - Date.parse(heartbeat.lastTickAt) : null;
  const stale = ageMs === null || ageMs > HEARTBEAT_TICKS * tickMs;
  if (ageMs === null) problems.push('no tick heartbeat: the tick has never run here');
  else if (stale)
    problems.push(
      `the last tick ran ${roughDuration(ageMs)} ago, more than ${HEARTBEAT_TICKS} ticks (${roughDuration(HEARTBEAT_TICKS * tickMs)})`,
    );
  // A fanned-out tick: the coordinator may run while a group's worker fails; its shards are then neither
  // claimed nor swept.
  const groups = heartbeat?.groups ?? 1;
  const heartbeats = new Map(input.groupHeartbeats ?? []);
  if (heartbeat) heartbeats.set(0, heartbeat);
  const stopped = groups > 1 && !stale ? stoppedGroups(heartbeats, groups, tickMs, now) : [];
  for (const group of stopped) {
    const last = heartbeats.get(group)?.lastTickAt;
    const shards = input.shards ? ` (shards ${groupShards(group, groups, input.shards).join(', ')})` : '';
    problems.push(
      `tick group ${group}${shards} ${last ? `last ran ${roughDuration(now - Date.parse(last))} ago` : 'has not reported'}: its due jobs are not being claimed nor its open runs swept (check the tick-worker function's errors)`,
    );
  }

  // The tick's rule (shared/tick checkOverdue): next slot older than 2 periods, and at least one lookahead.
  const overdueJobs: StatusReport['overdueJobs'] = [];
  const invalidJobs: StatusReport['invalidJobs'] = [];
  for (const job of jobs) {
    const decoded = decodeJob(job as unknown as Record<string, unknown>);
    if (!decoded.ok || job.invalid) {
      invalidJobs.push({ id: job.jobId, error: job.invalid?.error ?? (decoded.ok ? '' : decoded.error) });
      continue;
    }
    const overdue = overdueMs(job, now, tickMs);
    if (overdue !== undefined && job.nextRunAt) {
      overdueJobs.push({ id: job.jobId, nextRunAt: job.nextRunAt, overdueMs: overdue });
    }
  }
  for (const job of overdueJobs)
    problems.push(
      `job ${job.id} is overdue: its next slot ${shortTime(job.nextRunAt)} passed ${roughDuration(job.overdueMs)} ago`,
    );
  for (const job of invalidJobs)
    problems.push(`job ${job.id} is invalid and out of the schedule: ${job.error}`);
  for (const [pool, depth] of Object.entries(queues)) {
    if (depth.dlq > 0)
      problems.push(
        `pool ${pool}: ${depth.dlq} message(s) in the DLQ${dlqWhose(input.dlqJobs?.[pool], jobs)} (punctual dlq list --pool ${pool})`,
      );
  }
  // An alarm in ALARM is attention; one that cannot be read is said (status.alarms.error), not counted: the
  // deployment is not less healthy because the operator's credentials lack cloudwatch:DescribeAlarms.
  for (const alarm of input.alarms?.list ?? []) {
    if (alarm.state === 'ALARM')
      problems.push(
        `alarm ${alarm.name} is in ALARM${alarm.since ? ` since ${shortTime(alarm.since)}` : ''}: ${alarm.reason}`,
      );
  }
  const runsLastHour: Record<string, number> = {};
  for (const run of runs) runsLastHour[run.status] = (runsLastHour[run.status] ?? 0) + 1;
  const bad = (['failed', 'missed'] as const).filter((status) => runsLastHour[status]);
  if (bad.length) {
    problems.push(
      `${bad.map((status) => `${runsLastHour[status]} ${status}`).join(', ')} run(s) in the last hour (punctual runs list --status ${bad[0]} --since 1h)`,
    );
  }
  return {
    healthy: problems.length === 0,
    target: input.label,
    checkedAt: new Date(now).toISOString(),
    heartbeat: {
      lastTickAt: heartbeat?.lastTickAt ?? null,
      ageMs,
      tickMs,
      stale,
      source: heartbeat?.source ?? null,
      groups,
      stoppedGroups: stopped,
    },
    jobs: {
      total: jobs.length,
      paused: jobs.filter((job) => !job.enabled).length,
      overdue: overdueJobs.length,
      invalid: invalidJobs.length,
    },
    overdueJobs,
    invalidJobs,
    queues,
    runsLastHour,
    alarms: input.alarms ?? null,
    problems,
  };
}
