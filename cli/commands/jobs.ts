/** `punctual jobs validate|put|get|list|pause|resume|delete|trigger`. */

import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { parseDocument } from 'yaml';
import type { CalendarDefinition } from '../../shared/calendars/calendar.js';
import {
  type Job,
  type JobFilter,
  type JobInput,
  type JobState,
  type PutJobResult,
  slotSent,
} from '../../shared/client/index.js';
import { JobNotFoundError, JobValidationError, PunctualError, type Violation } from '../../shared/errors.js';
import { type JobDefinition, parseJob, parseJobsFile, serializeJob } from '../../shared/jobs/index.js';
import { validateJobs } from '../../shared/jobs/validate.js';
import { errorMessage } from '../../shared/util.js';
import { type Target, UsageError } from '../context.js';
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
  truncate,
} from '../format.js';

// ── validate ────────────────────────────────────────────────────────────────────────────────────────

export async function runValidate(
  io: Io,
  path: string,
  options: { json?: boolean },
  now: number,
): Promise<number> {
  const result = await validateJobs(path, { now });
  if (options.json) {
    printJson(io, result);
    return result.valid ? 0 : 1;
  }
  const unreadable = result.errors.find((e) => e.path === '(file)');
  if (unreadable)
    throw new PunctualError(`cannot read jobs file ${JSON.stringify(path)}: ${unreadable.message}`);
  if (!result.valid) throw new JobValidationError(result.errors, `jobs file ${JSON.stringify(path)}`);
  const p = palette(io.color);
  io.out(`${p.green('valid')}: ${path}: ${result.jobs.length} job(s); pools: ${result.pools.join(', ')}\n`);
  if (result.jobs.length) {
    io.out(
      table(
        ['ID', 'SCHEDULE', 'FIRST SLOT IF CREATED NOW'],
        result.jobs.map((job) => [
          job.id,
          job.scheduleText,
          job.nextRunAt ? shortTime(job.nextRunAt) : '(none)',
        ]),
      ),
    );
  }
  return 0;
}

// ── put ─────────────────────────────────────────────────────────────────────────────────────────────

export interface PutFlags {
  file?: string;
  /** Each `--schedule` given (commander collects them); several make a list (the union of their slots). */
  schedule?: string | string[];
  target?: string;
  timezone?: string;
  payload?: string;
  pool?: string;
  catchUp?: string;
  maxCatchUp?: number;
  overlap?: string;
  startingDeadline?: string;
  maxAttempts?: number;
  backoff?: string;
  description?: string;
  disabled?: boolean;
  /** `--tag key=value`, repeatable: set on top of the job's tags. */
  tag?: Record<string, string>;
  /** `--untag key`, repeatable: removed from the job's tags. */
  untag?: string[];
  maxRuns?: number;
  afterLastRun?: string;
  /** Each `--exclude` given: the job's exclusion calendars (replacing its list). */
  exclude?: string[];
  json?: boolean;
}

/**
 * `--target` as JSON (`{"type":"http","url":"https://…"}`) or a shorthand: `handler:NAME`, `http:URL`
 * (`http:https://example.com/hook`; a bare `https://…` URL is taken as http too).
 */
export function parseTargetOption(text: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const value = JSON.parse(trimmed) as unknown;
      if (value && typeof value === 'object' && !Array.isArray(value))
        return value as Record<string, unknown>;
    } catch (error) {
      throw new PunctualError(`--target ${JSON.stringify(text)}: not valid JSON (${errorMessage(error)})`);
    }
  }
  if (/^https?:\/\//.test(trimmed)) return { type: 'http', url: trimmed };
  const colon = trimmed.indexOf(':');
  const kind = colon > 0 ? trimmed.slice(0, colon) : '';
  const rest = trimmed.slice(colon + 1);
  if (kind === 'handler' && rest) return { type: 'handler', name: rest };
  if (kind === 'http' && rest) return { type: 'http', url: rest };
  throw new PunctualError(
    `--target ${JSON.stringify(text)}: write JSON such as {"type":"http","url":"https://example.com/hook"} ` +
      'or a shorthand: handler:NAME, http:URL',
  );
}

