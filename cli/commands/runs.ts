/** `punctual runs list|show|replay|backfill`. */
import type { Run } from '../../shared/client/index.js';
import { RUN_STATUSES } from '../../shared/client/views.js';
import { JobNotFoundError, PunctualError, RunNotFoundError } from '../../shared/errors.js';
import { InvalidDurationError, parseDuration } from '../../shared/jobs/index.js';
import { canonicalRunId } from '../../shared/ops/runs.js';
import { parseRunId, type RunStatus } from '../../shared/store/model.js';
import type { Target } from '../context.js';
import {
  type Io,
  keyValues,
  lag,
  palette,
  printJson,
  relative,
  shortTime,
  statusText,
  table,
} from '../format.js';
import { parseInstantOption } from './schedule.js';

export { RUN_STATUSES };

/** `--since 1h` (that long before now) or `--since 2026-12-01T00:00:00Z`. */
export function parseSince(text: string, now: number): number {
  try {
    return now - parseDuration(text);
  } catch (error) {
    if (!(error instanceof InvalidDurationError)) throw error;
  }
  try {
    return parseInstantOption('--since', text);
  } catch {
    throw new PunctualError(
      `--since ${JSON.stringify(text)}: give a duration (30m, 2h, 1d) or an ISO-8601 time (2026-12-01T00:00:00Z)`,
    );
  }
}

export function parseStatus(text: string): RunStatus {
  if (!(RUN_STATUSES as readonly string[]).includes(text)) {
    throw new PunctualError(
      `--status ${JSON.stringify(text)}: not a run status; one of ${RUN_STATUSES.join(', ')}`,
    );
  }
  return text as RunStatus;
}

export interface ListOptions {
  job?: string;
  status?: string;
  since?: string;
  limit?: number;
  upcoming?: boolean;
  json?: boolean;
}

export async function runRunsList(io: Io, target: Target, options: ListOptions, now: number): Promise<void> {
  const runs = await target.client.listRuns({
    ...(options.job ? { jobId: options.job } : {}),
    ...(options.status ? { status: parseStatus(options.status) } : {}),
    ...(options.since ? { since: parseSince(options.since, now) } : {}),
    limit: options.limit ?? 50,
    phase: options.upcoming ? 'upcoming' : 'happened',
  });
  if (options.json) {
    printJson(io, runs);
    return;
  }
  if (!runs.length) {
    io.out(
      options.upcoming || options.status
        ? 'no runs match\n'
        : 'no runs match (slots sent but not started yet are listed with --upcoming)\n',
    );
    return;
  }
  const p = palette(io.color);
  io.out(
    table(
      ['RUN ID', 'STATUS', 'ATTEMPT', 'START LAG', 'DURATION', 'ERROR'],
      runs.map((json) => {
        const run = json;
        const error = run.status === 'succeeded' ? '' : (json.lastError ?? '');
        return [
          run.runId,
          statusText(p, run.status, run.reason),
          json.attempt > 0 ? String(json.attempt) : '-',
          lag(json.startLagMs),
          lag(json.durationMs),
          error,
        ];
      }),
      { maxWidth: { 5: 60 } },
    ),
  );
}

export function printRun(io: Io, run: Run, now: number): void {
  const p = palette(io.color);
  const json = run;
  const kind = [
    json.manual ? 'manual' : '',
    json.backfill ? 'backfill' : '',
    json.replays ? `replayed ${json.replays}×` : '',
  ]
    .filter(Boolean)
    .join(', ');
  io.out(`${p.bold(run.runId)}  ${statusText(p, run.status, run.reason)}${kind ? `  ${p.dim(kind)}` : ''}\n`);
  const when = (time: string | null) =>
    time ? `${shortTime(time)} ${p.dim(`(${relative(time, now)})`)}` : '-';
  io.out(
    keyValues([
      ['job', run.jobId],
      ['scheduled', when(json.scheduledAt)],
      ['dispatched', when(json.dispatchedAt)],
      ['started', json.startedAt ? `${when(json.startedAt)}  start lag ${lag(json.startLagMs)}` : '-'],
      [
        'finished',
        json.finishedAt ? `${when(json.finishedAt)}  last attempt took ${lag(json.durationMs)}` : '-',
      ],
      [
        'attempt',
        json.attempt > 0
          ? `${json.attempt} (up to ${run.maxAttempts ?? '?'} per dispatch or replay)`
          : `none yet (up to ${run.maxAttempts ?? '?'} per dispatch or replay)`,
      ],
      ['target', run.targetType ? `${run.targetType} (pool ${run.pool})` : '-'],
      ['last error', json.lastError ?? '-'],
      ...asyncLines(run, when),
    ]),
  );
  if (json.attempts.length) {
    io.out('\nAttempts\n');
    io.out(
      table(
        ['#', 'STATUS', 'STARTED', 'DURATION', 'ERROR'],
        json.attempts.map((attempt) => [
          String(attempt.attempt),
          statusText(p, attempt.status),
          shortTime(attempt.startedAt),
          lag(attempt.durationMs),
          attempt.error ?? '',
        ]),
        { right: [0], maxWidth: { 4: 80 } },
      ),
    );
  }
}

