/**
 * The names punctual gives what it starts in AWS: Step Functions execution names, ECS `startedBy` and
 * `clientToken`. Each is unique per stack and per attempt: it holds the stack's tag (a digest of its
 * table's name) and a digest of the attempt's completion token (32 random bytes, new for every attempt).
 * Neither the run id nor the attempt number is enough: two stacks may share a state machine or a cluster
 * (and job ids), and Step Functions keeps a name for 90 days while a run record expires after 30, so a
 * backfill of an old slot would meet the old execution's name.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html#StepFunctions-StartExecution-request-name
 *
 * The token itself is a secret (it reports for the attempt); a name holds a digest of its SHA-256, which
 * the run record keeps (`completionTokenHash`), so the sweep can name the execution again without it.
 *
 * Names of the previous form (`punctual-<job>-<slot>-a<attempt>-<digest of run id and attempt>`, from
 * attempts started before this version) are still recognised, so that an attempt in flight over a deploy
 * keeps its end; the token its execution or task carries is checked all the same.
 */
import { createHash } from 'node:crypto';

/** Every execution punctual starts is named `punctual-…`; the construct's event rule matches this prefix. */
export const EXECUTION_PREFIX = 'punctual-';
/** Every task punctual starts has `startedBy` beginning with this; the construct's event rule matches it. */
export const STARTED_BY_PREFIX = 'punctual-';
/** An execution name is at most 80 characters (StartExecution's `name`). */
export const EXECUTION_NAME_MAX = 80;
/** RunTask's `startedBy` is at most 36 characters. https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html */
export const STARTED_BY_MAX = 36;
/** Characters of the stack tag. */
export const STACK_TAG_CHARS = 6;
/** Characters of the token digest in an execution name (≈ 51 bits; the stack tag and the run id come with it). */
const NAME_DIGEST_CHARS = 10;

