/** Runs one attempt of a run against its target, within the caller's deadline. */
import { formatViolation } from '../errors.js';
import type { HandlerTarget, Target } from '../jobs/types.js';
import { accessViolations, type TargetAccessPolicy } from './access.js';
import { describeError, SNIPPET_CHARS, untilAborted } from './common.js';
import { invokeEcs } from './ecs.js';
import { type EcsNetworkPolicy, ecsNetworkViolations } from './ecs-network.js';
import { invokeEventBridge } from './eventbridge.js';
import type { HandlerRegistry } from './handlers.js';
import { describeRequest, invokeHttp } from './http.js';
import { invokeLambda } from './lambda.js';
import type { TargetGuard } from './policy.js';
import { checkReserved, type ReservedDestinations } from './reserved.js';
import { invokeSqs } from './sqs.js';
import { invokeStepFunctions } from './stepfunctions.js';
import type { RunContext, TargetClients, TargetResult } from './types.js';
import { TargetError } from './types.js';

export interface InvokeOptions {
  clients: TargetClients;
  handlers: HandlerRegistry;
  /** Aborts at the deadline: `min(target.timeout, what the executor has left)`. */
  signal: AbortSignal;
  /** The deadline the signal stands for, for the timeout message; defaults to `target.timeout`. */
  timeoutMs?: number;
  /**
   * The operator's target policy for http targets. Default: the stack's (https, public addresses only,
   * no redirects); the local runtime passes `punctual dev`'s, which adds http and loopback.
   */
  policy?: TargetGuard;
  /** punctual's own queues and bus, which no job may write to (./reserved.ts). Default: none known. */
  reserved?: ReservedDestinations;
  /**
   * Where ecs tasks may be placed (./ecs-network.ts): the executor on a stack always passes one (nothing
   * declared: no job may name a network). Default: unchecked (the local runtime, tests).
   */
  ecsNetwork?: EcsNetworkPolicy;
  /**
   * What each application's jobs may reach (./access.ts): given when the operator declared applications.
   * Default: unchecked (IAM alone decides).
   */
  access?: TargetAccessPolicy;
  /**
   * The stack's tag (`stackTag(tableName)`, ./names.ts), which stepfunctions execution names and ecs
   * `startedBy` hold so that two stacks sharing a state machine or a cluster never share a name. Those
   * two targets fail without it.
   */
  stack?: string;
}

/** One line naming a target, for error messages. */
export function describeTarget(target: Target): string {
  switch (target.type) {
    case 'http':
      return `http ${describeRequest(target)}`;
    case 'lambda':
      return `lambda ${target.functionName}`;
    case 'sqs':
      return `sqs ${target.queueUrl}`;
    case 'eventbridge':
      return `eventbridge ${target.eventBusName}`;
    case 'handler':
      return `handler ${target.name}`;
    case 'stepfunctions':
      return `stepfunctions ${target.stateMachineArn}`;
    case 'ecs':
      return `ecs ${target.cluster} ${target.taskDefinition}`;
  }
}

/** What a handler returned, as run detail: a string as is, anything else as (truncated) JSON. */
function handlerDetail(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.slice(0, SNIPPET_CHARS);
  try {
    return JSON.stringify(value)?.slice(0, SNIPPET_CHARS);
  } catch {
    return String(value).slice(0, SNIPPET_CHARS);
  }
}

async function invokeHandler(
  target: HandlerTarget,
  ctx: RunContext,
  handlers: HandlerRegistry,
  signal: AbortSignal,
): Promise<TargetResult> {
  const fn = handlers.get(target.name);
  if (!fn) {
    const known = handlers.names();
    throw new TargetError(
      `handler "${target.name}" is not registered in this executor; registered: ` +
        `${known.length ? known.join(', ') : '(none)'}. Register it with registerHandler() in the bundle.`,
      false,
    );
  }
  // A handler may ignore the signal; racing it keeps the deadline (its work goes on in the background).
  const work = new Promise<unknown>((resolve) => resolve(fn(ctx, signal)));
  let value: unknown;
  try {
    value = await untilAborted(work, signal);
  } catch (error) {
    if (error instanceof TargetError || signal.aborted) throw error;
    throw new TargetError(`handler ${target.name}: ${describeError(error)}`, true, { cause: error });
  }
  const detail = handlerDetail(value);
  return detail === undefined ? {} : { detail };
}

function dispatch(target: Target, ctx: RunContext, options: InvokeOptions): Promise<TargetResult> {
  const deps = { clients: options.clients, signal: options.signal };
  switch (target.type) {
    case 'http':
      return invokeHttp(target, ctx, { ...deps, ...(options.policy ? { policy: options.policy } : {}) });
    case 'lambda':
      return invokeLambda(target, ctx, deps);
    case 'sqs':
      return invokeSqs(target, ctx, deps);
    case 'eventbridge':
      return invokeEventBridge(target, ctx, deps);
    case 'handler':
      return invokeHandler(target, ctx, options.handlers, options.signal);
    case 'stepfunctions':
      return invokeStepFunctions(target, ctx, {
        ...deps,
        ...(options.stack ? { stack: options.stack } : {}),
      });
    case 'ecs':
      return invokeEcs(target, ctx, { ...deps, ...(options.stack ? { stack: options.stack } : {}) });
  }
}

/**
 * Delivers the run context to the target and resolves with a detail for the run record, or rejects with a
 * `TargetError` (`retryable` says whether another attempt can help, `timedOut` that the deadline passed).
 * Every target honours `signal`: SDK calls and fetch are cancelled, handlers get it and are raced against it.
 *
 * @example
 * const deadline = AbortSignal.timeout(Math.min(target.timeout, context.getRemainingTimeInMillis() - 2000));
 * const { detail } = await invokeTarget(job.target, runContext, { clients, handlers: defaultHandlers, signal: deadline });
 */
export async function invokeTarget(
  target: Target,
  ctx: RunContext,
  options: InvokeOptions,
): Promise<TargetResult> {
  const timeoutMs = options.timeoutMs ?? target.timeout;
  if (options.signal.aborted) {
    throw TargetError.timeout(timeoutMs, describeTarget(target), options.signal.reason);
  }
  if (options.reserved) checkReserved(target, options.reserved);
  if (options.access) {
    const refused = accessViolations(target, ctx.jobId, options.access);
    // Final: the job's id decides its application, and no attempt changes it. Nothing is called.
    if (refused.length) {
      throw new TargetError(
        `${describeTarget(target)}: refused: ${refused.map(formatViolation).join('; ')}`,
        false,
      );
    }
  }
  if (options.ecsNetwork) {
    const refused = ecsNetworkViolations(target, options.ecsNetwork);
    if (refused.length) {
      // Final: every attempt would meet the same declaration. Nothing is started.
      throw new TargetError(
        `${describeTarget(target)}: refused: ${refused.map(formatViolation).join('; ')}`,
        false,
      );
    }
  }
  try {
    return await dispatch(target, ctx, options);
  } catch (error) {
    // A TargetError is an outcome already classified (including one a caller gave as the abort reason).
    if (error instanceof TargetError) throw error;
    if (options.signal.aborted) throw TargetError.timeout(timeoutMs, describeTarget(target), error);
    throw new TargetError(`${describeTarget(target)}: ${describeError(error)}`, true, { cause: error });
  }
}
