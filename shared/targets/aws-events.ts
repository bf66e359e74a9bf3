/**
 * From AWS's own word about an execution or a task to a completion report: the pure mapping behind
 * functions/aws-events.ts (EventBridge events) and the sweep's fallback (DescribeExecution,
 * DescribeTasks), which both carry the same fields.
 *
 *   Step Functions Execution Status Change (source aws.states)
 *     SUCCEEDED → complete, with the execution's output; FAILED / TIMED_OUT / ABORTED → fail, with the
 *     error and cause; RUNNING → heartbeat (the sweep uses it; an event of it is ignored).
 *     https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
 *   ECS Task State Change (source aws.ecs)
 *     lastStatus STOPPED: the run's container exited 0 → complete, else fail with the stop code, the
 *     stopped reason and the exit code; any other status → heartbeat.
 *     https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
 *
 * The run and the attempt come from the execution's name and input, or from the environment punctual gave
 * the task's container. Whatever is not punctual's is ignored, with a reason. Whose attempt it is, the
 * caller decides with the token (or the name's digest of it) against the run record.
 */
import { ECS_ENV } from './ecs.js';
import {
  legacyStartedBy,
  parseStartedBy,
  runOfExecution,
  STACK_TAG_CHARS,
  STARTED_BY_MAX,
  STARTED_BY_PREFIX,
  tokenDigest,
  tokenHash,
} from './names.js';

export const SFN_SOURCE = 'aws.states';
export const SFN_DETAIL_TYPE = 'Step Functions Execution Status Change';
export const ECS_SOURCE = 'aws.ecs';
export const ECS_DETAIL_TYPE = 'ECS Task State Change';

/** A report by attempt, as `reportCompletion` (shared/runs/completion.ts) takes it from AWS's events. */
export interface ExternalReport {
  runId: string;
  attempt: number;
  source: 'stepfunctions' | 'ecs';
  type: 'heartbeat' | 'complete' | 'fail';
  output?: unknown;
  error?: string;
}

/**
 * A mapped event: the report and, when the execution's input or the task's environment carried it, the
 * attempt's completion token; when the input was left out, the execution name's digest of the token
 * (names.ts `tokenDigest`). The caller checks either against the run (`tokenMatches`), so a second
 * punctual stack that uses the same state machine or cluster never settles runs that are not its own.
 */
export type Mapped = { report: ExternalReport; token?: string; tokenDigest?: string } | { ignored: string };

/**
 * Whether what an execution or task carries is the attempt's own token: the token itself (its hash is
 * the run's `completionTokenHash`), else the name's digest of that hash. Nothing to check is a mismatch.
 */
export function tokenMatches(
  mapped: { token?: string; tokenDigest?: string },
  completionTokenHash: string,
): boolean {
  if (mapped.token !== undefined) return tokenHash(mapped.token) === completionTokenHash;
  if (mapped.tokenDigest !== undefined)
    return tokenDigest(completionTokenHash, mapped.tokenDigest.length) === mapped.tokenDigest;
  return false;
}

/** The fields of an execution that both the event's detail and DescribeExecution's answer carry. */
export interface ExecutionLike {
  name?: string | null;
  status?: string | null;
  input?: string | null;
  output?: string | null;
  error?: string | null;
  cause?: string | null;
}

/** The fields of a task that both the event's detail and DescribeTasks' answer carry. */
export interface TaskLike {
  taskArn?: string | null;
  lastStatus?: string | null;
  startedBy?: string | null;
  stopCode?: string | null;
  stoppedReason?: string | null;
  overrides?: {
    containerOverrides?:
      | { name?: string | null; environment?: { name?: string; value?: string }[] | null }[]
      | null;
  } | null;
  containers?: { name?: string | null; exitCode?: number | null; reason?: string | null }[] | null;
}

/** Characters of an error text a report carries (the run record clips further). */
const ERROR_CHARS = 1_000;

function parseJson(text: string | null | undefined): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function stringField(value: unknown, key: string): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : undefined;
}

/** Maps one Step Functions execution (event detail or DescribeExecution output) to a report. */
export function reportFromExecution(execution: ExecutionLike): Mapped {
  const name = execution.name ?? '';
  const input = parseJson(execution.input);
  const run = runOfExecution(name, stringField(input, 'runId'));
  if (!run) return { ignored: `execution ${JSON.stringify(name)} was not started by punctual` };
  const base = { runId: run.runId, attempt: run.attempt, source: 'stepfunctions' as const };
  const token = stringField(input, 'completionToken');
  const withToken = (report: ExternalReport): Mapped => ({
    report,
    ...(token ? { token } : {}),
    ...(run.tokenDigest ? { tokenDigest: run.tokenDigest } : {}),
  });
  switch (execution.status) {
    case 'RUNNING':
      return withToken({ ...base, type: 'heartbeat' });
    case 'SUCCEEDED': {
      // The output is left out of an event past 248 KB (outputDetails.included false): the run then
      // succeeds without it.
      const output = parseJson(execution.output);
      return withToken({ ...base, type: 'complete', ...(output === undefined ? {} : { output }) });
    }
    case 'FAILED':
    case 'TIMED_OUT':
    case 'ABORTED': {
      const error = execution.error ? `: ${execution.error}` : '';
      const cause = execution.cause ? ` (${execution.cause})` : '';
      const text = `execution ${name} ${execution.status}${error}${cause}`.slice(0, ERROR_CHARS);
      return withToken({ ...base, type: 'fail', error: text });
    }
    default:
      return { ignored: `execution ${name}: status ${execution.status ?? '(none)'} is not an end` };
  }
}