function parseJsonOption(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PunctualError(`${flag} ${JSON.stringify(text)}: not valid JSON (${errorMessage(error)})`);
  }
}

/** The job input the flags describe, on top of the existing definition when the job exists. */
export function jobInputFromFlags(
  id: string,
  flags: PutFlags,
  existing: JobDefinition | undefined,
): Record<string, unknown> {
  if (!existing) {
    const missing = [flags.schedule ? '' : '--schedule', flags.target ? '' : '--target'].filter(Boolean);
    if (missing.length) {
      throw new UsageError(
        `job "${id}" does not exist yet: creating it needs ${missing.join(' and ')} (or -f FILE)`,
      );
    }
  }
  const base: Record<string, unknown> = existing ? { ...serializeJob(existing) } : { id };
  const retry = { ...((base.retry as Record<string, unknown> | undefined) ?? {}) };
  if (flags.maxAttempts !== undefined) retry.maxAttempts = flags.maxAttempts;
  if (flags.backoff !== undefined) retry.backoff = flags.backoff;
  let tags: Record<string, unknown> | undefined;
  if (flags.tag !== undefined || flags.untag !== undefined) {
    tags = { ...((base.tags as Record<string, unknown> | undefined) ?? {}), ...flags.tag };
    for (const key of flags.untag ?? []) delete tags[key];
  }
  return {
    ...base,
    ...(flags.schedule !== undefined
      ? {
          schedule:
            typeof flags.schedule === 'string' || flags.schedule.length !== 1
              ? flags.schedule
              : flags.schedule[0],
        }
      : {}),
    ...(flags.target !== undefined ? { target: parseTargetOption(flags.target) } : {}),
    ...(flags.timezone !== undefined ? { timezone: flags.timezone } : {}),
    ...(flags.payload !== undefined ? { payload: parseJsonOption('--payload', flags.payload) } : {}),
    ...(flags.pool !== undefined ? { pool: flags.pool } : {}),
    ...(flags.catchUp !== undefined ? { catchUp: flags.catchUp } : {}),
    ...(flags.maxCatchUp !== undefined ? { maxCatchUp: flags.maxCatchUp } : {}),
    ...(flags.overlap !== undefined ? { overlap: flags.overlap } : {}),
    ...(flags.startingDeadline !== undefined ? { startingDeadline: flags.startingDeadline } : {}),
    ...(flags.description !== undefined ? { description: flags.description } : {}),
    ...(flags.disabled !== undefined ? { enabled: !flags.disabled } : {}),
    ...(Object.keys(retry).length ? { retry } : {}),
    ...(tags !== undefined ? { tags } : {}),
    ...(flags.maxRuns !== undefined ? { maxRuns: flags.maxRuns } : {}),
    ...(flags.afterLastRun !== undefined ? { afterLastRun: flags.afterLastRun } : {}),
    ...(flags.exclude !== undefined ? { exclude: flags.exclude } : {}),
  };
}

/** A file holding one job, or a jobs file (`jobs:` list): what `jobs put -f` accepts. */
async function readPutFile(
  path: string,
): Promise<{ jobs: unknown[]; fromJobsFile: boolean; calendars?: Record<string, CalendarDefinition> }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PunctualError(
      `cannot read ${JSON.stringify(path)}: ${code === 'ENOENT' ? 'no such file' : errorMessage(error)}`,
    );
  }
  const document = parseDocument(text, { prettyErrors: false });
  const root = document.errors.length ? undefined : (document.toJS() as unknown);
  const isJobsFile =
    document.errors.length > 0 ||
    (root !== null && typeof root === 'object' && !Array.isArray(root) && 'jobs' in root);
  // A jobs file (or text that is not even YAML) goes through the jobs-file parser: every violation, with lines.
  if (isJobsFile) {
    const file = parseJobsFile(text, path);
    return { jobs: file.jobs, fromJobsFile: true, ...(file.calendars ? { calendars: file.calendars } : {}) };
  }
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    throw new JobValidationError(
      [
        {
          path: '',
          value: undefined,
          message: 'must be one job (an object with id, schedule, target) or a jobs file with a jobs: list',
        },
      ],
      `file ${JSON.stringify(path)}`,
    );
  }
  return { jobs: [root], fromJobsFile: false };
}

