/**
 * A fault layer for the AWS SDK clients, as middleware. Added to `runtime.dynamo.middlewareStack` it also
 * covers `runtime.store.doc`: `DynamoDBDocumentClient.from(client)` shares the client's middleware stack
 * (lib-dynamodb: `this.middlewareStack = client.middlewareStack`).
 *
 * Where each fault sits, and why:
 * - throttling, timeouts, connection resets: `deserialize` step, i.e. *inside* the SDK's retry middleware
 *   (`finalizeRequest`), so the SDK classifies and retries them as it would the real ones (throttling by
 *   error name, TimeoutError and ECONNRESET as transient), with its backoff and retry quota. A fault
 *   `before` the call never reaches the emulator; a fault `after` it lets the request be applied and loses
 *   the response, which is what a timeout or a reset really leaves you not knowing.
 * - SendMessageBatch partial failure: `initialize` step, outside the retries: one entry is taken out of the
 *   request (so it is really not enqueued) and added to the response's `Failed` list, the call succeeding
 *   otherwise — exactly what SQS answers when one entry fails.
 * - "executor death": a switch that refuses every call until it is cleared (see `Faults.blackout`).
 */

export interface FaultRates {
  /** ProvisionedThroughputExceededException (DynamoDB) / ThrottlingException (SQS), before the call. */
  throttle?: number;
  /** TimeoutError before the call (never sent). */
  timeoutBefore?: number;
  /** TimeoutError after the call was applied (response lost). */
  timeoutAfter?: number;
  /** ECONNRESET before the call. */
  resetBefore?: number;
  /** ECONNRESET after the call was applied. */
  resetAfter?: number;
  /** SendMessageBatch: one entry fails (not enqueued), the others are sent. */
  partialBatch?: number;
}

export interface FaultStats {
  calls: number;
  injected: Record<string, number>;
  byCommand: Record<string, number>;
}

type Next = (args: { input: unknown; request?: unknown }) => Promise<{ output: unknown; response?: unknown }>;
type Middleware = (next: Next, context: { commandName?: string; clientName?: string }) => Next;
interface Stack {
  add(
    middleware: Middleware,
    options: {
      step: 'initialize' | 'deserialize';
      name: string;
      priority?: 'high' | 'low';
      override?: boolean;
    },
  ): void;
  remove(name: string): boolean;
}

/** A small seeded PRNG (mulberry32): a scenario with the same seed injects the same faults. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function serviceError(name: string, message: string, status: number): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 1, totalRetryDelay: 0 },
  });
}

function throttleError(service: 'dynamo' | 'sqs'): Error {
  return service === 'dynamo'
    ? serviceError(
        'ProvisionedThroughputExceededException',
        'injected: the level of configured provisioned throughput for the table was exceeded',
        400,
      )
    : serviceError('ThrottlingException', 'injected: Rate exceeded', 400);
}

function timeoutError(): Error {
  // What @smithy/node-http-handler throws when requestTimeout passes.
  return Object.assign(new Error('injected: Connection timed out after 1000 ms'), { name: 'TimeoutError' });
}

function resetError(): Error {
  return Object.assign(new Error('injected: socket hang up'), { name: 'Error', code: 'ECONNRESET' });
}

/** Refused while a blackout is on: what calls of a process that is being killed amount to. */
export class BlackoutError extends Error {
  constructor(command: string) {
    super(`injected: the executor is dead (${command} never sent)`);
    this.name = 'ExecutorDead';
    // Not retryable by the SDK: not a throttle, not transient.
  }
}

export class Faults {
  rates: FaultRates;
  enabled = true;
  /** While true, every call fails at once with BlackoutError (set by a dying executor)… */
  blackout = false;
  /** …until a call of this command, which ends it (the next message's first read: a fresh executor). */
  endBlackoutOn: string[] = [];
  readonly stats: FaultStats = { calls: 0, injected: {}, byCommand: {} };
  /** Commands never touched (e.g. the scans a scenario checks with). */
  spare = new Set<string>();

  constructor(
    rates: FaultRates,
    private readonly random: () => number = Math.random,
  ) {
    this.rates = rates;
  }

  private hit(rate: number | undefined): boolean {
    return this.enabled && rate !== undefined && rate > 0 && this.random() < rate;
  }

  private count(kind: string, command: string) {
    this.stats.injected[kind] = (this.stats.injected[kind] ?? 0) + 1;
    this.stats.byCommand[`${command} ${kind}`] = (this.stats.byCommand[`${command} ${kind}`] ?? 0) + 1;
  }

  /** Installs the layer on a client's middleware stack. */
  install(stack: unknown, service: 'dynamo' | 'sqs'): () => void {
    const s = stack as Stack;
    const inner: Middleware = (next, context) => async (args) => {
      const command = context.commandName ?? '?';
      if (this.blackout && this.endBlackoutOn.includes(command)) this.blackout = false;
      if (this.blackout) {
        this.count('blackout', command);
        throw new BlackoutError(command);
      }
      if (!this.enabled || this.spare.has(command)) return next(args);
      this.stats.calls += 1;
      const { rates } = this;
      if (this.hit(rates.throttle)) {
        this.count('throttle', command);
        throw throttleError(service);
      }
      if (this.hit(rates.timeoutBefore)) {
        this.count('timeout-before', command);
        throw timeoutError();
      }
      if (this.hit(rates.resetBefore)) {
        this.count('reset-before', command);
        throw resetError();
      }
      const result = await next(args);
      if (this.hit(rates.timeoutAfter)) {
        this.count('timeout-after', command);
        throw timeoutError();
      }
      if (this.hit(rates.resetAfter)) {
        this.count('reset-after', command);
        throw resetError();
      }
      return result;
    };
    s.add(inner, { step: 'deserialize', name: `chaosFaults-${service}`, priority: 'high', override: true });
    const names = [`chaosFaults-${service}`];
    if (service === 'sqs') {
      const partial: Middleware = (next, context) => async (args) => {
        const input = args.input as { Entries?: { Id?: string }[] };
        if (context.commandName !== 'SendMessageBatchCommand' || !input.Entries?.length || this.blackout)
          return next(args);
        if (!this.hit(this.rates.partialBatch)) return next(args);
        const index = Math.floor(this.random() * input.Entries.length);
        const dropped = input.Entries[index]!;
        this.count('partial-batch', 'SendMessageBatchCommand');
        const rest = input.Entries.filter((_, i) => i !== index);
        const failed = {
          Id: dropped.Id,
          SenderFault: false,
          Code: 'InternalError',
          Message: 'injected: entry not enqueued',
        };
        if (!rest.length) {
          return { output: { Successful: [], Failed: [failed], $metadata: { httpStatusCode: 200 } } };
        }
        const result = await next({ ...args, input: { ...input, Entries: rest } });
        const output = result.output as { Failed?: unknown[] };
        output.Failed = [...(output.Failed ?? []), failed];
        return result;
      };
      s.add(partial, { step: 'initialize', name: 'chaosPartialBatch', override: true });
      names.push('chaosPartialBatch');
    }
    return () => {
      for (const name of names) s.remove(name);
    };
  }

  injected(): number {
    return Object.values(this.stats.injected).reduce((sum, n) => sum + n, 0);
  }
}
