/**
 * Named functions bundled into the executor, run by `handler` targets (the local runtime runs them
 * in-process). `builtinHandlers()` holds the ones the examples and the tests use; a deployment registers its
 * own on `defaultHandlers` with `registerHandler` before the executor starts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PunctualError } from '../errors.js';
import { hash32 } from '../util.js';
import type { HandlerFn, RunContext } from './types.js';
import { TargetError } from './types.js';

export class HandlerRegistry {
  readonly #handlers = new Map<string, HandlerFn>();

  /**
   * Adds `fn` under `name`. Registering a name twice is refused (two modules claiming one name is a
   * bundling mistake) unless `replace` says it is meant, e.g. to swap a builtin for your own.
   */
  register(name: string, fn: HandlerFn, options: { replace?: boolean } = {}): this {
    if (!name.trim()) throw new PunctualError('handler name: must not be empty');
    if (this.#handlers.has(name) && !options.replace) {
      throw new PunctualError(
        `handler "${name}" is already registered; pick another name or pass { replace: true }`,
      );
    }
    this.#handlers.set(name, fn);
    return this;
  }

  get(name: string): HandlerFn | undefined {
    return this.#handlers.get(name);
  }

  has(name: string): boolean {
    return this.#handlers.has(name);
  }

  /** Registered names, sorted. */
  names(): string[] {
    return [...this.#handlers.keys()].sort();
  }
}

/** A stable 32-bit hash of a text (shared/util's `hash32`): the same run id always maps the same. */
export const stableHash = hash32;

type Fields = Record<string, unknown>;

/** The payload as an object (an absent payload reads as `{}`); anything else cannot carry the options. */
function payloadFields(handler: string, payload: unknown): Fields {
  if (payload === undefined || payload === null) return {};
  if (typeof payload === 'object' && !Array.isArray(payload)) return payload as Fields;
  throw new TargetError(
    `handler ${handler}: payload must be an object, got ${JSON.stringify(payload)}`,
    false,
  );
}

function numberField(
  handler: string,
  fields: Fields,
  field: string,
  range: { min: number; max?: number },
): number | undefined {
  const value = fields[field];
  if (value === undefined) return undefined;
  const inRange =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= range.min &&
    (range.max === undefined || value <= range.max);
  if (!inRange) {
    const rule = range.max === undefined ? `≥ ${range.min}` : `between ${range.min} and ${range.max}`;
    throw new TargetError(
      `handler ${handler}: payload.${field} ${JSON.stringify(value)}: must be a number ${rule}`,
      false,
    );
  }
  return value;
}

/** The sleep duration a payload asks for; see `sleep` below. */
function sleepDuration(ctx: RunContext, fields: Fields, random: () => number): number {
  const ms = numberField('sleep', fields, 'ms', { min: 0 });
  if (ms !== undefined) return ms;
  const minMs = numberField('sleep', fields, 'minMs', { min: 0 });
  const maxMs = numberField('sleep', fields, 'maxMs', { min: 0 });
  if (minMs === undefined || maxMs === undefined) {
    throw new TargetError('handler sleep: set payload.ms, or both payload.minMs and payload.maxMs', false);
  }
  if (maxMs < minMs) {
    throw new TargetError(`handler sleep: payload.maxMs ${maxMs} is below payload.minMs ${minMs}`, false);
  }
  const span = Math.floor(maxMs - minMs) + 1;
  const offset =
    fields['deterministic'] === true ? stableHash(ctx.runId) % span : Math.floor(random() * span);
  return Math.min(maxMs, minMs + offset);
}

export interface BuiltinOptions {
  /** Where `log` writes its line; defaults to stdout (CloudWatch Logs in Lambda). */
  write?: (line: string) => void;
  /** Source of `sleep`'s non-deterministic durations, in [0, 1); defaults to `Math.random`. */
  random?: () => number;
}

/**
 * A registry holding the builtin handlers. Each is driven by the job's payload:
 *
 * - `noop`: does nothing and succeeds. For trying out schedules and measuring the scheduler's own lag.
 * - `log`: writes one JSON line with the run context (job id, run id, scheduled time, attempt, manual,
 *   payload) and succeeds.
 * - `sleep`: waits `payload.ms`, or a duration between `payload.minMs` and `payload.maxMs` (random, or
 *   derived from the run id when `payload.deterministic` is true, so a replay sleeps as long), then
 *   succeeds. Stops at once when the deadline aborts. For long runs, overlap and timeouts.
 * - `fail`: throws `payload.message`; with `payload.succeedOnAttempt: N` it succeeds from attempt N on, to
 *   show retries; `payload.retryable: false` makes the failure final (no retry).
 * - `flaky`: fails when `stableHash(runId) mod 100 < payload.failPercent` (0–100), else succeeds; the same
 *   run always gets the same outcome, unless `payload.perAttempt` is true, which hashes `runId#attempt`
 *   so a retry can succeed.
 */
export function builtinHandlers(options: BuiltinOptions = {}): HandlerRegistry {
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const random = options.random ?? Math.random;
  const registry = new HandlerRegistry();

  registry.register('noop', () => undefined);

  registry.register('log', (ctx) => {
    const { jobId, runId, scheduledAt, attempt, manual, payload } = ctx;
    const line = {
      level: 'INFO',
      message: 'punctual handler log',
      jobId,
      runId,
      scheduledAt,
      attempt,
      manual,
    };
    write(`${JSON.stringify({ ...line, payload: payload ?? null })}\n`);
    return 'logged';
  });

  registry.register('sleep', async (ctx, signal) => {
    const ms = sleepDuration(ctx, payloadFields('sleep', ctx.payload), random);
    await sleep(ms, undefined, { signal });
    return `slept ${ms}ms`;
  });

  registry.register('fail', (ctx) => {
    const fields = payloadFields('fail', ctx.payload);
    const succeedOnAttempt = numberField('fail', fields, 'succeedOnAttempt', { min: 1 });
    if (succeedOnAttempt !== undefined && ctx.attempt >= succeedOnAttempt) {
      return `succeeded on attempt ${ctx.attempt}`;
    }
    const message = typeof fields['message'] === 'string' ? fields['message'] : 'failed as the payload asked';
    throw new TargetError(message, fields['retryable'] !== false);
  });

  registry.register('flaky', (ctx) => {
    const fields = payloadFields('flaky', ctx.payload);
    const failPercent = numberField('flaky', fields, 'failPercent', { min: 0, max: 100 }) ?? 50;
    const key = fields['perAttempt'] === true ? `${ctx.runId}#${ctx.attempt}` : ctx.runId;
    const bucket = stableHash(key) % 100;
    if (bucket < failPercent) {
      throw new TargetError(`flaky: failed (bucket ${bucket} < failPercent ${failPercent})`, true);
    }
    return `passed (bucket ${bucket} ≥ failPercent ${failPercent})`;
  });

  return registry;
}

/** The registry the executor uses: the builtins plus whatever `registerHandler` adds. */
export const defaultHandlers: HandlerRegistry = builtinHandlers();

/**
 * Registers a handler on `defaultHandlers`, for `handler` targets to name.
 *
 * @example
 * registerHandler('refresh-cache', async (ctx, signal) => {
 *   await fetch('https://internal/cache/refresh', { method: 'POST', signal });
 *   return `refreshed for ${ctx.scheduledAt}`;
 * });
 */
export function registerHandler(name: string, fn: HandlerFn, options: { replace?: boolean } = {}): void {
  defaultHandlers.register(name, fn, options);
}
