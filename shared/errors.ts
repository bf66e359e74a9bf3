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

/** How many of a calendar's users a CalendarInUseError names in its message. */
export const CALENDAR_USERS_SHOWN = 10;

/**
 * A calendar delete refused because jobs still exclude the calendar; `jobIds` names them (all of them,
 * sorted), the message the first few and the count.
 *
 * @example
 * try { await client.deleteCalendar('uk-2026'); } catch (error) { if (error instanceof CalendarInUseError) console.log(error.jobIds); }
 */
export class CalendarInUseError extends PunctualError {
  constructor(
    readonly calendar: string,
    readonly jobIds: string[],
  ) {
    const shown = jobIds.slice(0, CALENDAR_USERS_SHOWN);
    const more = jobIds.length - shown.length;
    super(
      `calendar "${calendar}" is excluded by ${jobIds.length} job${jobIds.length === 1 ? '' : 's'} ` +
        `(${shown.join(', ')}${more ? `, and ${more} more` : ''}): edit them to drop it from exclude, ` +
        'or delete it anyway with --force (client: { force: true }), and each of them is marked invalid by the ' +
        'next tick that plans it, running nothing until the calendar is put back and the job put again',
    );
    this.name = 'CalendarInUseError';
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
