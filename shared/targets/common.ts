/** Helpers every target shares: the run message, the deadline race, and the mapping of AWS errors. */
import type { RunContext } from './types.js';
import { TargetError } from './types.js';

/** How many characters of a response body or error payload a failure message quotes. */
export const SNIPPET_CHARS = 300;

/**
 * The JSON document every target delivers: the run context, with `payload: null` when the job has none,
 * `completionToken` when the target completes asynchronously, and `previous` once a scheduled run has ended. `idempotencyKey` is the run id, named
 * as what a receiver dedupes on (README, "Delivery is at least once"): an EventBridge rule or a Lambda
 * reads it from the detail or the event, where no header or attribute exists.
 */
export function runMessage(ctx: RunContext): string {
  return JSON.stringify({
    jobId: ctx.jobId,
    runId: ctx.runId,
    idempotencyKey: idempotencyKey(ctx),
    scheduledAt: ctx.scheduledAt,
    attempt: ctx.attempt,
    manual: ctx.manual,
    payload: ctx.payload ?? null,
    ...(ctx.completionToken === undefined ? {} : { completionToken: ctx.completionToken }),
    ...(ctx.previous === undefined ? {} : { previous: ctx.previous }),
  });
}

/**
 * The key a receiver dedupes deliveries on: the run id, the same on every attempt, retry, re-delivery
 * and replay of one run (a manual trigger is a run of its own, `jobId@manual-<time>`).
 */
export function idempotencyKey(ctx: RunContext): string {
  return ctx.runId;
}

/** Settles like `work`, or rejects as soon as `signal` aborts, whichever comes first. */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // Keep a late rejection of `work` from surfacing as an unhandled rejection.
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** `Name: message` of anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

interface SdkErrorShape {
  name?: string;
  $fault?: 'client' | 'server';
  $retryable?: unknown;
}

// Throttling comes back as a client fault (HTTP 400/429) from several services, yet waiting helps.
const TRANSIENT_SDK_ERROR =
  /Throttl|TooManyRequests|RequestLimitExceeded|ServiceUnavailable|InternalFailure/i;

/**
 * Wraps an AWS SDK error as a TargetError. A client fault (`$fault: 'client'`: missing function or queue,
 * access denied, invalid parameter) will not heal by retrying, unless it is throttling; server faults and
 * network errors are retryable.
 */
export function sdkTargetError(what: string, error: unknown): TargetError {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const transient = TRANSIENT_SDK_ERROR.test(shape.name ?? '') || shape.$retryable !== undefined;
  const retryable = transient || shape.$fault !== 'client';
  return new TargetError(`${what}: ${describeError(error)}`, retryable, { cause: error });
}
