/**
 * A jobs file (YAML or JSON): a top-level `jobs:` list and an optional `pools:` map. Every violation of
 * every job, pool and of the file itself is reported in one JobValidationError.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import {
  Composer,
  CST,
  type Document,
  Lexer,
  LineCounter,
  Parser,
  parseDocument,
  YAMLParseError,
} from 'yaml';
import { z } from 'zod';
import { type CalendarDefinition, checkCalendar } from '../calendars/calendar.js';
import { JobValidationError, PunctualError, type Violation } from '../errors.js';
import { tooDeep } from '../json.js';
import { formatDuration } from './duration.js';
import { MAX_FILE_BYTES, MAX_FILE_DEPTH, MAX_JOB_DEPTH, MAX_PAYLOAD_DEPTH } from './limits.js';
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
import { joinPath, splitPath, valueAt } from './violations.js';

const fileSchema = z.strictObject({
  jobs: z.array(z.unknown()),
  pools: z.record(z.string(), z.unknown()).optional(),
  calendars: z.record(z.string(), z.unknown()).optional(),
});

type Format = 'json' | 'yaml';

function formatOf(text: string, fileName: string): Format {
  const ext = extname(fileName).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return /^\s*[[{]/.test(text) ? 'json' : 'yaml';
}

/** A violation at `offset` of `text`: path `file:line:col`, that line as the value. */
function violationAt(
  text: string,
  fileName: string,
  offset: number,
  message: (line: number) => string,
): Violation {
  const counter = new LineCounter();
  counter.addNewLine(0);
  for (const match of text.matchAll(/\n/g)) counter.addNewLine((match.index ?? 0) + 1);
  const { line, col } = counter.linePos(offset);
  const source = text.split('\n')[line - 1]?.trim();
  return {
    path: `${fileName}:${line}:${col}`,
    value: source === undefined || source === '' ? undefined : source.slice(0, 80),
    message: message(line),
  };
}

function syntaxViolation(
  text: string,
  fileName: string,
  offset: number,
  format: Format,
  reason: string,
): Violation {
  return violationAt(
    text,
    fileName,
    offset,
    (line) => `${format === 'json' ? 'JSON' : 'YAML'} syntax error on line ${line}: ${reason}`,
  );
}

const DEPTH_RULE = `a jobs file may nest at most ${MAX_FILE_DEPTH} levels (a job ${MAX_JOB_DEPTH}, its payload ${MAX_PAYLOAD_DEPTH}; DynamoDB allows 32 in a whole item)`;

/** The offset of the `[` or `{` of JSON text that opens a level past `maxLevels`, strings skipped. */
function jsonTooDeepAt(text: string, maxLevels: number): number | undefined {
  let level = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++level > maxLevels) return i;
    } else if (c === 0x5d || c === 0x7d) level--;
  }
  return undefined;
}

/**
 * The concrete syntax tree of YAML text, from yaml's own parser (it keeps an explicit stack, no recursion),
 * or the offset where its nesting went past `maxLevels`. The parser's stack holds the document, the
 * collections being built and at most one scalar, so a stack longer than `maxLevels + 2` is a nesting past
 * the bound: the parse stops there (a 40 KB file nested 20,000 deep is refused in milliseconds, not in
 * the half second a whole parse takes), and `yamlTooDeepAt` measures the rest exactly.
 */
function parseYamlTokens(text: string, maxLevels: number): CST.Token[] | { tooDeepAt: number } {
  const parser = new Parser();
  const tokens: CST.Token[] = [];
  // What parser.parse(text) does, one lexeme at a time.
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    if (parser.stack.length > maxLevels + 2) return { tooDeepAt: parser.offset };
  }
  for (const token of parser.end()) tokens.push(token);
  return tokens;
}

/**
 * The offset of the first collection of a YAML stream (blocks and flows alike) that opens a level past
 * `maxLevels`. Walks the concrete syntax tree of yaml's own parser, which keeps an explicit stack; its
 * composer (CST → values) recurses, and a flow nested 20,000 deep overflows it, so this runs first.
 */
function yamlTooDeepAt(tokens: readonly CST.Token[], maxLevels: number): number | undefined {
  const stack: [CST.Token, number][] = tokens.map((token): [CST.Token, number] => [token, 0]);
  while (stack.length > 0) {
    const [token, level] = stack.pop() as [CST.Token, number];
    if (token.type === 'document') {
      if (token.value) stack.push([token.value, level]);
    } else if (CST.isCollection(token)) {
      if (level + 1 > maxLevels) return token.offset;
      for (const item of token.items) {
        // A key can be a collection too (`? [a, b]: c`).
        if (item.key) stack.push([item.key, level + 1]);
        if (item.value) stack.push([item.value, level + 1]);
      }
    }
  }
  return undefined;
}

/** What `parseDocument` does, on tokens already parsed: one document, a second one an error. */
function composeDocument(tokens: readonly CST.Token[], length: number): Document.Parsed {
  const composer = new Composer({ prettyErrors: false, uniqueKeys: true });
  let document: Document.Parsed | undefined;
  for (const next of composer.compose(tokens, true, length)) {
    if (!document) document = next;
    else {
      document.errors.push(
        new YAMLParseError(
          [next.range[0], next.range[1]],
          'MULTIPLE_DOCS',
          'Source contains multiple documents; please use YAML.parseAllDocuments()',
        ),
      );
      break;
    }
  }
  // compose(…, forceDoc: true) always ends with a document.
  return document as Document.Parsed;
}