/** Maps one ECS task (event detail or DescribeTasks output) to a report. */
export function reportFromTask(task: TaskLike): Mapped {
  const taskArn = task.taskArn ?? '(unknown task)';
  let env: Record<string, string> | undefined;
  let containerName: string | undefined;
  for (const override of task.overrides?.containerOverrides ?? []) {
    const vars = Object.fromEntries((override.environment ?? []).map((e) => [e.name ?? '', e.value ?? '']));
    if (vars[ECS_ENV.runId]) {
      env = vars;
      containerName = override.name ?? undefined;
      break;
    }
  }
  const runId = env?.[ECS_ENV.runId];
  const attempt = Number(env?.[ECS_ENV.attempt]);
  if (!env || !runId || !Number.isInteger(attempt) || attempt < 1) {
    return { ignored: `task ${taskArn} was not started by punctual (no ${ECS_ENV.runId} in its overrides)` };
  }
  const token = env[ECS_ENV.token];
  const foreign = startedByMismatch(task.startedBy, runId, attempt, token);
  if (foreign) return { ignored: `task ${taskArn}: ${foreign}` };
  const base = { runId, attempt, source: 'ecs' as const };
  const withToken = (report: ExternalReport): Mapped => (token ? { report, token } : { report });
  if (task.lastStatus !== 'STOPPED') return withToken({ ...base, type: 'heartbeat' });

  // The container the run context went to decides: ECS does not say in the event which containers are
  // essential, and when an essential one stops the others are stopped with it (exit code 137 or 143).
  const container = (task.containers ?? []).find((c) => c.name === containerName);
  if (container && container.exitCode === 0) {
    return withToken({ ...base, type: 'complete', output: { taskArn, exitCode: 0 } });
  }
  const code = task.stopCode ? ` (${task.stopCode})` : '';
  const why = task.stoppedReason ? `: ${task.stoppedReason}` : '';
  const exit =
    container?.exitCode === undefined || container?.exitCode === null
      ? `container ${containerName} has no exit code`
      : `container ${containerName} exited with code ${container.exitCode}`;
  const reason = container?.reason ? ` (${container.reason})` : '';
  const error = `task ${taskArn} stopped${code}${why}; ${exit}${reason}`.slice(0, ERROR_CHARS);
  return withToken({ ...base, type: 'fail', error });
}

/**
 * Why a task's `startedBy` is not punctual's for the attempt its environment names, if it is not: the
 * current form holds a digest of the token in the environment, the previous one of the run and attempt
 * (a task someone started by hand with a copy of the environment is not this attempt's).
 */
function startedByMismatch(
  startedBy: string | null | undefined,
  runId: string,
  attempt: number,
  token: string | undefined,
): string | undefined {
  if (!startedBy) return undefined;
  const parsed = parseStartedBy(startedBy);
  if (parsed) {
    const digestChars = STARTED_BY_MAX - STARTED_BY_PREFIX.length - STACK_TAG_CHARS - 1;
    if (token !== undefined && tokenDigest(tokenHash(token), digestChars) === parsed.digest) return undefined;
    return `startedBy ${startedBy} does not hold the digest of the token in its environment`;
  }
  if (startedBy === legacyStartedBy(runId, attempt)) return undefined;
  return `startedBy ${startedBy} is not punctual's for ${runId} attempt ${attempt}`;
}

/** An EventBridge event as the events function receives it (only the fields read here). */
export interface AwsEvent {
  source?: string;
  'detail-type'?: string;
  detail?: unknown;
}

/**
 * Maps an event routed by the construct's rules. Only ends matter here: an event of a still running
 * execution or task is ignored (the sweep asks AWS itself when an attempt's time is up).
 *
 * @example const mapped = reportFromEvent(event); if ('report' in mapped) await reportCompletion(deps, mapped.report, Date.now());
 */
export function reportFromEvent(event: AwsEvent): Mapped {
  const detail = (event.detail ?? {}) as ExecutionLike & TaskLike;
  let mapped: Mapped;
  if (event.source === SFN_SOURCE && event['detail-type'] === SFN_DETAIL_TYPE) {
    mapped = reportFromExecution(detail);
  } else if (event.source === ECS_SOURCE && event['detail-type'] === ECS_DETAIL_TYPE) {
    mapped = reportFromTask(detail);
  } else {
    return {
      ignored: `event ${event.source ?? '?'} / ${event['detail-type'] ?? '?'} is not one punctual handles`,
    };
  }
  if ('report' in mapped && mapped.report.type === 'heartbeat') {
    return { ignored: `${mapped.report.runId} attempt ${mapped.report.attempt} is still running` };
  }
  return mapped;
}