/** The asynchronous attempt's heartbeat and deadlines, when the run has them. */
function asyncLines(run: Run, when: (time: string | null) => string): [string, string][] {
  const lines: [string, string][] = [];
  if (run.lastHeartbeatAt || run.heartbeatDeadline) lines.push(['last heartbeat', when(run.lastHeartbeatAt)]);
  if (run.heartbeatDeadline) lines.push(['heartbeat due', when(run.heartbeatDeadline)]);
  if (run.runDeadline) lines.push(['run deadline', when(run.runDeadline)]);
  if (run.replacedBy)
    lines.push([
      'replaced by',
      run.status === 'running'
        ? `${run.replacedBy} (being stopped; it starts once this run ends)`
        : run.replacedBy,
    ]);
  if (run.output !== null && run.output !== undefined)
    lines.push(['output', JSON.stringify(run.output).slice(0, 200)]);
  return lines;
}

/**
 * Runs `fn`; a RunNotFoundError becomes an error that says where to look: the job's runs when the job
 * exists, the jobs when it does not (a typo in the job part of the id is the usual cause).
 */
async function findingRun<T>(target: Target, runId: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof RunNotFoundError)) throw error;
    const jobId = parseRunId(canonicalRunId(runId))?.jobId ?? '';
    const jobExists = await target.client.getJob(jobId).then(
      () => true,
      (cause: unknown) => {
        if (cause instanceof JobNotFoundError) return false;
        throw cause;
      },
    );
    if (jobExists) {
      throw new PunctualError(
        `run "${runId}" not found; \`punctual runs list --job ${jobId}\` shows the runs of job "${jobId}"`,
      );
    }
    throw new PunctualError(
      `run "${runId}" not found: there is no job "${jobId}"; \`punctual jobs list\` shows the jobs that exist`,
    );
  }
}

export async function runRunsShow(
  io: Io,
  target: Target,
  runId: string,
  options: { json?: boolean },
  now: number,
): Promise<void> {
  const run = await findingRun(target, runId, () => target.client.getRun(runId));
  if (options.json) printJson(io, run);
  else printRun(io, run, now);
}

export async function runRunsReplay(
  io: Io,
  target: Target,
  runId: string,
  options: { json?: boolean },
): Promise<void> {
  const run = await findingRun(target, runId, () => target.client.replayRun(runId));
  if (options.json) printJson(io, run);
  else
    io.out(
      `replaying ${run.runId} (attempt ${run.attempt + 1}); follow it with: punctual runs show ${run.runId}\n`,
    );
}

export interface BackfillOptions {
  from: string;
  to: string;
  limit?: number;
  ignoreCalendars?: boolean;
  json?: boolean;
}

export async function runBackfill(
  io: Io,
  target: Target,
  jobId: string,
  options: BackfillOptions,
): Promise<void> {
  const from = parseInstantOption('--from', options.from);
  const to = parseInstantOption('--to', options.to);
  let lastReport = 0;
  const errTTY = Boolean(process.stderr.isTTY) && io.isTTY;
  const result = await target.client.backfill(jobId, {
    from,
    to,
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
    ...(options.ignoreCalendars ? { ignoreCalendars: true } : {}),
    onProgress: (done, total) => {
      // Progress on stderr: redrawn in place on a terminal, a line a second (and the last) otherwise.
      if (errTTY) io.err(`\rbackfill ${jobId}: ${done}/${total}${done === total ? '\n' : ''}`);
      else if (done === total || Date.now() - lastReport >= 1000) {
        lastReport = Date.now();
        io.err(`backfill ${jobId}: ${done}/${total}\n`);
      }
    },
  });
  const summary = { jobId, from: new Date(from).toISOString(), to: new Date(to).toISOString(), ...result };
  if (options.json) printJson(io, summary);
  else {
    io.out(
      `backfill ${jobId} [${summary.from}, ${summary.to}): ${result.slots} slot(s), ${result.created} run(s) created, ` +
        `${result.existing} already had a run` +
        (result.excluded
          ? `, ${result.excluded} recorded skipped(calendar) (excluded by the job's calendars; --ignore-calendars runs them)`
          : '') +
        '\n',
    );
  }
}

export interface ReportOptions {
  token: string;
  output?: string;
  error?: string;
  json?: boolean;
}

/** `punctual runs heartbeat|complete|fail <run-id> --token T`: one report, through the client. */
export async function runRunsReport(
  io: Io,
  target: Target,
  runId: string,
  type: 'heartbeat' | 'complete' | 'fail',
  options: ReportOptions,
): Promise<void> {
  let output: unknown;
  if (options.output !== undefined) {
    try {
      output = JSON.parse(options.output);
    } catch (error) {
      throw new PunctualError(
        `--output ${JSON.stringify(options.output.slice(0, 80))}: not JSON (${(error as Error).message}); quote it, e.g. --output '{"rows":1200}'`,
      );
    }
  }
  const client = target.client;
  const result = await findingRun(target, runId, () =>
    type === 'heartbeat'
      ? client.heartbeat(runId, options.token)
      : type === 'complete'
        ? client.complete(runId, options.token, output)
        : client.fail(runId, options.token, options.error ?? ''),
  );
  if (options.json) {
    printJson(io, result);
    return;
  }
  const run = result.run;
  const said: Record<typeof result.outcome, string> = {
    heartbeat: `heartbeat recorded; next one due by ${run.heartbeatDeadline ?? '-'}`,
    succeeded: 'run succeeded',
    retrying: `attempt ${run.attempt} failed; retried with a new token (attempt ${run.attempt + 1})`,
    failed: 'run failed (no attempts left); its message is in the DLQ',
    duplicate: `already reported; the run is ${run.status}`,
    cancelled: `run cancelled (replaced by ${run.replacedBy ?? 'a later slot'})`,
  };
  io.out(`${run.runId}: ${said[result.outcome]}\n`);
}
