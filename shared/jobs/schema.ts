/**
 * The job of SPEC §3 as written in a jobs file, validated and normalized into a `JobDefinition`.
 *
 * Field rules live in zod; the rules that relate fields (the schedule in its time zone and window, endAt
 * after startAt, jitter within the deadline, the size of the whole definition) run after it, on whatever
 * fields are valid, so that one pass reports every violation of a job.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { calendarNameProblem, MAX_EXCLUDE } from '../calendars/calendar.js';
import { InvalidScheduleError, JobValidationError, type Violation } from '../errors.js';
import { tooDeep } from '../json.js';
import { MAX_SCHEDULE_SPECS, parseSchedule } from '../schedule/index.js';
import { neverAllowedHost } from '../targets/address.js';
import { LIFECYCLE_SOURCE } from '../targets/reserved.js';
import { secretNameProblem } from '../targets/secrets.js';
import { awsTargetSchemas } from './aws-targets.js';
import { formatDuration, InvalidDurationError, parseDuration } from './duration.js';
import {
  jsonBytes,
  MAX_DEFINITION_BYTES,
  MAX_JOB_DEPTH,
  MAX_PAYLOAD_BYTES,
  MAX_PAYLOAD_DEPTH,
} from './limits.js';
import type { JobDefinition, PoolDefinition, Target } from './types.js';
import { errorMap, joinPath, type PathSegment, toViolations } from './violations.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const TARGET_TYPES = [
  'http',
  'lambda',
  'sqs',
  'eventbridge',
  'handler',
  'stepfunctions',
  'ecs',
] as const;
export const CATCH_UP_POLICIES = ['skip', 'latest', 'all'] as const;
export const OVERLAP_POLICIES = ['allow', 'skip', 'queue', 'replace'] as const;
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export const JOB_ID_PATTERN = /^[a-z0-9][a-z0-9\-_.]{0,127}$/;
/**
 * Pool names become part of an SQS queue name (≤ 80 of `[A-Za-z0-9_-]`) and a Lambda function name
 * (≤ 64 of the same) next to the stack's prefix, hence no dots and 32 characters at most.
 */
export const POOL_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const DEFAULT_POOL = 'default';

/** The values a job gets for the fields it leaves out (durations in ms). */
export const JOB_DEFAULTS = {
  timezone: 'UTC',
  pool: DEFAULT_POOL,
  catchUp: 'latest',
  maxCatchUp: 10,
  startingDeadline: 10 * MINUTE,
  overlap: 'skip',
  retry: { maxAttempts: 3, backoff: 30 * SECOND },
  jitter: 0,
  pauseAfterFailures: 0,
  enabled: true,
  targetTimeout: 30 * SECOND,
  httpMethod: 'POST',
  eventBusName: 'default',
  eventSource: 'punctual.job',
  eventDetailType: 'Scheduled Job',
  /** Asynchronous targets: no heartbeat for this long → the attempt is lost. */
  heartbeatTimeout: 5 * MINUTE,
  /** Asynchronous targets: an attempt still running after this is failed(timeout). */
  maxRunDuration: DAY,
} as const;

/** The targets that may hand a run off (`completion: async`). */
export const ASYNC_CAPABLE_TARGETS = ['http', 'lambda', 'sqs', 'eventbridge'] as const;
const COMPLETION_MODES = ['sync', 'async'] as const;
const completion = z.enum(COMPLETION_MODES).optional();

/** Largest executor batch: Lambda takes more than 10 SQS records a batch only with a batching window. */
export const MAX_POOL_BATCH_SIZE = 10;

export const POOL_DEFAULTS: PoolDefinition = { concurrency: 2, timeout: 5 * MINUTE, memorySize: 512 };

// ---------------------------------------------------------------------------------------------------
// Field rules. Each returns the broken rule in words, or undefined.

export function jobIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'must not be empty';
  if (id.length > 128) return `must be at most 128 characters (is ${id.length})`;
  if (id.includes('@')) return 'must not contain "@": run ids are jobId@slot';
  if (/[A-Z]/.test(id)) return 'must be lowercase: a-z, 0-9, "-", "_" and "." only';
  if (!/^[a-z0-9]/.test(id)) return 'must start with a lowercase letter or a digit';
  const bad = /[^a-z0-9\-_.]/.exec(id);
  if (bad) return `must contain only a-z, 0-9, "-", "_" and "." (found ${JSON.stringify(bad[0])})`;
  return undefined;
}

