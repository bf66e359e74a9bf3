/**
 * A jobs file (YAML or JSON): a top-level `jobs:` list and an optional `pools:` map. Every violation of
 * every job, pool and of the file itself is reported in one JobValidationError.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { JobValidationError, PunctualError, type Violation } from '../errors.js';
import { formatDuration } from './duration.js';
import {
  checkJob,
  DEFAULT_POOL,
  POOL_DEFAULTS,
  parseWith,
  poolNameProblem,
  poolSchema,
  sortByField,
} from './schema.js';
import type { JobDefinition, JobsFile, PoolDefinition } from './types.js';
import { joinPath, valueAt } from './violations.js';

const fileSchema = z.strictObject({
  jobs: z.array(z.unknown()),
  pools: z.record(z.string(), z.unknown()).optional(),
});

type Format = 'json' | 'yaml';

function formatOf(text: string, fileName: string): Format {
  const ext = extname(fileName).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return /^\s*[[{]/.test(text) ? 'json' : 'yaml';
}

function syntaxViolation(
  text: string,
  fileName: string,
  offset: number,
  format: Format,
  reason: string,
): Violation {
  const counter = new LineCounter();
  counter.addNewLine(0);
  for (const match of text.matchAll(/\n/g)) counter.addNewLine((match.index ?? 0) + 1);
  const { line, col } = counter.linePos(offset);
  const source = text.split('\n')[line - 1]?.trim();
  return {
    path: `${fileName}:${line}:${col}`,
    value: source === undefined || source === '' ? undefined : source.slice(0, 80),
    message: `${format === 'json' ? 'JSON' : 'YAML'} syntax error on line ${line}: ${reason}`,
  };
}

/** The document in `text`, or the syntax errors with their lines. */
function readDocument(
  text: string,
  fileName: string,
): { ok: true; value: unknown } | { ok: false; violations: Violation[] } {
  const format = formatOf(text, fileName);
  if (format === 'json') {
    try {
      const value = JSON.parse(text);
      // JSON.parse keeps the last of two equal keys without a word ({"jobs": […], "jobs": []} would pass
      // as a file with no jobs); YAML, a superset of JSON, names the duplicate.
      const duplicate = parseDocument(text, { prettyErrors: false, uniqueKeys: true }).errors.find((e) =>
        /unique/i.test(e.message),
      );
      if (duplicate) {
        return {
          ok: false,
          violations: [syntaxViolation(text, fileName, duplicate.pos[0], 'json', 'duplicate key')],
        };
      }
      return { ok: true, value };
    } catch (error) {
      const reason = (error as Error).message;
      const position = /at position (\d+)/.exec(reason)?.[1];
      // V8 does not always say where; YAML (a superset of JSON) usually can.
      const yamlError = parseDocument(text, { prettyErrors: false }).errors[0];
      const offset = position !== undefined ? Number(position) : yamlError ? yamlError.pos[0] : text.length;
      const shortReason = reason
        .replace(/,? ".*" is not valid JSON$/s, '')
        .replace(/ in JSON at position \d+.*$/s, '');
      return { ok: false, violations: [syntaxViolation(text, fileName, offset, 'json', shortReason)] };
    }
  }
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    // One mistake often trips several errors on its line (`*/5 * * * *` gives one per star): keep the first.
    const byLine = new Map<string, Violation>();
    for (const error of document.errors) {
      const violation = syntaxViolation(text, fileName, error.pos[0], 'yaml', error.message);
      const line = violation.path.replace(/:\d+$/, '');
      if (byLine.has(line)) continue;
      if (typeof violation.value === 'string' && /(^|:|-)\s*\*/.test(violation.value)) {
        violation.message += ` (YAML reads a value starting with * as an alias: quote it, e.g. '*/5 * * * *')`;
      }
      byLine.set(line, violation);
    }
    return { ok: false, violations: [...byLine.values()] };
  }
  return { ok: true, value: document.toJS({ maxAliasCount: 100 }) };
}

/**
 * Parses and validates a jobs file. YAML or JSON, told by the extension (`.json`, `.yaml`, `.yml`) or else
 * by the content. A `default` pool always exists; a pool a job names must be declared when `pools:` is
 * present, and is created with the default settings when it is not.
 *
 * @throws JobValidationError listing every violation, paths like `jobs[2].schedule`.
 * @example parseJobsFile(readFileSync('jobs.yaml', 'utf8'), 'jobs.yaml').jobs.length
 */
export function parseJobsFile(text: string, fileName: string): JobsFile {
  const subject = `jobs file ${JSON.stringify(fileName)}`;
  const document = readDocument(text, fileName);
  if (!document.ok) throw new JobValidationError(document.violations, subject);
  return parseJobsDocument(document.value, subject);
}