/**
 * The document in `text` (JSON or YAML, told by the extension or the content), or the syntax errors with
 * their lines, size and depth checked first. Jobs files and `punctual dev --target-policy` files are read
 * with it.
 */
export function readDocument(
  text: string,
  fileName: string,
): { ok: true; value: unknown } | { ok: false; violations: Violation[] } {
  const format = formatOf(text, fileName);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_FILE_BYTES) {
    return {
      ok: false,
      violations: [
        {
          path: fileName,
          value: undefined,
          message: `is ${bytes} bytes; a jobs file may have at most ${MAX_FILE_BYTES} bytes (${MAX_FILE_BYTES / 1024 / 1024} MiB): split it`,
        },
      ],
    };
  }
  const tooDeepViolation = (offset: number): Violation =>
    violationAt(
      text,
      fileName,
      offset,
      (line) => `nests deeper than ${MAX_FILE_DEPTH} levels on line ${line}: ${DEPTH_RULE}`,
    );
  if (format === 'json') {
    // JSON.parse does not recurse, but the duplicate-key check below (yaml's composer) does.
    const deepAt = jsonTooDeepAt(text, MAX_FILE_DEPTH);
    if (deepAt !== undefined) return { ok: false, violations: [tooDeepViolation(deepAt)] };
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
  const tokens = parseYamlTokens(text, MAX_FILE_DEPTH);
  if (!Array.isArray(tokens)) return { ok: false, violations: [tooDeepViolation(tokens.tooDeepAt)] };
  const deepAt = yamlTooDeepAt(tokens, MAX_FILE_DEPTH);
  if (deepAt !== undefined) return { ok: false, violations: [tooDeepViolation(deepAt)] };
  const document = composeDocument(tokens, text.length);
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
  try {
    // Each alias is composed again where it is used: the cap keeps a few lines from expanding into
    // gigabytes (the "billion laughs"); the depth it can add is checked on the value (parseJobsDocument).
    return { ok: true, value: document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    return {
      ok: false,
      violations: [
        {
          path: fileName,
          value: undefined,
          message: `expands its aliases (*name) more than ${MAX_ALIAS_COUNT} times: write the values out, or use fewer aliases`,
        },
      ],
    };
  }
}

/** How many alias expansions yaml may make in a jobs file (its `maxAliasCount`, weighted by nesting). */
const MAX_ALIAS_COUNT = 100;

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
  try {
    return parseJobsDocument(document.value, subject);
  } catch (error) {
    if (!(error instanceof JobValidationError)) throw error;
    throw new JobValidationError(withLines(error.violations, text), subject);
  }
}

/**
 * Each violation with the line of its field in `text` (a file that parsed: its depth is checked), or of
 * the field's nearest parent that is there (a missing `target` is reported on its job's line).
 */
function withLines(violations: readonly Violation[], text: string): Violation[] {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, lineCounter });
  return violations.map((violation) => {
    const segments = splitPath(violation.path);
    if (!segments || violation.line !== undefined) return violation;
    for (let length = segments.length; length >= 0; length--) {
      const node = length === 0 ? document.contents : document.getIn(segments.slice(0, length), true);
      const offset = (node as { range?: [number, number, number] } | null | undefined)?.range?.[0];
      if (offset !== undefined) return { ...violation, line: lineCounter.linePos(offset).line };
    }
    return violation;
  });
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

  // A value passed in, or a YAML file whose aliases nest: before anything walks it (see checkJob).
  const deep = tooDeep(root, MAX_FILE_DEPTH);
  if (deep) {
    throw new JobValidationError(
      [
        {
          path: joinPath('', deep),
          value: undefined,
          message: `nests deeper than ${MAX_FILE_DEPTH} levels: ${DEPTH_RULE}`,
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

  // Calendars: each checked on its own; the jobs' `exclude` names are checked against them when declared.
  const rawCalendars = valueAt(root, ['calendars']);
  const calendarsDeclared =
    rawCalendars !== null && typeof rawCalendars === 'object' && !Array.isArray(rawCalendars);
  const calendars: Record<string, CalendarDefinition> = {};
  if (calendarsDeclared) {
    for (const [name, rawCalendar] of Object.entries(rawCalendars)) {
      const checked = checkCalendar(name, rawCalendar);
      if (checked.ok) calendars[name] = checked.calendar;
      else violations.push(...checked.violations);
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

    if (result.ok && calendarsDeclared) {
      result.job.exclude?.forEach((name, i) => {
        if (calendars[name] || !isRecord(rawCalendars) || name in rawCalendars) return;
        own.push({
          path: `${prefix}.exclude[${i}]`,
          value: name,
          message: `is not declared under calendars: (declared: ${Object.keys(rawCalendars).join(', ') || 'none'})`,
        });
      });
    }

    if (result.ok && own.length === 0) jobs.push(result.job);
    else violations.push(...sortByField(own, prefix));
  });

  if (violations.length > 0) throw new JobValidationError(violations, subject);
  return { jobs, pools, ...(calendarsDeclared ? { calendars } : {}) };
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