function poolNameProblem(name: string): string | undefined {
  if (POOL_NAME_PATTERN.test(name)) return undefined;
  return 'is not a valid pool name: 1 to 32 of a-z, 0-9, "-" and "_", starting with a letter or a digit';
}

const zoneCache = new Map<string, boolean>();
/** True for a zone name the runtime's ICU knows (`UTC`, `Europe/Berlin`); false for offsets and typos. */
export function isValidTimeZone(zone: string): boolean {
  let valid = zoneCache.get(zone);
  if (valid === undefined) {
    // Offsets like `+01:00` are not zones: they have no DST rules and cron needs the zone's rules.
    valid = /^[A-Za-z]/.test(zone);
    if (valid) {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: zone });
      } catch {
        valid = false;
      }
    }
    zoneCache.set(zone, valid);
  }
  return valid;
}

function httpUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL: write it in full, e.g. https://example.com/hook';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (text.length > 2048) return `must be at most 2048 characters (is ${text.length})`;
  return undefined;
}

/**
 * An http target's URL: an http(s) URL whose host is not one no target policy allows (link-local and
 * metadata addresses in any notation, metadata host names; docs/security.md). What else the operator's
 * policy refuses (loopback, private ranges, names resolving inward) is decided when the run connects.
 */
function httpTargetUrlProblem(text: string): string | undefined {
  const problem = httpUrlProblem(text);
  if (problem) return problem;
  const refusal = neverAllowedHost(new URL(text).hostname);
  return refusal ? `host ${refusal} (docs/security.md)` : undefined;
}

// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_RequestSyntax (FunctionName)
const LAMBDA_FUNCTION =
  /^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$/;
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html (EventBusName)
const EVENT_BUS = /^(arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[/.\-_A-Za-z0-9]{1,256}$/;
// RFC 9110 token
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * Header names that carry credentials: in plain `headers` their value would be stored in the job item and
 * in every run record's copy of the definition, and shown by `jobs get`; they must name a secret instead.
 */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie|x-api-key)$|-(token|key)$/i;
/** punctual's own request headers (run id, attempt, signature, timestamp): never a job's to set. */
const RESERVED_HEADER = /^x-punctual-/i;

/** Why a header of an http target is refused, or undefined. */
function headerProblem(name: string, value: unknown): string | undefined {
  if (!HEADER_NAME.test(name)) return 'is not a valid HTTP header name';
  if (RESERVED_HEADER.test(name)) {
    return 'is reserved: punctual sets the x-punctual-* headers itself (run id, attempt, signature)';
  }
  if (/^idempotency-key$/i.test(name)) {
    return 'is reserved: punctual sets it to the run id on every call (docs/jobs.md, "Idempotency")';
  }
  if (typeof value === 'string') {
    if (CREDENTIAL_HEADER.test(name)) {
      return (
        'looks like a credential, and a plain header is stored in the job and every run record: ' +
        `name a declared secret instead, e.g. ${name}: { secret: my-secret${/authorization$/i.test(name) ? ", prefix: 'Bearer '" : ''} } (docs/security.md)`
      );
    }
    if (/[\r\n\0]/.test(value)) return 'must not contain line breaks';
  }
  return undefined;
}

const secretName = z.string().superRefine(refineWith(secretNameProblem));

/** A header whose value is a declared secret: `{ secret: NAME, prefix: 'Bearer ' }`. */
const secretHeader = z.strictObject({
  secret: secretName,
  prefix: z
    .string()
    .max(256)
    .superRefine(refineWith((p) => (/[\r\n\0]/.test(p) ? 'must not contain line breaks' : undefined)))
    .optional(),
});

function refineWith(problem: (value: string) => string | undefined) {
  return (value: string, ctx: z.RefinementCtx<string>) => {
    const message = problem(value);
    if (message) ctx.addIssue({ code: 'custom', message });
  };
}

function pattern(re: RegExp, rule: string) {
  return (value: string) => (re.test(value) ? undefined : rule);
}