/** `bytes` as lowercase letters and digits, `chars` long (one character a byte). */
function base36(bytes: Uint8Array, chars: number): string {
  let out = '';
  for (const byte of bytes) {
    out += (byte % 36).toString(36);
    if (out.length === chars) break;
  }
  return out;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** What the run record keeps of a token: its SHA-256, hex (a reader of the table cannot report with it). */
export function tokenHash(token: string): string {
  return sha256(token).toString('hex');
}

/**
 * The stack's tag in every name it gives: a digest of its table's name (unique in an account and Region,
 * and what every punctual function, and `punctual dev`, is configured with).
 *
 * @example stackTag('Prod-SchedulerTable1A2B3C') // six lowercase letters and digits
 */
export function stackTag(tableName: string): string {
  return base36(sha256(`punctual-stack#${tableName}`), STACK_TAG_CHARS);
}

/** The digest of an attempt's token hash that names hold (`chars` lowercase letters and digits). */
export function tokenDigest(completionTokenHash: string, chars = NAME_DIGEST_CHARS): string {
  return base36(sha256(`punctual-name#${completionTokenHash}`), chars);
}

/** `2026-12-01T02:00:00.000Z` → `20261201T020000000Z`: the slot, in characters a name may hold. */
function compactTime(iso: string): string {
  return iso.replace(/[-:.]/g, '');
}

function expandTime(compact: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(compact);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z` : '';
}

/** The slot part of a name: `[m]<compact time>` (`m` for a manual run). */
function slotPart(runId: string): { jobId: string; slot: string } {
  const at = runId.lastIndexOf('@');
  const rest = runId.slice(at + 1);
  const manual = rest.startsWith('manual-');
  return {
    jobId: runId.slice(0, at),
    slot: `${manual ? 'm' : ''}${compactTime(manual ? rest.slice('manual-'.length) : rest)}`,
  };
}

/** The job id in the room a name leaves it: other characters become `_`, and it is cut to fit. */
function jobPart(jobId: string, room: number): string {
  return jobId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, Math.max(room, 0));
}

/**
 * The execution name of one attempt: `punctual-<stack>-<job>-[m]<slot>-a<attempt>-<token digest>`, within
 * Step Functions' rules (at most 80 characters; none of whitespace, `<>{}[]?*"#%\^|~\`$&,;:/` or control
 * characters; only `A-Za-z0-9-_` so that CloudWatch Logs can name it). The job id is shortened, and its
 * other characters become `_`, when it does not fit: the token digest is what keeps names apart.
 *
 * @example executionName('a1b2c3', 'nightly@2026-12-01T02:00:00.000Z', 1, run.completionTokenHash) // 'punctual-a1b2c3-nightly-20261201T020000000Z-a1-<10 chars>'
 */
export function executionName(
  stack: string,
  runId: string,
  attempt: number,
  completionTokenHash: string,
): string {
  return `${nameHead(stack, runId, attempt)}-${tokenDigest(completionTokenHash)}`;
}

/** An execution name without its token digest (and the `-` before it). */
function nameHead(stack: string, runId: string, attempt: number): string {
  const { jobId, slot } = slotPart(runId);
  const head = `${EXECUTION_PREFIX}${stack}-`;
  const tail = `-${slot}-a${attempt}`;
  const room = EXECUTION_NAME_MAX - head.length - tail.length - 1 - NAME_DIGEST_CHARS;
  return `${head}${jobPart(jobId, room)}${tail}`;
}

/** The digest of `runId#attempt` the names of the previous form hold. */
function legacyDigest(runId: string, attempt: number, chars: number): string {
  return base36(sha256(`${runId}#${attempt}`), chars);
}

/** The execution name an attempt started before names held the stack and the token had. */
export function legacyExecutionName(runId: string, attempt: number): string {
  const { jobId, slot } = slotPart(runId);
  const tail = `-${slot}-a${attempt}-${legacyDigest(runId, attempt, NAME_DIGEST_CHARS)}`;
  return `${EXECUTION_PREFIX}${jobPart(jobId, EXECUTION_NAME_MAX - EXECUTION_PREFIX.length - tail.length)}${tail}`;
}

/** What an execution name says about its run; `jobPart` is the job id only when it was kept whole. */
export interface ParsedExecutionName {
  /** The stack's tag; absent in a name of the previous form. */
  stack?: string;
  jobPart: string;
  scheduledAt: string;
  manual: boolean;
  attempt: number;
  digest: string;
}

const NAME = new RegExp(
  `^punctual-([a-z0-9]{${STACK_TAG_CHARS}})-([A-Za-z0-9_-]*)-(m?)(\\d{8}T\\d{9}Z)-a(\\d{1,9})-([a-z0-9]{${NAME_DIGEST_CHARS}})$`,
);
const LEGACY_NAME = /^punctual-([A-Za-z0-9_-]*)-(m?)(\d{8}T\d{9}Z)-a(\d{1,9})-([a-z0-9]{10})$/;

export function parseExecutionName(name: string): ParsedExecutionName | undefined {
  const current = NAME.exec(name);
  const legacy = current ? undefined : LEGACY_NAME.exec(name);
  const m = current ? [current[0], current[2], current[3], current[4], current[5], current[6]] : legacy;
  if (!m) return undefined;
  const scheduledAt = expandTime(m[3] ?? '');
  if (!scheduledAt || Number.isNaN(Date.parse(scheduledAt))) return undefined;
  return {
    ...(current ? { stack: current[1] } : {}),
    jobPart: m[1] ?? '',
    manual: m[2] === 'm',
    scheduledAt,
    attempt: Number(m[4]),
    digest: m[5] ?? '',
  };
}

/**
 * The run and attempt an execution belongs to: the run id in its input when the input is there (events
 * leave it out past 248 KB), else the one the name holds when the job id was kept whole in it. A name of
 * the previous form must also match its digest of the run id and attempt. `tokenDigest` is the name's
 * digest of the token, for the caller to hold against the run's (absent for the previous form).
 */
export function runOfExecution(
  name: string,
  inputRunId?: string,
): { runId: string; attempt: number; tokenDigest?: string } | undefined {
  const parsed = parseExecutionName(name);
  if (!parsed) return undefined;
  const slot = `${parsed.manual ? 'manual-' : ''}${parsed.scheduledAt}`;
  const fromName = `${parsed.jobPart}@${slot}`;
  if (parsed.stack !== undefined) {
    // The run id must give this very name, but for the token digest (which the caller checks).
    const runId = inputRunId ?? fromName;
    if (`${nameHead(parsed.stack, runId, parsed.attempt)}-${parsed.digest}` !== name) return undefined;
    return { runId, attempt: parsed.attempt, tokenDigest: parsed.digest };
  }
  for (const runId of [inputRunId, fromName]) {
    if (runId && legacyDigest(runId, parsed.attempt, NAME_DIGEST_CHARS) === parsed.digest) {
      return { runId, attempt: parsed.attempt };
    }
  }
  return undefined;
}

/**
 * The ARN of an execution: the state machine's ARN with `execution` for `stateMachine`, without a version
 * or alias qualifier, and the name appended (`arn:aws:states:<region>:<account>:execution:<machine>:<name>`).
 */
export function executionArn(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(':');
  const machine = parts[6] ?? '';
  return [...parts.slice(0, 5), 'execution', machine, name].join(':');
}

/**
 * `startedBy` of one attempt's task: `punctual-<stack>-<token digest>`, 36 characters (RunTask's limit),
 * so that the sweep can find the task again with ListTasks(startedBy).
 */
export function startedByFor(stack: string, completionTokenHash: string): string {
  const head = `${STARTED_BY_PREFIX}${stack}-`;
  return `${head}${tokenDigest(completionTokenHash, STARTED_BY_MAX - head.length)}`;
}

/** `startedBy` of a task started before it held the stack and the token. */
export function legacyStartedBy(runId: string, attempt: number): string {
  return `${STARTED_BY_PREFIX}${legacyDigest(runId, attempt, STARTED_BY_MAX - STARTED_BY_PREFIX.length)}`;
}

/** What a `startedBy` of the current form holds: the stack's tag and the token digest. */
export function parseStartedBy(startedBy: string): { stack: string; digest: string } | undefined {
  const m = new RegExp(
    `^${STARTED_BY_PREFIX}([a-z0-9]{${STACK_TAG_CHARS}})-([a-z0-9]{${STARTED_BY_MAX - STARTED_BY_PREFIX.length - STACK_TAG_CHARS - 1}})$`,
  ).exec(startedBy);
  return m ? { stack: m[1] ?? '', digest: m[2] ?? '' } : undefined;
}

/**
 * RunTask's `clientToken` of one attempt (at most 64 characters): the same for a repeat of the same
 * attempt (an SDK retry), so ECS starts its task once; another attempt, or another stack, never has it.
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html
 */
export function clientTokenFor(stack: string, completionTokenHash: string): string {
  return sha256(`punctual-client-token#${stack}#${completionTokenHash}`).toString('hex');
}
