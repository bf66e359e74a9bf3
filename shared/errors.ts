/**
 * The one error hierarchy of punctual. Every error says what is wrong and, where it can, how to fix it.
 * `exitCode` is what the CLI exits with when the error reaches it (1: failure or bad input).
 */
import { preview } from './json.js';

/**
 * The base of every punctual error.
 *
 * @example
 * try { nextSlots('rate(0 minutes)'); } catch (error) { if (error instanceof PunctualError) console.error(error.message); }
 */
export class PunctualError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PunctualError';
  }
}

/**
 * One rule broken by one field of an input. `path` is dotted (`jobs[2].target.url`).
 *
 * @example { path: 'jobs[0].schedule', value: 'rate(0 minutes)', message: 'the period must be at least 1 second' }
 */
export interface Violation {
  path: string;
  value: unknown;
  message: string;
  /** The line of the field in the file it was read from (a jobs file's field, or its nearest parent that is there). */
  line?: number;
}

/** Formats a violation as `path "value": rule` (then ` (line N)` when read from a file), the form every validation message takes. */
export function formatViolation(v: Violation): string {
  const shown = v.value === undefined ? '' : ` ${preview(v.value)}`;
  const line = v.line === undefined ? '' : ` (line ${v.line})`;
  return `${v.path || '(root)'}${shown}: ${v.message}${line}`;
}

/**
 * A schedule expression that cannot be parsed or names no instant.
 *
 * @example nextSlots('every day'); // throws InvalidScheduleError: schedule "every day": not a schedule expression; …
 */
export class InvalidScheduleError extends PunctualError {
  constructor(
    readonly expression: string,
    readonly rule: string,
  ) {
    super(`schedule ${JSON.stringify(expression)}: ${rule}`);
    this.name = 'InvalidScheduleError';
  }
}

/**
 * A job definition (or a jobs file) that breaks one or more rules; `violations` lists all of them, each
 * naming the field, the value and the rule.
 *
 * @example
 * try {
 *   await client.putJob({ id: 'reminder', schedule: 'rate(0 minutes)', target: { type: 'handler', name: 'x' } });
 * } catch (error) {
 *   if (error instanceof JobValidationError) for (const v of error.violations) console.log(v.path, v.message);
 * }
 */
export class JobValidationError extends PunctualError {
  constructor(
    readonly violations: Violation[],
    readonly subject = 'job',
  ) {
    super(`invalid ${subject}:\n${violations.map((v) => `  - ${formatViolation(v)}`).join('\n')}`);
    this.name = 'JobValidationError';
  }
}

/** @example if (error instanceof JobNotFoundError) console.error(`no job ${error.jobId}`); */
export class JobNotFoundError extends PunctualError {
  constructor(readonly jobId: string) {
    super(`job "${jobId}" not found; \`punctual jobs list\` shows the jobs that exist`);
    this.name = 'JobNotFoundError';
  }
}

/** @example if (error instanceof RunNotFoundError) console.error(`no run ${error.runId}`); */
export class RunNotFoundError extends PunctualError {
  constructor(readonly runId: string) {
    super(`run "${runId}" not found; \`punctual runs list --job <id>\` shows a job's runs`);
    this.name = 'RunNotFoundError';
  }
}

/** Why a completion report was refused (docs/jobs.md "Runs that outlive a Lambda"). */
export type CompletionRefusal =
  | 'unknown-run'
  | 'wrong-token'
  | 'wrong-attempt'
  | 'attempt-ended'
  | 'not-async'
  | 'invalid-report'
  | 'conflict'
  /** Overlap replace: a later slot's run replaced this one; the report ended it cancelled(replaced). */
  | 'cancelled';

/**
 * A `heartbeat`, `complete` or `fail` report that changed nothing: the run does not exist, the token is
 * not one of the run's, the attempt is not the current one, or it has already ended (declared lost or
 * timed out: the report is then kept in the attempt's history, `kept`), or a later slot's run replaced it
 * (overlap replace: `refused` is `cancelled`; the heartbeat is the worker's cancel notice). A worker that gets this should
 * stop working on the run; a newer attempt, if any, has its own token.
 *
 * @example
 * try { await client.heartbeat(runId, token); } catch (error) { if (error instanceof CompletionRefusedError) abort(); }
 */
export class CompletionRefusedError extends PunctualError {
  constructor(
    message: string,
    readonly refused: CompletionRefusal,
    readonly runId: string,
    readonly kept = false,
  ) {
    super(message);
    this.name = 'CompletionRefusedError';
  }
}