/** A duration written as text (`5m`) or a number of ms, kept as ms, within [min, max]. */
function duration(min: number, max: number, options: { wholeSeconds?: boolean } = {}) {
  return z.unknown().transform((value, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(value as string | number);
    } catch (error) {
      if (!(error instanceof InvalidDurationError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.rule });
      return z.NEVER;
    }
    if (ms < min) {
      // `timeout: 30` in YAML is 30 ms; the writer most likely meant seconds.
      const hint =
        typeof value === 'number' ? ` (a bare number counts milliseconds: write ${value}s for seconds)` : '';
      ctx.addIssue({ code: 'custom', message: `must be at least ${formatDuration(min)}${hint}` });
      return z.NEVER;
    }
    if (ms > max) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${formatDuration(max)}` });
      return z.NEVER;
    }
    if (options.wholeSeconds && ms % SECOND !== 0) {
      ctx.addIssue({ code: 'custom', message: 'must be a whole number of seconds' });
      return z.NEVER;
    }
    return ms;
  });
}

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;
const INSTANT_RULE = 'must be an ISO-8601 time with a zone offset or Z, e.g. 2026-12-01T00:00:00Z';

/** Epoch ms of an ISO-8601 instant with an offset, or undefined. Rejects what Date.parse would roll over. */
export function parseInstant(text: string): number | undefined {
  const m = ISO_INSTANT.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((s) =>
    Number(s ?? 0),
  ) as [number, number, number, number, number, number];
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = 0;
  if (!m[8]) {
    const offsetHours = Number(m[10]);
    const offsetMinutes = Number(m[11]);
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    offset = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * MINUTE;
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, millis);
  return utc.getTime() - offset;
}

/** An instant written as ISO-8601 with an offset (or a Date), kept as UTC ISO (`…T00:00:00.000Z`). */
const instant = z.unknown().transform((value, ctx) => {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'string'
        ? parseInstant(value.trim())
        : undefined;
  if (ms === undefined || Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: INSTANT_RULE });
    return z.NEVER;
  }
  return new Date(ms).toISOString();
});

/** The first thing in a payload that JSON cannot carry as is, or that nests too deep. */
function payloadProblem(
  value: unknown,
  path: PathSegment[],
  depth: number,
): [PathSegment[], string] | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') {
    return Number.isFinite(value) ? undefined : [path, `${value} is not a JSON number`];
  }
  if (typeof value !== 'object') return [path, `must be JSON: a ${typeof value} is not a JSON value`];
  if (depth >= MAX_PAYLOAD_DEPTH) {
    return [path, `nests deeper than ${MAX_PAYLOAD_DEPTH} levels (DynamoDB allows 32 in a whole item)`];
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = payloadProblem(value[i], [...path, i], depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    return [path, `must be JSON: a ${proto?.constructor?.name ?? 'class instance'} is not a plain object`];
  }
  for (const [key, item] of Object.entries(value)) {
    const problem = payloadProblem(item, [...path, key], depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Any JSON value within the size limit. Kept as the copy JSON would deliver (`-0` becomes `0`), so that the
 * job equals itself after a trip through the store or a queue.
 */
const payload = z
  .unknown()
  .superRefine((value, ctx) => {
    const problem = payloadProblem(value, [], 0);
    if (problem) {
      ctx.addIssue({ code: 'custom', path: problem[0], message: problem[1] });
      return;
    }
    const bytes = jsonBytes(value);
    if (bytes > MAX_PAYLOAD_BYTES) {
      ctx.addIssue({
        code: 'custom',
        message: `is ${bytes} bytes as JSON; the limit is ${MAX_PAYLOAD_BYTES} bytes (${MAX_PAYLOAD_BYTES / 1024} KiB): pass a reference (an S3 key, a URL) instead of the data`,
      });
    }
  })
  .transform((value): unknown => JSON.parse(JSON.stringify(value)));

// ---------------------------------------------------------------------------------------------------
// Targets

const targetTimeout = duration(SECOND, 15 * MINUTE).default(JOB_DEFAULTS.targetTimeout);

const httpTarget = z.strictObject({
  type: z.literal('http'),
  url: z.string().superRefine(refineWith(httpTargetUrlProblem)),
  method: z.enum(HTTP_METHODS).default(JOB_DEFAULTS.httpMethod),
  headers: z
    .record(z.string(), z.union([z.string(), secretHeader]))
    .superRefine((headers, ctx) => {
      for (const [name, value] of Object.entries(headers)) {
        const message = headerProblem(name, value);
        if (message) ctx.addIssue({ code: 'custom', path: [name], message });
      }
    })
    .optional(),
  hmacSecret: secretName.optional(),
  /** Deprecated: read as `hmacSecret` (a declared secret's name, never an environment variable). */
  hmacSecretEnv: secretName.optional(),
  completion,
  timeout: targetTimeout,
});

const lambdaTarget = z.strictObject({
  type: z.literal('lambda'),
  functionName: z
    .string()
    .max(170)
    .superRefine(
      refineWith(
        pattern(
          LAMBDA_FUNCTION,
          'must be a Lambda function name or ARN, e.g. my-function or arn:aws:lambda:…',
        ),
      ),
    ),
  completion,
  timeout: targetTimeout,
});

const sqsTarget = z.strictObject({
  type: z.literal('sqs'),
  queueUrl: z
    .string()
    .superRefine(
      refineWith((url) =>
        httpUrlProblem(url)
          ? 'must be a queue URL, e.g. https://sqs.eu-west-1.amazonaws.com/123456789012/q'
          : undefined,
      ),
    ),
  completion,
  timeout: targetTimeout,
});

const eventBridgeTarget = z.strictObject({
  type: z.literal('eventbridge'),
  eventBusName: z
    .string()
    .superRefine(refineWith(pattern(EVENT_BUS, 'must be an event bus name or ARN')))
    .default(JOB_DEFAULTS.eventBusName),
  // PutEvents refuses sources that begin with `aws.`: they are AWS's own.
  source: z
    .string()
    .min(1)
    .max(256)
    .superRefine(
      refineWith((s) => {
        if (s.startsWith('aws.')) return 'must not start with "aws." (reserved by AWS)';
        // punctual's lifecycle events (Run Failed, Run Succeeded, …) carry it: a job's event must not pass for one.
        if (s === LIFECYCLE_SOURCE)
          return `must not be "${LIFECYCLE_SOURCE}" (punctual's own run events use it); e.g. punctual.job, the default`;
        return undefined;
      }),
    )
    .default(JOB_DEFAULTS.eventSource),
  detailType: z.string().min(1).max(128).default(JOB_DEFAULTS.eventDetailType),
  completion,
  timeout: targetTimeout,
});

