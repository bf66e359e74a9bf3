/**
 * Validation of a whole jobs file with every violation at once, as `punctual jobs validate` prints it and the
 * package's `validateJobs` returns it. Never throws for an invalid or unreadable file.
 */
import { JobValidationError, type Violation } from '../errors.js';
import { describeSchedule, nextSlot, parseSchedule } from '../schedule/index.js';
import { JobsFileUnreadableError, loadJobsFile, parseJobsDocument } from './file.js';
import type { JobDefinition, JobsFile } from './types.js';

/** What `validateJobs` resolves with. @example const { valid, errors, jobs } = await validateJobs('jobs.yaml'); */
export interface JobsValidation {
  /** The file's path, or `(object)` for a value passed in. */
  file: string;
  valid: boolean;
  /** The valid file's jobs: schedule in words and the first slot each would get if created at `now`. */
  jobs: { id: string; schedule: string | string[]; scheduleText: string; nextRunAt: string | null }[];
  /** The pools the file declares or names, sorted (`default` always). */
  pools: string[];
  /** Every violation, paths like `jobs[2].schedule`; empty when valid. */
  errors: Violation[];
}

/** @example await validateJobs('jobs.yaml', { now: Date.parse('2026-12-01T00:00:00Z') }); */
export interface ValidateJobsOptions {
  /** The instant the first slots are computed from. Default: now. */
  now?: number;
}

/** The first slot a job would get if it were created at `now`. */
function firstSlot(job: JobDefinition, now: number): number | undefined {
  const startAt = job.startAt ? Date.parse(job.startAt) : undefined;
  const schedule = parseSchedule(job.schedule, {
    timezone: job.timezone,
    anchor: startAt ?? Math.ceil(now / 1000) * 1000,
    ...(startAt !== undefined ? { startAt } : {}),
    ...(job.endAt ? { endAt: Date.parse(job.endAt) } : {}),
  });
  return nextSlot(schedule, Math.ceil(now / 1000) * 1000 - 1);
}

/**
 * Checks a jobs file, given as a path (YAML or JSON) or as the value it holds (`{ jobs: [...], pools }`),
 * and reports every violation at once.
 *
 * An invalid file, or one that cannot be read (one violation, path `(file)`, e.g. `no such file`), resolves with `valid: false`.
 * @example
 * import { validateJobs } from 'punctual';
 *
 * const result = await validateJobs('jobs.yaml');
 * if (!result.valid) for (const e of result.errors) console.error(`${e.path}: ${e.message}`);
 *
 * const inline = await validateJobs({ jobs: [{ id: 'ping', schedule: 'rate(5 minutes)', target: { type: 'handler', name: 'noop' } }] });
 * // inline.valid === true, inline.jobs[0].scheduleText === 'every 5 minutes'
 */
export async function validateJobs(
  fileOrObject: string | object,
  options: ValidateJobsOptions = {},
): Promise<JobsValidation> {
  const now = options.now ?? Date.now();
  const file = typeof fileOrObject === 'string' ? fileOrObject : '(object)';
  let parsed: JobsFile;
  try {
    parsed =
      typeof fileOrObject === 'string'
        ? await loadJobsFile(fileOrObject)
        : parseJobsDocument(fileOrObject, 'jobs');
  } catch (error) {
    if (error instanceof JobValidationError)
      return { file, valid: false, jobs: [], pools: [], errors: error.violations };
    if (error instanceof JobsFileUnreadableError) {
      const errors = [{ path: '(file)', value: error.path, message: error.reason }];
      return { file, valid: false, jobs: [], pools: [], errors };
    }
    throw error;
  }
  return {
    file,
    valid: true,
    jobs: parsed.jobs.map((job) => {
      const slot = firstSlot(job, now);
      return {
        id: job.id,
        schedule: job.schedule,
        scheduleText: describeSchedule(parseSchedule(job.schedule, { timezone: job.timezone, anchor: now })),
        nextRunAt: slot === undefined ? null : new Date(slot).toISOString(),
      };
    }),
    pools: Object.keys(parsed.pools).sort(),
    errors: [],
  };
}
