/**
 * `punctual status`: is the scheduler healthy? Exit 0 when it is, 3 when something needs attention, so a
 * monitor can run it. Attention: the tick heartbeat older than three ticks (or absent), overdue jobs,
 * invalid jobs, a non-empty DLQ, failed or missed runs in the last hour.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { lookaheadFor } from '../../shared/local/runtime.js';
import { listJobs } from '../../shared/ops/jobs.js';
import { listRuns } from '../../shared/ops/runs.js';
import { nextSlot } from '../../shared/schedule/index.js';
import { decodeJob } from '../../shared/store/decode.js';
import { STACK_TICK_MS, type Target } from '../context.js';
import { type Io, palette, printJson, roughDuration, shortTime } from '../format.js';
import { readHeartbeat } from '../heartbeat.js';

export const UNHEALTHY_EXIT = 3;
/** The heartbeat is stale after this many tick intervals. */
export const HEARTBEAT_TICKS = 3;
/** A job is overdue when its next slot is older than this many periods (the tick's overdueGapFactor). */
export const OVERDUE_PERIODS = 2;
const HOUR_MS = 3_600_000;

export interface StatusReport {
  healthy: boolean;
  target: string;
  checkedAt: string;
  heartbeat: {
    lastTickAt: string | null;
    ageMs: number | null;
    tickMs: number;
    stale: boolean;
    source: string | null;
  };
  jobs: { total: number; paused: number; overdue: number; invalid: number };
  overdueJobs: { id: string; nextRunAt: string; overdueMs: number }[];
  invalidJobs: { id: string; error: string }[];
  queues: Record<string, { queued: number; inFlight: number; delayed: number; dlq: number }>;
  runsLastHour: Record<string, number>;
  /** One line per thing that needs attention; empty when healthy. */
  problems: string[];
}

async function depths(target: Target): Promise<StatusReport['queues']> {
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
    const [queue, dlq] = await Promise.all([attrs(pool.queueUrl), attrs(pool.dlqUrl)]);
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

export async function checkStatus(target: Target, now: number): Promise<StatusReport> {
  const [heartbeat, jobs, queues, runs] = await Promise.all([
    readHeartbeat(target.store),
    listJobs(target.store),
    depths(target),
    listRuns(target.store, { since: new Date(now - HOUR_MS).toISOString(), limit: Number.MAX_SAFE_INTEGER }),
  ]);
  const problems: string[] = [];
  const tickMs = target.tickMs ?? heartbeat?.tickMs ?? STACK_TICK_MS;
  const ageMs = heartbeat ? now - Date.parse(heartbeat.lastTickAt) : null;
  const stale = ageMs === null || ageMs > HEARTBEAT_TICKS * tickMs;
  if (ageMs === null) problems.push('no tick heartbeat: the tick has never run here');
  else if (stale)
    problems.push(
      `the last tick ran ${roughDuration(ageMs)} ago, more than ${HEARTBEAT_TICKS} ticks (${roughDuration(HEARTBEAT_TICKS * tickMs)})`,
    );

  // The tick's rule (shared/tick checkOverdue): next slot older than 2 periods, and at least one lookahead.
  const overdueJobs: StatusReport['overdueJobs'] = [];
  const invalidJobs: StatusReport['invalidJobs'] = [];
  for (const job of jobs) {
    const decoded = decodeJob(job as unknown as Record<string, unknown>);
    if (!decoded.ok || job.invalid) {
      invalidJobs.push({ id: job.jobId, error: job.invalid?.error ?? (decoded.ok ? '' : decoded.error) });
      continue;
    }
    if (!job.enabled || !job.nextRunAt) continue;
    const next = Date.parse(job.nextRunAt);
    const after = nextSlot(decoded.job.schedule, next);
    const period = after === undefined ? 0 : after - next;
    if (now - next > Math.max(OVERDUE_PERIODS * period, lookaheadFor(tickMs))) {
      overdueJobs.push({ id: job.jobId, nextRunAt: job.nextRunAt, overdueMs: now - next });
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
      problems.push(`pool ${pool}: ${depth.dlq} message(s) in the DLQ (punctual dlq list --pool ${pool})`);
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
    target: target.label,
    checkedAt: new Date(now).toISOString(),
    heartbeat: {
      lastTickAt: heartbeat?.lastTickAt ?? null,
      ageMs,
      tickMs,
      stale,
      source: heartbeat?.source ?? null,
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
    problems,
  };
}

export async function runStatus(
  io: Io,
  target: Target,
  options: { json?: boolean },
  now: number,
): Promise<number> {
  const report = await checkStatus(target, now);
  if (options.json) printJson(io, report);
  else {
    const p = palette(io.color);
    const mark = (ok: boolean) => (ok ? p.green('ok') : p.red('!!'));
    const tick = report.heartbeat.ageMs === null ? 'never' : `${roughDuration(report.heartbeat.ageMs)} ago`;
    const lines: [boolean, string, string][] = [
      [!report.heartbeat.stale, 'tick', `last ${tick} (every ${roughDuration(report.heartbeat.tickMs)})`],
      [
        report.jobs.overdue === 0 && report.jobs.invalid === 0,
        'jobs',
        `${report.jobs.total} (${report.jobs.paused} paused), ${report.jobs.overdue} overdue, ${report.jobs.invalid} invalid`,
      ],
      ...Object.entries(report.queues).map(([pool, depth]): [boolean, string, string] => [
        depth.dlq === 0,
        `pool ${pool}`,
        `${depth.queued} queued, ${depth.inFlight} in flight, ${depth.delayed} delayed; DLQ ${depth.dlq}`,
      ]),
      [
        !report.runsLastHour.failed && !report.runsLastHour.missed,
        'last hour',
        Object.entries(report.runsLastHour)
          .map(([status, n]) => `${status} ${n}`)
          .join(', ') || 'no runs',
      ],
    ];
    const width = Math.max(...lines.map(([, label]) => label.length));
    io.out(`${p.bold('punctual status')}  ${p.dim(report.target)}\n`);
    for (const [ok, label, text] of lines) io.out(`  ${mark(ok)}  ${label.padEnd(width)}  ${text}\n`);
    if (report.healthy) io.out(`${p.green('healthy')}\n`);
    else {
      io.out(`${p.red('needs attention')}:\n`);
      for (const problem of report.problems) io.out(`  - ${problem}\n`);
    }
  }
  return report.healthy ? 0 : UNHEALTHY_EXIT;
}