const handlerTarget = z.strictObject({
  type: z.literal('handler'),
  name: z
    .string()
    .max(128)
    .superRefine(
      refineWith(pattern(/^[A-Za-z0-9_.-]+$/, 'must be a handler name: A-Z, a-z, 0-9, "_", "." and "-"')),
    ),
  timeout: targetTimeout,
});

const { stepFunctionsTarget, ecsTarget } = awsTargetSchemas(targetTimeout);

const TARGET_LIST = TARGET_TYPES.join(', ');

const target = z.discriminatedUnion(
  'type',
  [httpTarget, lambdaTarget, sqsTarget, eventBridgeTarget, handlerTarget, stepFunctionsTarget, ecsTarget],
  {
    // Typed as union issues only, but a target that is not an object comes here as invalid_type too.
    error: (issue) => {
      if ((issue.code as string) === 'invalid_type' && issue.input !== undefined) {
        return `must be an object with a type (${TARGET_LIST})`;
      }
      if (issue.code === 'invalid_union') {
        const type = (issue.input as { type?: unknown } | undefined)?.type;
        return type === undefined ? `is required: one of ${TARGET_LIST}` : `must be one of ${TARGET_LIST}`;
      }
      return undefined;
    },
  },
);

// ---------------------------------------------------------------------------------------------------
// Tags

/** Most tags a job may carry: each is an index entry written on every put (shared/store/tags.ts). */
export const MAX_TAGS = 10;
const TAG_KEY = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/;
const TAG_VALUE_CHARS = 128;

/** Why a tag `key: value` is refused, or undefined. */
export function tagProblem(key: string, value: string): string | undefined {
  if (!TAG_KEY.test(key)) {
    return `the tag key "${key}" is not 1–64 letters, digits and _ . : / -, starting with a letter or digit`;
  }
  if (value.length === 0 || value.length > TAG_VALUE_CHARS) {
    return `a tag value must have 1 to ${TAG_VALUE_CHARS} characters`;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(value))
    return 'a tag value must not contain control characters or line breaks';
  return undefined;
}

