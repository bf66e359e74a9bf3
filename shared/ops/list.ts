/**
 * Listing jobs with filters (`jobs list --tag team=payments --prefix invoice- --status paused --overdue`,
 * the client's `listJobs` / `listJobsPage`), a page at a time.
 *
 * What a list reads (docs/jobs.md, "Tags and search"): with a tag, the tag's index entries whose job id
 * starts with the prefix (shared/store/tags.ts) and the job items they name, so it reads what it returns;
 * without one, a Scan of the table, which reads every item (run records included) whatever it returns.
 */
import { JobValidationError, type Violation } from '../errors.js';
import { tagProblem } from '../jobs/schema.js';
import { nextSlot } from '../schedule/index.js';
import { decodeJob } from '../store/decode.js';
import type { JobItem } from '../store/model.js';
import type { RawItem, Store } from '../store/store.js';
import { lookaheadFor } from '../tick/lookahead.js';

/** What `--status` selects: running its schedule, paused, or out of the schedule because it is invalid. */
export const JOB_STATES = ['active', 'paused', 'invalid'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** @example const filter: JobFilter = { tags: { team: 'payments' }, prefix: 'invoice-', status: 'paused' }; */
export interface JobFilter {
  /** Every one of these tags (a job may carry more). */
  tags?: Record<string, string>;
  /** The job id starts with this. */
  prefix?: string;
  status?: JobState;
  /** Only jobs whose next slot passed more than two periods (and a lookahead) ago, as `punctual status` says. */
  overdue?: boolean;
}

export interface JobPage {
  jobs: JobItem[];
  /** Pass it back as `cursor` for the next page; absent on the last. */
  cursor?: string;
}

/** A job is overdue when its next slot is older than this many periods (the tick's overdueGapFactor). */
export const OVERDUE_PERIODS = 2;
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1_000;

/** The job's state as `--status` reads it. */
export function jobState(job: JobItem): JobState {
  if (job.invalid || !decodeJob(job as unknown as Record<string, unknown>).ok) return 'invalid';
  return job.enabled === true ? 'active' : 'paused';
}

/**
 * How long ago an active job's next slot passed when that is more than OVERDUE_PERIODS of its periods
 * (and at least one lookahead of a tick every `tickMs`); undefined when it is not overdue.
 */
export function overdueMs(job: JobItem, now: number, tickMs: number): number | undefined {
  if (!job.enabled || !job.nextRunAt || job.invalid) return undefined;
  const decoded = decodeJob(job as unknown as Record<string, unknown>);
  if (!decoded.ok) return undefined;
  const next = Date.parse(job.nextRunAt);
  const after = nextSlot(decoded.job.schedule, next);
  const period = after === undefined ? 0 : after - next;
  return now - next > Math.max(OVERDUE_PERIODS * period, lookaheadFor(tickMs)) ? now - next : undefined;
}

/** The filter's mistakes, each naming the field, the value and the rule. */
function filterViolations(filter: JobFilter, limit: number): Violation[] {
  const violations: Violation[] = [];
  for (const [key, value] of Object.entries(filter.tags ?? {})) {
    const problem = typeof value === 'string' ? tagProblem(key, value) : 'a tag value must be text';
    if (problem) violations.push({ path: `tags.${key}`, value, message: problem });
  }
  if (filter.prefix !== undefined && (typeof filter.prefix !== 'string' || filter.prefix.length > 128)) {
    violations.push({
      path: 'prefix',
      value: filter.prefix,
      message: 'must be text of at most 128 characters',
    });
  }
  if (filter.status !== undefined && !JOB_STATES.includes(filter.status)) {
    violations.push({
      path: 'status',
      value: filter.status,
      message: `must be one of ${JOB_STATES.join(', ')}`,
    });
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    violations.push({
      path: 'limit',
      value: limit,
      message: `must be a whole number from 1 to ${MAX_PAGE_SIZE}`,
    });
  }
  return violations;
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (key && typeof key === 'object' && typeof (key as { pk?: unknown }).pk === 'string') {
      return key as Record<string, unknown>;
    }
  } catch {
    // reported below
  }
  throw new JobValidationError(
    [{ path: 'cursor', value: cursor, message: 'is not a cursor a previous page returned' }],
    'job filter',
  );
}

function matches(job: JobItem, filter: JobFilter, now: number, tickMs: number): boolean {
  if (job.sk !== 'JOB') return false;
  if (filter.prefix && !job.jobId.startsWith(filter.prefix)) return false;
  const tags = (job.definition as { tags?: Record<string, string> } | undefined)?.tags ?? {};
  for (const [key, value] of Object.entries(filter.tags ?? {})) if (tags[key] !== value) return false;
  if (filter.status && jobState(job) !== filter.status) return false;
  if (filter.overdue && overdueMs(job, now, tickMs) === undefined) return false;
  return true;
}

/**
 * One page of the jobs that match `filter`, sorted by id within the page. With a tag the pages come in id
 * order; without one in the table's order. A page examines up to `limit` candidates, so a page may hold
 * fewer jobs than `limit` (none, even) and still have a cursor: go on until there is none.
 *
 * @example
 * let cursor: string | undefined;
 * do ({ jobs, cursor } = await listJobsPage(store, { tags: { team: 'payments' } }, { now, tickMs, cursor })); while (cursor);
 */
export async function listJobsPage(
  store: Store,
  filter: JobFilter,
  options: { now: number; tickMs: number; limit?: number; cursor?: string },
): Promise<JobPage> {
  const limit = options.limit ?? DEFAULT_PAGE_SIZE;
  const violations = filterViolations(filter, limit);
  if (violations.length) throw new JobValidationError(violations, 'job filter');
  const start = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
  const tags = Object.entries(filter.tags ?? {}).sort(([a], [b]) => a.localeCompare(b));
  let page: { items: RawItem[]; next?: Record<string, unknown> };
  if (tags.length) {
    const [key, value] = tags[0]!;
    page = await store.queryTagged(key, value, {
      limit,
      ...(filter.prefix ? { prefix: filter.prefix } : {}),
      ...(start ? { start } : {}),
    });
  } else {
    page = await store.scanJobsPage({
      limit,
      ...(filter.prefix ? { prefix: filter.prefix } : {}),
      ...(start ? { start } : {}),
    });
  }
  const jobs = (page.items as unknown as JobItem[])
    .filter((job) => matches(job, filter, options.now, options.tickMs))
    .sort((a, b) => a.jobId.localeCompare(b.jobId));
  return { jobs, ...(page.next ? { cursor: encodeCursor(page.next) } : {}) };
}

/** Every job that matches `filter`, sorted by id: every page of {@link listJobsPage}. */
export async function listAllJobs(
  store: Store,
  filter: JobFilter,
  options: { now: number; tickMs: number },
): Promise<JobItem[]> {
  const jobs: JobItem[] = [];
  let cursor: string | undefined;
  do {
    const page = await listJobsPage(store, filter, {
      ...options,
      limit: MAX_PAGE_SIZE,
      ...(cursor ? { cursor } : {}),
    });
    jobs.push(...page.jobs);
    cursor = page.cursor;
  } while (cursor);
  return jobs.sort((a, b) => a.jobId.localeCompare(b.jobId));
}