/**
 * Validates a jobs file already read into a value (`{ jobs: [...], pools?: {...} }`), with the rules of
 * `parseJobsFile`. `subject` names it in the error.
 *
 * @throws JobValidationError listing every violation.
 * @example parseJobsDocument({ jobs: [{ id: 'a', schedule: 'rate(5 minutes)', target: { type: 'handler', name: 'noop' } }] })
 */
export function parseJobsDocument(root: unknown, subject = 'jobs'): JobsFile {
  if (root === null || root === undefined) {
    throw new JobValidationError(
      [{ path: '', value: undefined, message: 'is empty: a jobs file needs a top-level jobs: list' }],
      subject,
    );
  }
  if (typeof root !== 'object' || Array.isArray(root)) {
    throw new JobValidationError(
      [
        {
          path: '',
          value: undefined,
          message: 'must be an object with a top-level jobs: list (and optional pools:)',
        },
      ],
      subject,
    );
  }

  const shape = parseWith(fileSchema, root, '');
  const violations: Violation[] = shape.ok ? [] : [...shape.violations];
  const rawJobs = Array.isArray((root as { jobs?: unknown }).jobs)
    ? ((root as { jobs: unknown[] }).jobs ?? [])
    : [];
  const rawPools = valueAt(root, ['pools']);
  const poolsDeclared = rawPools !== null && typeof rawPools === 'object' && !Array.isArray(rawPools);

  // Pools first: the jobs are checked against them.
  const pools: Record<string, PoolDefinition> = { [DEFAULT_POOL]: { ...POOL_DEFAULTS } };
  if (poolsDeclared) {
    for (const [name, rawPool] of Object.entries(rawPools)) {
      const path = ['pools', name];
      const nameProblem = poolNameProblem(name);
      if (nameProblem) {
        violations.push({ path: joinPath('', path), value: name, message: nameProblem });
        continue;
      }
      // `gpu:` with nothing under it takes every default.
      const parsed = parseWith(poolSchema, rawPool ?? {}, joinPath('', path));
      if (parsed.ok) pools[name] = parsed.value;
      else violations.push(...parsed.violations);
    }
  }

  const jobs: JobDefinition[] = [];
  const firstIndexOfId = new Map<string, number>();
  rawJobs.forEach((rawJob, index) => {
    const prefix = joinPath('', ['jobs', index]);
    const result = checkJob(rawJob, prefix);
    const own: Violation[] = result.ok ? [] : [...result.violations];

    const rawId = valueAt(rawJob, ['id']);
    if (typeof rawId === 'string') {
      const first = firstIndexOfId.get(rawId);
      if (first === undefined) firstIndexOfId.set(rawId, index);
      else {
        own.push({
          path: `${prefix}.id`,
          value: rawId,
          message: `is already the id of jobs[${first}]: job ids must be unique`,
        });
      }
    }

    // Checked on the raw value too, so that an otherwise broken job still reports it.
    const rawPool = valueAt(rawJob, ['pool']);
    const poolName = result.ok ? result.job.pool : typeof rawPool === 'string' ? rawPool : DEFAULT_POOL;
    let pool = pools[poolName];
    if (!pool && !poolNameProblem(poolName)) {
      if (poolsDeclared) {
        own.push({
          path: `${prefix}.pool`,
          value: poolName,
          message: `is not declared under pools: (declared: ${Object.keys(pools).join(', ')})`,
        });
      } else {
        pool = { ...POOL_DEFAULTS };
        pools[poolName] = pool;
      }
    }

    // The executor keeps a target's deadline below its function's timeout; a longer target timeout
    // would be cut short without a word.
    if (result.ok && pool && result.job.target.timeout > pool.timeout) {
      own.push({
        path: `${prefix}.target.timeout`,
        value: valueAt(rawJob, ['target', 'timeout']),
        message:
          `is ${formatDuration(result.job.target.timeout)}, longer than the timeout of pool "${poolName}" ` +
          `(${formatDuration(pool.timeout)}): shorten it or raise pools.${poolName}.timeout (up to 15m)`,
      });
    }

    if (result.ok && own.length === 0) jobs.push(result.job);
    else violations.push(...sortByField(own, prefix));
  });

  if (violations.length > 0) throw new JobValidationError(violations, subject);
  return { jobs, pools };
}

/** A jobs file that cannot be read (missing, a directory, no permission): `validateJobs` reports it as invalid. */
export class JobsFileUnreadableError extends PunctualError {
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot read jobs file ${JSON.stringify(path)}: ${reason}`, options);
    this.name = 'JobsFileUnreadableError';
  }
}

/**
 * Reads and parses a jobs file.
 *
 * @throws PunctualError when the file cannot be read; JobValidationError when it is not a valid jobs file.
 * @example const { jobs, pools } = await loadJobsFile('examples/jobs.yaml');
 */
export async function loadJobsFile(path: string): Promise<JobsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw new JobsFileUnreadableError(path, reason, { cause: error });
  }
  return parseJobsFile(text, path);
}
