/**
 * `punctual status`: is the scheduler healthy? Exit 0 when it is, 3 when something needs attention, so a
 * monitor can run it. What counts as attention is the client's (shared/client/health.ts).
 */
import type { StatusReport } from '../../shared/client/health.js';
import type { Target } from '../context.js';
import { type Io, palette, printJson, roughDuration } from '../format.js';

export const UNHEALTHY_EXIT = 3;

/** A stack's alarms: how many in each state, the ones in ALARM named; nothing where there are none to read. */
function alarmLine(report: StatusReport): [boolean, string, string][] {
  const alarms = report.alarms;
  if (!alarms) return [];
  if (alarms.error) return [[true, 'alarms', alarms.error]];
  const firing = alarms.list.filter((alarm) => alarm.state === 'ALARM').map((alarm) => alarm.name);
  const count = (state: string) => alarms.list.filter((alarm) => alarm.state === state).length;
  const counts = [`${count('OK')} OK`, `${firing.length} in ALARM`];
  if (count('INSUFFICIENT_DATA')) counts.push(`${count('INSUFFICIENT_DATA')} insufficient data`);
  return [
    [
      firing.length === 0,
      'alarms',
      alarms.list.length
        ? `${counts.join(', ')}${firing.length ? `: ${firing.join(', ')}` : ''}`
        : 'none notify the alarm topic',
    ],
  ];
}

export async function runStatus(io: Io, target: Target, options: { json?: boolean }): Promise<number> {
  const report = await target.client.status();
  if (options.json) printJson(io, report);
  else {
    const p = palette(io.color);
    const mark = (ok: boolean) => (ok ? p.green('ok') : p.red('!!'));
    const tick = report.heartbeat.ageMs === null ? 'never' : `${roughDuration(report.heartbeat.ageMs)} ago`;
    const lines: [boolean, string, string][] = [
      [
        !report.heartbeat.stale && report.heartbeat.stoppedGroups.length === 0,
        'tick',
        `last ${tick} (every ${roughDuration(report.heartbeat.tickMs)})` +
          (report.heartbeat.groups > 1
            ? `, ${report.heartbeat.groups} shard groups${report.heartbeat.stoppedGroups.length ? `, stopped: ${report.heartbeat.stoppedGroups.join(', ')}` : ''}`
            : ''),
      ],
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
      ...alarmLine(report),
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