/**
 * A job's next slot in words, as every command says it: the next slot after now that will run, marked
 * "sent" when it is already claimed (a put's or a resume's own claim, or the tick's lookahead, sent it to
 * the queue, where it waits for its second).
 */
export function nextSlotText(job: Pick<Job, 'upcomingAt' | 'nextRunAt' | 'enabled'>, now: number): string {
  if (!job.upcomingAt) return job.enabled ? 'no next slot' : 'no next slot while paused';
  const sent = slotSent(job, job.upcomingAt) ? ', sent' : '';
  return `${shortTime(job.upcomingAt)} (${relative(job.upcomingAt, now)}${sent})`;
}

function putLine(io: Io, result: PutJobResult, now: number): string {
  const p = palette(io.color);
  const next = result.job.upcomingAt
    ? `next slot ${nextSlotText(result.job, now)}`
    : nextSlotText(result.job, now);
  if (result.created) return `${p.green('created')} ${result.job.id}: ${next}\n`;
  if (!result.changes.length) return `unchanged ${result.job.id}: ${next}\n`;
  return `${p.cyan('updated')} ${result.job.id} (${result.changes.join(', ')}): ${next}\n`;
}

/** The job's current definition, or undefined when it does not exist or is invalid. */
async function currentDefinition(target: Target, id: string): Promise<JobDefinition | undefined> {
  try {
    const detail = await target.client.getJob(id);
    return detail.definition ? parseJob(detail.definition) : undefined;
  } catch (error) {
    if (error instanceof JobNotFoundError) return undefined;
    throw error;
  }
}

export async function runPut(
  io: Io,
  target: Target,
  id: string | undefined,
  flags: PutFlags,
  now: number,
): Promise<void> {
  const pools = Object.keys(target.pools);
  const flagNames = [
    'schedule',
    'target',
    'timezone',
    'payload',
    'pool',
    'catchUp',
    'maxCatchUp',
    'overlap',
    'startingDeadline',
    'maxAttempts',
    'backoff',
    'description',
    'disabled',
    'tag',
    'untag',
    'maxRuns',
    'afterLastRun',
    'exclude',
  ] as const;
  const given = flagNames.filter((name) => flags[name] !== undefined);
  let inputs: unknown[];
  if (flags.file) {
    if (id || given.length)
      throw new UsageError('give either -f FILE or a job id with flags (--schedule, --target, …), not both');
    const read = await readPutFile(flags.file);
    inputs = read.jobs;
    // Refuse the whole file before writing anything when a job names a pool this deployment lacks.
    const unknownPools: Violation[] = [];
    inputs.forEach((input, index) => {
      const pool = (input as { pool?: unknown }).pool ?? 'default';
      if (typeof pool === 'string' && !pools.includes(pool)) {
        unknownPools.push({
          path: read.fromJobsFile ? `jobs[${index}].pool` : 'pool',
          value: pool,
          message: `no such pool in ${target.label}; it has ${pools.join(', ')}`,
        });
      }
    });
    if (unknownPools.length)
      throw new JobValidationError(unknownPools, `jobs file ${JSON.stringify(flags.file)}`);
    // The file's calendars before its jobs, which may exclude them.
    for (const { name, ...calendar } of Object.values(read.calendars ?? {})) {
      await target.client.putCalendar(name, calendar);
      if (!flags.json) io.out(`put calendar ${name}\n`);
    }
  } else {
    if (!id)
      throw new UsageError(
        'name the job: `punctual jobs put ID --schedule … --target …`, or put a file with -f FILE',
      );
    inputs = [jobInputFromFlags(id, flags, await currentDefinition(target, id))];
  }
  const results: PutJobResult[] = [];
  for (const input of inputs) {
    const result = await target.client.putJob(input as JobInput);
    results.push(result);
    if (!flags.json) io.out(putLine(io, result, now));
    for (const warning of result.warnings) io.err(`warning: ${result.job.id}: ${warning}\n`);
  }
  if (flags.json) {
    printJson(
      io,
      results.map((result) => ({
        id: result.job.id,
        created: result.created,
        changes: result.changes,
        warnings: result.warnings,
        upcomingAt: result.job.upcomingAt ?? null,
        nextRunAt: result.job.nextRunAt ?? null,
      })),
    );
  }
}