/** `tags: { team: payments }`: a few short labels to list jobs by (`jobs list --tag team=payments`). */
const tags = z
  .record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    // Every tag checked here, in one pass, so that all bad tags are reported at once.
    const keys = Object.keys(value);
    if (keys.length > MAX_TAGS) {
      ctx.addIssue({
        code: 'custom',
        message: `has ${keys.length} tags; a job may have at most ${MAX_TAGS}`,
      });
    }
    for (const key of keys) {
      const tag = value[key];
      const problem =
        typeof tag === 'string' ? tagProblem(key, tag) : 'a tag value must be text (quote a number or true)';
      if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
    }
  })
  .transform((value) => value as Record<string, string>);

// ---------------------------------------------------------------------------------------------------
// Job

const jobShape = {
  id: z.string().superRefine(refineWith(jobIdProblem)),
  description: z.string().max(1024).optional(),
  // One expression, or a list whose slots are the union (parsed together in crossFieldViolations).
  schedule: z.union(
    [z.string().min(1).max(256), z.array(z.string().min(1).max(256)).min(1).max(MAX_SCHEDULE_SPECS)],
    {
      error: (issue) =>
        issue.input === undefined
          ? 'is required'
          : `must be an expression (1–256 characters) or a list of 1–${MAX_SCHEDULE_SPECS} of them`,
    },
  ),
  timezone: z
    .string()
    .superRefine(
      refineWith((zone) =>
        isValidTimeZone(zone)
          ? undefined
          : 'is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)',
      ),
    )
    .default(JOB_DEFAULTS.timezone),
  target,
  payload: payload.optional(),
  pool: z.string().superRefine(refineWith(poolNameProblem)).default(JOB_DEFAULTS.pool),
  catchUp: z.enum(CATCH_UP_POLICIES).default(JOB_DEFAULTS.catchUp),
  maxCatchUp: z.number().int().min(1).max(1000).default(JOB_DEFAULTS.maxCatchUp),
  startingDeadline: duration(SECOND, 7 * DAY).default(JOB_DEFAULTS.startingDeadline),
  overlap: z.enum(OVERLAP_POLICIES).default(JOB_DEFAULTS.overlap),
  retry: z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(20).default(JOB_DEFAULTS.retry.maxAttempts),
      // SQS holds a message back at most 12 h (the visibility timeout's maximum).
      backoff: duration(SECOND, 12 * HOUR).default(JOB_DEFAULTS.retry.backoff),
    })
    .default({ ...JOB_DEFAULTS.retry }),
  jitter: duration(0, 15 * MINUTE).default(JOB_DEFAULTS.jitter),
  pauseAfterFailures: z.number().int().min(0).max(1000).default(JOB_DEFAULTS.pauseAfterFailures),
  heartbeatTimeout: duration(10 * SECOND, 12 * HOUR).optional(),
  // Run records live 30 days by default; a week bounds an attempt well inside that.
  maxRunDuration: duration(MINUTE, 7 * DAY).optional(),
  startAt: instant.optional(),
  endAt: instant.optional(),
  enabled: z.boolean().default(JOB_DEFAULTS.enabled),
  tags: tags.optional(),
  maxRuns: z.number().int().min(1).max(1_000_000).optional(),
  afterLastRun: z.enum(['delete', 'keep']).optional(),
  // Names of exclusion calendars (shared/calendars): a slot one excludes is recorded skipped(calendar).
  exclude: z
    .array(z.string().superRefine(refineWith((name) => calendarNameProblem(name))))
    .min(1)
    .max(MAX_EXCLUDE)
    .optional(),
};

/**
 * The zod schema of one job as written: the rules of each field, defaults and normalization. The rules
 * between fields (the schedule itself, the window, jitter within the deadline, the definition's size)
 * are not in it: use `parseJob` / `validateJob` for the whole check.
 */
export const jobSchema = z.strictObject(jobShape);

/** The fields a job may have, in the order violations are reported. */
export const JOB_FIELDS = Object.keys(jobShape) as (keyof typeof jobShape)[];

// Compile-time check that the schema produces exactly the contract's type.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const schemaMatchesContract: Equal<z.output<typeof target>, Target> = true;
const jobMatchesContract: z.output<typeof jobSchema> extends JobDefinition ? true : false = true;
void schemaMatchesContract;
void jobMatchesContract;

