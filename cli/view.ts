/**
 * What `punctual dev` shows: on a terminal, a table of the jobs redrawn every second (next slot, last
 * outcome, start lag, missed count); elsewhere (a pipe, a CI log), one plain line per new outcome.
 * Both are pure functions of a snapshot, so they are tested without a terminal.
 */
import { jobView, slotSent } from '../shared/client/views.js';
import { upcomingSlot } from '../shared/ops/jobs.js';
import type { JobItem, RunItem } from '../shared/store/model.js';
import { lag, palette, relative, roughDuration, shortTime, statusText, table, truncate } from './format.js';

export interface ViewSnapshot {
  now: number;
  startedAt: number;
  tickMs: number;
  /** When `--duration` stops the runtime, if set. */
  stopsAt?: number;
  jobs: JobItem[];
  queues: Record<string, { queue: number; inFlight: number; delayed: number; dlq: number }>;
  /** Runs in progress (asynchronous ones with their last heartbeat), newest first. */
  inProgress?: RunItem[];
  /** The last log lines (warnings, echo-server requests), oldest first. */
  recent: string[];
}

/** A slot in the live table: its time of day when it falls on today's UTC date, else with its date. */
function slotTime(slot: string, now: number): string {
  const text = shortTime(slot);
  return slot.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? text.slice(11) : text;
}

/** One frame of the live table. */
export function renderView(snapshot: ViewSnapshot, options: { color: boolean; columns: number }): string {
  const p = palette(options.color);
  const { now } = snapshot;
  const up = roughDuration(now - snapshot.startedAt);
  const stops = snapshot.stopsAt ? `, stops in ${roughDuration(Math.max(0, snapshot.stopsAt - now))}` : '';
  const lines: string[] = [];
  lines.push(
    `${p.bold('punctual dev')}  ${snapshot.jobs.length} job(s), tick every ${roughDuration(snapshot.tickMs)}, up ${up}${stops}  ${p.dim(shortTime(new Date(now).toISOString()))}`,
  );
  lines.push('');
  if (snapshot.jobs.length) {
    const rows = snapshot.jobs.map((job) => {
      const upcoming = upcomingSlot(job, now);
      const s = jobView(job, upcoming);
      const sent = upcoming && slotSent(s, upcoming) ? ', sent' : '';
      const next = upcoming
        ? `${slotTime(upcoming, now)} ${p.dim(`${relative(upcoming, now)}${sent}`)}`
        : '-';
      const last = s.lastOutcome ? statusText(p, s.lastOutcome.status, s.lastOutcome.reason) : '-';
      const missed = s.counts.missed ?? 0;
      const note = s.invalid
        ? p.red(`invalid: ${s.invalid}`)
        : s.enabled
          ? ''
          : p.yellow(`paused: ${s.note ?? ''}`);
      return [
        s.id,
        s.scheduleText ?? '?',
        next,
        last,
        lag(s.lastOutcome?.startLagMs),
        missed ? p.red(String(missed)) : '0',
        note,
      ];
    });
    lines.push(
      table(['ID', 'SCHEDULE', 'NEXT SLOT', 'LAST OUTCOME', 'START LAG', 'MISSED', 'NOTE'], rows, {
        right: [4, 5],
        maxWidth: { 1: 40, 6: Math.max(20, options.columns - 110) },
      }).trimEnd(),
    );
  } else lines.push(p.dim('no jobs yet: add one with `punctual jobs put` in another terminal'));
  if (snapshot.inProgress?.length) {
    lines.push('');
    lines.push(
      table(
        ['IN PROGRESS', 'ATTEMPT', 'RUNNING FOR', 'LAST HEARTBEAT', 'HEARTBEAT DUE'],
        snapshot.inProgress.map((run) => [
          run.runId,
          String(run.attempt),
          run.startedAt ? roughDuration(now - Date.parse(run.startedAt)) : '-',
          run.lastHeartbeatAt ? relative(run.lastHeartbeatAt, now) : run.runDeadline ? 'none yet' : '-',
          run.heartbeatDeadline ? relative(run.heartbeatDeadline, now) : '-',
        ]),
        { right: [1] },
      ).trimEnd(),
    );
  }
  lines.push('');
  for (const [pool, depth] of Object.entries(snapshot.queues)) {
    const dlq = depth.dlq ? p.red(`DLQ ${depth.dlq}`) : 'DLQ 0';
    lines.push(
      `pool ${pool}: ${depth.queue} queued, ${depth.inFlight} in flight, ${depth.delayed} delayed, ${dlq}`,
    );
  }
  if (snapshot.recent.length) {
    lines.push('');
    for (const line of snapshot.recent) lines.push(p.dim(truncate(line, Math.max(40, options.columns - 1))));
  }
  lines.push('');
  lines.push(p.dim('Ctrl-C or q stops the runtime'));
  return `${lines.join('\n')}\n`;
}

/**
 * The plain-log counterpart: a line for each job whose last outcome changed since `previous` (a map the
 * caller keeps, job id → last run id and status).
 */
export function outcomeLines(jobs: JobItem[], previous: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const job of jobs) {
    const last = job.lastOutcome;
    if (!last) continue;
    const key = `${last.runId} ${last.status}`;
    if (previous.get(job.jobId) === key) continue;
    previous.set(job.jobId, key);
    const reason = last.reason && last.reason !== 'ok' ? `(${last.reason})` : '';
    const lagText = last.startLagMs === undefined ? '' : ` start lag ${lag(last.startLagMs)}`;
    lines.push(`${last.at} ${job.jobId} ${last.runId} ${last.status}${reason}${lagText}`);
  }
  return lines;
}

/** Escape sequences for the live view: home + clear below, hide and show the cursor. */
export const SCREEN = { redraw: '\x1b[H\x1b[J', hideCursor: '\x1b[?25l', showCursor: '\x1b[?25h' } as const;
