/**
 * The contract between the executor (or the local runtime) and the targets: what a run hands to a target,
 * what comes back, and the one error a target fails with.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { PunctualError } from '../errors.js';
import type { PreviousRun } from '../store/model.js';
import type { SecretResolver } from './secrets.js';

/**
 * What every target receives about the run it executes (SPEC §3: job id, run id, scheduled time, attempt, payload).
 *
 * @example registerHandler('echo', (ctx: RunContext) => `${ctx.runId} attempt ${ctx.attempt}`);
 */
export interface RunContext {
  jobId: string;
  /** `jobId@scheduledTimeISO` (or `jobId@manual-<time>`): the idempotency key a receiver can dedupe on. */
  runId: string;
  /** ISO-8601 UTC instant of the slot. */
  scheduledAt: string;
  /** 1 for the first attempt. */
  attempt: number;
  manual: boolean;
  payload: unknown;
  /**
   * Only for a target with `completion: async` (and stepfunctions/ecs): the attempt's token, to report
   * `heartbeat`, `complete` or `fail` with (CLI `punctual runs heartbeat|complete|fail`, the client, or
   * the stack's completions queue). A retry gets a new one; the old one is refused.
   */
  completionToken?: string;
  /**
   * The job's last scheduled run that started and ended (succeeded or failed), as the job item held it
   * just before this run started; absent before the first. Its `output` is an asynchronous completion's
   * when at most 1 KiB of JSON (larger: `outputBytes`, and the run record keeps it).
   */
  previous?: PreviousRun;
}

/** What a successful invocation reports, for the run record (`HTTP 204`, `MessageId …`). */
export interface TargetResult {
  detail?: string;
}

export interface TargetErrorOptions extends ErrorOptions {
  /** The caller's deadline signal aborted the invocation. */
  timedOut?: boolean;
}

/**
 * A target invocation that failed. `retryable: false` means another attempt would fail the same way
 * (HTTP 404, missing secret, unknown handler), so the executor can fail the run at once instead of
 * spending its retries.
 *
 * @example throw new TargetError('customer 42 does not exist', false); // fails the run without a retry
 */
export class TargetError extends PunctualError {
  /** True when the deadline signal aborted the invocation; the message starts with `timed out after <N>ms`. */
  readonly timedOut: boolean;

  constructor(
    message: string,
    readonly retryable = true,
    options?: TargetErrorOptions,
  ) {
    super(message, options);
    this.name = 'TargetError';
    this.timedOut = options?.timedOut ?? false;
  }

  /** The error an aborted invocation becomes. A timeout is retryable: the next attempt may be faster. */
  static timeout(timeoutMs: number, target?: string, cause?: unknown): TargetError {
    const where = target ? ` (${target})` : '';
    return new TargetError(`timed out after ${timeoutMs}ms${where}`, true, { timedOut: true, cause });
  }
}

/**
 * The AWS clients and host facilities the targets use, passed in so that tests and the local runtime give
 * their own (emulator endpoints, `aws-sdk-client-mock`). http targets take no stub: their requests go
 * through the target policy (`InvokeOptions.policy`), whose resolver a test may replace.
 */
export interface TargetClients {
  lambda: LambdaClient;
  sqs: SQSClient;
  eventBridge: EventBridgeClient;
  /** For `stepfunctions` targets; without it they fail at once (the local runtime has no emulator). */
  sfn?: SFNClient;
  /** For `ecs` targets; likewise. */
  ecs?: ECSClient;
  /**
   * The secrets the operator declared (`hmacSecret`, secret-valued headers); none when omitted. Never the
   * process environment: a job cannot name an environment variable (./secrets.ts).
   */
  secrets?: SecretResolver;
  /** Clock for the HMAC timestamp, ms since the epoch; defaults to `Date.now`. */
  now?: () => number;
}

/**
 * A function bundled into the executor and named by a `handler` target. It should stop when `signal` aborts
 * (the deadline); if it does not, the run still fails at the deadline, but the work goes on in the
 * background until the process ends. What it returns (a string, or JSON) becomes the run's detail; what it
 * throws fails the attempt (throw a `TargetError` with `retryable: false` to fail the run at once).
 *
 * @example const report: HandlerFn = async (ctx, signal) => (await fetch('https://example.com', { signal })).status;
 */
export type HandlerFn = (ctx: RunContext, signal: AbortSignal) => Promise<unknown> | unknown;