// ── get / list ──────────────────────────────────────────────────────────────────────────────────────

export async function runGet(
  io: Io,
  target: Target,
  id: string,
  options: { json?: boolean },
  now: number,
): Promise<void> {
  const detail = await target.client.getJob(id);
  if (options.json) {
    printJson(io, detail);
    return;
  }
  const p = palette(io.color);
  const state = detail.enabled ? p.green('enabled') : p.yellow(`paused: ${detail.note ?? ''}`);
  io.out(`${p.bold(detail.id)}  ${detail.scheduleText ?? detail.schedule ?? ''}  ${state}\n`);
  if (detail.invalid) io.out(`${p.red('invalid')}: ${detail.invalid}\n`);
  io.out('\nDefinition\n');
  io.out(
    indent(
      keyValues(
        Object.entries(detail.definition ?? {}).map(([key, value]) => [
          key,
          typeof value === 'string' ? value : JSON.stringify(value),
        ]),
      ),
    ),
  );
  io.out('\nState\n');
  io.out(
    indent(
      keyValues([
        ['next slot', detail.upcomingAt ? nextSlotText(detail, now) : '-'],
        ['anchor', shortTime(detail.state.anchor)],
        ['cursor', shortTime(detail.state.cursor)],
        ['version', String(detail.state.version)],
        ['running', detail.state.running.join(', ') || '-'],
        ['held', detail.state.held ?? '-'],
        ...(detail.state.runsStarted !== null
          ? ([
              ['runs started', `${detail.state.runsStarted} of maxRuns ${detail.definition?.maxRuns ?? '?'}`],
            ] as [string, string][])
          : []),
        [
          'previous',
          detail.state.previous
            ? `${statusText(p, detail.state.previous.status, detail.state.previous.reason)} ${detail.state.previous.runId} (handed to the next run)`
            : '-',
        ],
        ['failures in a row', String(detail.consecutiveFailures)],
        [
          'last outcome',
          detail.lastOutcome
            ? `${statusText(p, detail.lastOutcome.status, detail.lastOutcome.reason)} ${detail.lastOutcome.runId}`
            : '-',
        ],
        [
          'counts',
          Object.entries(detail.counts)
            .map(([status, n]) => `${status} ${n}`)
            .join(', ') || '-',
        ],
      ]),
    ),
  );
  io.out(`\nLast ${detail.lastRuns.length} runs\n`);
  if (detail.lastRuns.length) {
    io.out(
      indent(
        table(
          ['SCHEDULED', 'STATUS', 'ATTEMPT', 'START LAG', 'LAST HEARTBEAT', 'RUN ID'],
          detail.lastRuns.map((run) => [
            shortTime(run.scheduledAt),
            statusText(p, run.status, run.reason),
            String(run.attempt),
            lag(run.startLagMs),
            // Asynchronous runs: when their worker last reported in (a running one past it is at risk).
            run.lastHeartbeatAt ? relative(run.lastHeartbeatAt, now) : '-',
            run.runId,
          ]),
        ),
      ),
    );
  }
  io.out(`\nNext ${detail.nextSlots.length} slots\n`);
  for (const slot of detail.nextSlots) {
    const sent = slotSent(detail, slot) ? '  sent (claimed, starts at its second)' : '';
    const calendar = detail.excludedSlots[slot];
    const excluded =
      calendar === undefined ? '' : `  ${p.yellow(`excluded by ${calendar}: skipped, not run`)}`;
    io.out(`  ${shortTime(slot)}  ${p.dim(relative(slot, now))}${sent}${excluded}\n`);
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line ? `  ${line}` : line))
    .join('\n');
}