export const poolSchema = z.strictObject({
  concurrency: z.number().int().min(1).max(1000).default(POOL_DEFAULTS.concurrency),
  // The executor function's timeout: Lambda takes whole seconds, 15 minutes at most.
  timeout: duration(SECOND, 15 * MINUTE, { wholeSeconds: true }).default(POOL_DEFAULTS.timeout),
  // Lambda memory: 128 to 10,240 MB.
  memorySize: z.number().int().min(128).max(10_240).default(POOL_DEFAULTS.memorySize),
  // The event source mapping's batch size: above 10 Lambda requires a batching window, which would delay
  // starts.
  batchSize: z.number().int().min(1).max(MAX_POOL_BATCH_SIZE).optional(),
});

/** Name rule shared with the file parser. */
export { poolNameProblem };

// ---------------------------------------------------------------------------------------------------
// Parsing

/** Parses `input` with a schema and returns the value or the violations, paths prefixed with `prefix`. */
export function parseWith<T>(
  schema: z.ZodType<T>,
  input: unknown,
  prefix: string,
): { ok: true; value: T } | { ok: false; violations: Violation[] } {
  const knownKeys = new Map<string, string[]>();
  const result = schema.safeParse(input, { error: errorMap(knownKeys) });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, violations: toViolations(result.error.issues, input, prefix, knownKeys) };
}

/** The value of one field when it is valid on its own, else undefined (for the cross-field rules). */
function fieldValue<K extends keyof typeof jobShape>(
  key: K,
  raw: Record<string, unknown>,
): z.output<(typeof jobShape)[K]> | undefined {
  const result = jobShape[key].safeParse(raw[key]);
  return result.success ? (result.data as z.output<(typeof jobShape)[K]>) : undefined;
}

/** The rules between fields, checked on the fields that are valid on their own. */
function crossFieldViolations(raw: Record<string, unknown>, prefix: string): Violation[] {
  const violations: Violation[] = [];
  const startAt = fieldValue('startAt', raw);
  const endAt = fieldValue('endAt', raw);
  const startMs = startAt === undefined ? undefined : Date.parse(startAt);
  const endMs = endAt === undefined ? undefined : Date.parse(endAt);
  const windowOk = startMs === undefined || endMs === undefined || endMs > startMs;
  if (!windowOk) {
    violations.push({
      path: joinPath(prefix, ['endAt']),
      value: raw['endAt'],
      message: `must be after startAt (${startAt})`,
    });
  }

  const schedule = fieldValue('schedule', raw);
  if (schedule !== undefined) {
    // An invalid zone is reported on `timezone`; the expression is still checked, in UTC.
    const timezone = fieldValue('timezone', raw) ?? 'UTC';
    // A list is checked expression by expression, so that each violation names its index.
    const expressions = typeof schedule === 'string' ? [schedule] : schedule;
    expressions.forEach((expression, i) => {
      const path = joinPath(prefix, typeof schedule === 'string' ? ['schedule'] : ['schedule', i]);
      if (expressions.indexOf(expression) !== i) {
        violations.push({
          path,
          value: expression,
          message: `repeats schedule[${expressions.indexOf(expression)}]`,
        });
        return;
      }
      try {
        parseSchedule(expression, {
          timezone,
          // rate() needs an anchor to parse; the real one (creation time) is set when the job is stored.
          anchor: startMs ?? 0,
          ...(startMs === undefined ? {} : { startAt: startMs }),
          ...(endMs === undefined || !windowOk ? {} : { endAt: endMs }),
        });
      } catch (error) {
        if (!(error instanceof InvalidScheduleError)) throw error;
        violations.push({ path, value: expression, message: error.rule });
      }
    });
  }

  violations.push(...completionViolations(raw, prefix));
  violations.push(...replaceViolations(raw, prefix));

  const target = raw['target'] as { hmacSecret?: unknown; hmacSecretEnv?: unknown } | undefined;
  if (
    target &&
    typeof target === 'object' &&
    target.hmacSecret !== undefined &&
    target.hmacSecretEnv !== undefined
  ) {
    violations.push({
      path: joinPath(prefix, ['target', 'hmacSecretEnv']),
      value: target.hmacSecretEnv,
      message: 'is the deprecated spelling of hmacSecret: write hmacSecret alone',
    });
  }

  const jitter = fieldValue('jitter', raw);
  const deadline = fieldValue('startingDeadline', raw);
  if (jitter !== undefined && deadline !== undefined && jitter > 0 && jitter >= deadline) {
    violations.push({
      path: joinPath(prefix, ['jitter']),
      value: raw['jitter'],
      message: `must be shorter than startingDeadline (${formatDuration(deadline)}), or jittered runs would be recorded missed(deadline)`,
    });
  }
  return violations;
}

