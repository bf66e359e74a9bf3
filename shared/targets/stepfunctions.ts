/**
 * The `stepfunctions` target: StartExecution of a Standard state machine with the run context as input.
 * The run is handed off here and ends with the execution (functions/aws-events.ts, or the sweep's
 * DescribeExecution).
 */
import { createHash } from 'node:crypto';
import { StartExecutionCommand, type StartExecutionCommandOutput } from '@aws-sdk/client-sfn';
import type { StepFunctionsTarget } from '../jobs/types.js';
import { runMessage, sdkTargetError, untilAborted } from './common.js';
import type { RunContext, TargetClients, TargetResult } from './types.js';
import { TargetError } from './types.js';

/** Every execution punctual starts is named `punctual-…`; the construct's event rule matches this prefix. */
export const EXECUTION_PREFIX = 'punctual-';
/** An execution name is at most 80 characters (StartExecution's `name`). */
export const EXECUTION_NAME_MAX = 80;
const HASH_CHARS = 10;

/** `2026-12-01T02:00:00.000Z` → `20261201T020000000Z`: the slot, in characters a name may hold. */
function compactTime(iso: string): string {
  return iso.replace(/[-:.]/g, '');
}

function expandTime(compact: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(compact);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z` : '';
}

/** A short digest of `runId#attempt`, in lowercase letters and digits. */
export function attemptDigest(runId: string, attempt: number, chars = HASH_CHARS): string {
  const digest = createHash('sha256').update(`${runId}#${attempt}`).digest();
  let out = '';
  for (const byte of digest) {
    out += (byte % 36).toString(36);
    if (out.length === chars) break;
  }
  return out;
}

/**
 * The execution name of one attempt of a run: `punctual-<job>-[m]<slot>-a<attempt>-<digest>`, within
 * Step Functions' rules (at most 80 characters; none of whitespace, `<>{}[]?*"#%\^|~\`$&,;:/`; and only
 * `A-Za-z0-9-_` so that CloudWatch Logs can name it). The job id is shortened and its other characters
 * become `_` when it does not fit, so the digest of the run id and the attempt is what keeps two attempts,
 * or two runs, from ever sharing a name (a name can be used once per state machine for 90 days).
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html#StepFunctions-StartExecution-request-name
 *
 * @example executionName('nightly@2026-12-01T02:00:00.000Z', 1) // 'punctual-nightly-20261201T020000000Z-a1-<10 chars>'
 */
export function executionName(runId: string, attempt: number): string {
  const at = runId.lastIndexOf('@');
  const jobId = runId.slice(0, at);
  const rest = runId.slice(at + 1);
  const manual = rest.startsWith('manual-');
  const slot = `${manual ? 'm' : ''}${compactTime(manual ? rest.slice('manual-'.length) : rest)}`;
  const tail = `-${slot}-a${attempt}-${attemptDigest(runId, attempt)}`;
  const room = EXECUTION_NAME_MAX - EXECUTION_PREFIX.length - tail.length;
  const job = jobId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, Math.max(room, 0));
  return `${EXECUTION_PREFIX}${job}${tail}`;
}

/** What an execution name says about its run; `jobPart` is the job id only when it was kept whole. */
export interface ParsedExecutionName {
  jobPart: string;
  scheduledAt: string;
  manual: boolean;
  attempt: number;
  digest: string;
}

const NAME = /^punctual-([A-Za-z0-9_-]*)-(m?)(\d{8}T\d{9}Z)-a(\d{1,9})-([a-z0-9]{10})$/;

export function parseExecutionName(name: string): ParsedExecutionName | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const scheduledAt = expandTime(m[3] ?? '');
  if (!scheduledAt || Number.isNaN(Date.parse(scheduledAt))) return undefined;
  return {
    jobPart: m[1] ?? '',
    manual: m[2] === 'm',
    scheduledAt,
    attempt: Number(m[4]),
    digest: m[5] ?? '',
  };
}

/**
 * The run id and attempt an execution belongs to: from the run id in its input when the input is there
 * (events leave it out past 248 KB), else from the name when the job id was kept whole in it. Either way
 * the digest in the name must match, so an execution punctual did not name never maps to a run.
 */
export function runOfExecution(
  name: string,
  inputRunId?: string,
): { runId: string; attempt: number } | undefined {
  const parsed = parseExecutionName(name);
  if (!parsed) return undefined;
  const slot = `${parsed.manual ? 'manual-' : ''}${parsed.scheduledAt}`;
  const candidates = [inputRunId, `${parsed.jobPart}@${slot}`];
  for (const runId of candidates) {
    if (runId && attemptDigest(runId, parsed.attempt) === parsed.digest) {
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

/** Too many open executions: a client fault, but one that clears as executions end. */
const TRANSIENT = new Set(['ExecutionLimitExceeded']);

export async function invokeStepFunctions(
  target: StepFunctionsTarget,
  ctx: RunContext,
  deps: { clients: TargetClients; signal: AbortSignal },
): Promise<TargetResult> {
  const what = `stepfunctions ${target.stateMachineArn}`;
  const sfn = deps.clients.sfn;
  if (!sfn) {
    throw new TargetError(
      `${what}: this executor has no Step Functions client (the local runtime has no Step Functions emulator)`,
      false,
    );
  }
  const name = executionName(ctx.runId, ctx.attempt);
  const command = new StartExecutionCommand({
    stateMachineArn: target.stateMachineArn,
    name,
    input: runMessage(ctx),
  });
  let output: StartExecutionCommandOutput;
  try {
    output = await untilAborted(sfn.send(command, { abortSignal: deps.signal }), deps.signal);
  } catch (error) {
    if (deps.signal.aborted) throw error;
    const errorName = (error as { name?: string }).name ?? '';
    // The name is this attempt's alone: an execution that already has it was started by an earlier
    // delivery of this same attempt, so the hand-off is done (its events complete the run).
    if (errorName === 'ExecutionAlreadyExists') {
      return { detail: `ExecutionArn ${executionArn(target.stateMachineArn, name)} (already started)` };
    }
    if (TRANSIENT.has(errorName)) {
      throw new TargetError(`${what}: ${errorName}: ${(error as Error).message}`, true, { cause: error });
    }
    throw sdkTargetError(what, error);
  }
  return { detail: `ExecutionArn ${output.executionArn ?? executionArn(target.stateMachineArn, name)}` };
}