export function jobRows(io: Io, jobs: Job[], now: number): string[][] {
  const p = palette(io.color);
  return jobs.map((s) => {
    const upcoming = s.upcomingAt;
    const sent = upcoming && slotSent(s, upcoming) ? ', sent' : '';
    const next = upcoming ? `${shortTime(upcoming)} ${p.dim(`(${relative(upcoming, now)}${sent})`)}` : '-';
    const last = s.lastOutcome
      ? `${statusText(p, s.lastOutcome.status, s.lastOutcome.reason)} ${p.dim(relative(s.lastOutcome.at, now))}`
      : '-';
    const note = s.invalid
      ? p.red(`invalid: ${truncate(s.invalid, 60)}`)
      : s.enabled
        ? ''
        : p.yellow(`paused: ${s.note ?? ''}`);
    return [
      s.id,
      s.scheduleText ?? String(s.schedule ?? '?'),
      next,
      last,
      lag(s.lastOutcome?.startLagMs),
      note,
    ];
  });
}

export async function runList(
  io: Io,
  target: Target,
  options: {
    json?: boolean;
    tag?: Record<string, string>;
    prefix?: string;
    status?: JobState;
    overdue?: boolean;
  },
  now: number,
): Promise<void> {
  const filter: JobFilter = {
    ...(options.tag ? { tags: options.tag } : {}),
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    ...(options.status ? { status: options.status } : {}),
    ...(options.overdue ? { overdue: true } : {}),
  };
  const jobs = await target.client.listJobs(filter);
  if (options.json) {
    printJson(io, jobs);
    return;
  }
  if (!jobs.length) {
    io.out(Object.keys(filter).length ? 'no jobs match\n' : 'no jobs; add one with `punctual jobs put`\n');
    return;
  }
  io.out(
    table(['ID', 'SCHEDULE', 'NEXT SLOT', 'LAST OUTCOME', 'START LAG', 'NOTE'], jobRows(io, jobs, now), {
      maxWidth: { 1: 50, 5: 60 },
    }),
  );
}

// ── pause / resume / delete / trigger ───────────────────────────────────────────────────────────────

export function defaultPauseNote(now: number): string {
  let user = 'operator';
  try {
    user = userInfo().username || user;
  } catch {
    // no user name on this system
  }
  return `paused by ${user} with the CLI at ${new Date(now).toISOString()}`;
}

export async function runPause(
  io: Io,
  target: Target,
  id: string,
  options: { note?: string; json?: boolean },
  now: number,
): Promise<void> {
  const job = await target.client.pauseJob(id, { note: options.note ?? defaultPauseNote(now) });
  if (options.json) printJson(io, job);
  else io.out(`paused ${id}: ${job.note ?? ''}\n`);
}

export async function runResume(
  io: Io,
  target: Target,
  id: string,
  options: { replay?: boolean; json?: boolean },
  now: number,
): Promise<void> {
  const job = await target.client.resumeJob(id, { replay: options.replay ?? false });
  if (options.json) {
    printJson(io, job);
    return;
  }
  const next = job.upcomingAt ? `next slot ${nextSlotText(job, now)}` : nextSlotText(job, now);
  const passed = options.replay
    ? 'slots that passed while paused go through its catch-up policy'
    : 'slots that passed while paused are recorded skipped(paused)';
  io.out(`resumed ${id}: ${next}; ${passed}\n`);
}

export async function runDelete(
  io: Io,
  target: Target,
  id: string,
  options: { json?: boolean },
): Promise<void> {
  await target.client.deleteJob(id);
  if (options.json) printJson(io, { id, deleted: true });
  else io.out(`deleted ${id}; its run records stay until they expire\n`);
}

export async function runTrigger(
  io: Io,
  target: Target,
  id: string,
  options: { json?: boolean },
): Promise<void> {
  const run = await target.client.triggerJob(id);
  if (options.json) printJson(io, run);
  else {
    io.out(`triggered ${id}: run ${run.runId} dispatched; the schedule is unchanged\n`);
    io.out(`follow it with: punctual runs show ${run.runId}\n`);
  }
}