/** Whether a target (as written) ends its runs by a report rather than when the invocation returns. */
export function isAsyncTarget(target: unknown): boolean {
  const written = target as { type?: unknown; completion?: unknown } | null | undefined;
  if (!written || typeof written !== 'object') return false;
  // stepfunctions and ecs targets hand off by nature: their end comes from AWS's own events.
  return written.completion === 'async' || written.type === 'stepfunctions' || written.type === 'ecs';
}

/**
 * Whether punctual can stop a run of this target (as written) once it has started: a stepfunctions
 * execution (StopExecution), an ecs task (StopTask), or the worker of an asynchronous target, which is told
 * at its next heartbeat (docs/jobs.md "Overlap replace"). A synchronous call cannot be taken back.
 */
export function isStoppableTarget(target: unknown): boolean {
  return isAsyncTarget(target);
}

/** Overlap `replace` only with a target whose running run punctual can stop. */
function replaceViolations(raw: Record<string, unknown>, prefix: string): Violation[] {
  const target = raw['target'] as { type?: unknown } | undefined;
  if (raw['overlap'] !== 'replace' || !target || typeof target !== 'object') return [];
  if (typeof target.type !== 'string' || !(TARGET_TYPES as readonly string[]).includes(target.type))
    return [];
  if (isStoppableTarget(target)) return [];
  return [
    {
      path: joinPath(prefix, ['overlap']),
      value: 'replace',
      message: `needs a target punctual can stop once it runs: stepfunctions (StopExecution), ecs (StopTask) or completion: async (the worker is told at its heartbeat); a ${target.type} target ends when its invocation returns, so a running one cannot be replaced (use skip or queue)`,
    },
  ];
}

/** `completion: async` only where a hand-off exists; the async bounds only with an async target. */
function completionViolations(raw: Record<string, unknown>, prefix: string): Violation[] {
  const violations: Violation[] = [];
  const target = raw['target'] as { type?: unknown; completion?: unknown } | undefined;
  const type = target && typeof target === 'object' ? target.type : undefined;
  if (
    target?.completion === 'async' &&
    typeof type === 'string' &&
    !(ASYNC_CAPABLE_TARGETS as readonly string[]).includes(type) &&
    // stepfunctions and ecs are async by nature; their own schema keeps `completion` at async.
    !isAsyncTarget({ type })
  ) {
    violations.push({
      path: joinPath(prefix, ['target', 'completion']),
      value: 'async',
      message: `is for targets that hand a run off (${ASYNC_CAPABLE_TARGETS.join(', ')}); a ${type} target ends when its invocation returns`,
    });
  }
  const async = isAsyncTarget(target);
  for (const field of ['heartbeatTimeout', 'maxRunDuration'] as const) {
    if (raw[field] !== undefined && !async) {
      violations.push({
        path: joinPath(prefix, [field]),
        value: raw[field],
        message: 'applies only to an asynchronous target (target.completion: async, stepfunctions, ecs)',
      });
    }
  }
  const heartbeat = fieldValue('heartbeatTimeout', raw);
  const maxRun = fieldValue('maxRunDuration', raw);
  if (async && (heartbeat ?? JOB_DEFAULTS.heartbeatTimeout) >= (maxRun ?? JOB_DEFAULTS.maxRunDuration)) {
    violations.push({
      path: joinPath(prefix, [heartbeat !== undefined ? 'heartbeatTimeout' : 'maxRunDuration']),
      value: raw[heartbeat !== undefined ? 'heartbeatTimeout' : 'maxRunDuration'],
      message: `heartbeatTimeout (${formatDuration(heartbeat ?? JOB_DEFAULTS.heartbeatTimeout)}) must be shorter than maxRunDuration (${formatDuration(maxRun ?? JOB_DEFAULTS.maxRunDuration)})`,
    });
  }
  return violations;
}

function fieldRank(path: string, prefix: string): number {
  const rest = path.slice(prefix.length).replace(/^\./, '');
  const field = /^[^.[]*/.exec(rest)?.[0] ?? '';
  const rank = JOB_FIELDS.indexOf(field as (typeof JOB_FIELDS)[number]);
  return rank === -1 ? JOB_FIELDS.length : rank;
}

/** Drops keys whose value is undefined, so a parsed job deep-equals its JSON round trip. */
function withoutUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}

/**
 * Validates one job and reports every violation, with paths under `prefix` (`jobs[2]` in a file).
 * @internal shared with the file parser.
 */
export function checkJob(
  input: unknown,
  prefix = '',
): { ok: true; job: JobDefinition } | { ok: false; violations: Violation[] } {
  // Before zod or anything else walks the job: each of them recurses, and a job nested 20,000 deep would
  // overflow the stack in the first one (a RangeError, not a violation).
  const deep = tooDeep(input, MAX_JOB_DEPTH);
  if (deep) {
    const inPayload = deep[0] === 'payload';
    return {
      ok: false,
      violations: [
        {
          path: joinPath(prefix, deep),
          value: undefined,
          message: inPayload
            ? `nests deeper than ${MAX_PAYLOAD_DEPTH} levels (DynamoDB allows 32 in a whole item)`
            : `nests deeper than ${MAX_JOB_DEPTH} levels: a job may nest at most ${MAX_JOB_DEPTH} (its payload ${MAX_PAYLOAD_DEPTH}; DynamoDB allows 32 in a whole item)`,
        },
      ],
    };
  }
  const parsed = parseWith(jobSchema, input, prefix);
  const isObject = input !== null && typeof input === 'object' && !Array.isArray(input);
  const violations = parsed.ok ? [] : [...parsed.violations];
  if (isObject) {
    const related = crossFieldViolations(input as Record<string, unknown>, prefix);
    // A rule between fields that explains a field (`target.completion` on a handler target) says more
    // than "is not a known field" at the same path: keep the explanation only.
    const explained = new Set(related.map((violation) => violation.path));
    const kept = violations.filter(
      (violation) => !(explained.has(violation.path) && violation.message.startsWith('is not a known field')),
    );
    violations.splice(0, violations.length, ...kept, ...related);
  }

  if (violations.length === 0 && parsed.ok) {
    const job = withoutUndefined(parsed.value as JobDefinition);
    const bytes = jsonBytes(job);
    if (bytes <= MAX_DEFINITION_BYTES) return { ok: true, job };
    violations.push({
      path: prefix,
      value: undefined,
      message: `is ${bytes} bytes as JSON; a job definition must be at most ${MAX_DEFINITION_BYTES} bytes (${MAX_DEFINITION_BYTES / 1024} KiB), payload included`,
    });
  }
  return { ok: false, violations: sortByField(violations, prefix) };
}

/** Violations of one job in the order of its fields (id, schedule, …), unknown keys last; stable. */
export function sortByField(violations: Violation[], prefix: string): Violation[] {
  const ranked = violations.map((v, i) => ({ v, i, rank: fieldRank(v.path, prefix) }));
  ranked.sort((a, b) => a.rank - b.rank || a.i - b.i);
  return ranked.map((r) => r.v);
}

/** Validates a job without throwing: the normalized job, or every violation. */
export function validateJob(
  input: unknown,
): { ok: true; job: JobDefinition } | { ok: false; violations: Violation[] } {
  return checkJob(input, '');
}

/**
 * Validates and normalizes a job (defaults applied, durations in ms, times in UTC ISO). Also re-reads a
 * stored definition: a normalized job parses to itself.
 *
 * @throws JobValidationError listing every violation.
 * @example parseJob({ id: 'nightly', schedule: 'cron(0 2 * * ? *)', target: { type: 'handler', name: 'report' } })
 */
export function parseJob(input: unknown): JobDefinition {
  const result = checkJob(input, '');
  if (result.ok) return result.job;
  const id = (input as { id?: unknown } | null)?.id;
  throw new JobValidationError(
    result.violations,
    typeof id === 'string' ? `job ${JSON.stringify(id)}` : 'job',
  );
}

/** True when `value` is a valid job already in normal form (what the store writes), e.g. for a stored item. */
export function isJobDefinition(value: unknown): value is JobDefinition {
  const result = checkJob(value, '');
  return result.ok && isDeepStrictEqual(result.job, value);
}
