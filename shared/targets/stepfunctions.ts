/**
 * The `stepfunctions` target: StartExecution of a Standard state machine with the run context as input.
 * The run is handed off here and ends with the execution (functions/aws-events.ts, or the sweep's
 * DescribeExecution).
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  StartExecutionCommand,
  type StartExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import type { StepFunctionsTarget } from '../jobs/types.js';
import { runMessage, sdkTargetError, untilAborted } from './common.js';
import { executionArn, executionName, tokenHash } from './names.js';
import type { RunContext, TargetClients, TargetResult } from './types.js';
import { TargetError } from './types.js';

/** Too many open executions: a client fault, but one that clears as executions end. */
const TRANSIENT = new Set(['ExecutionLimitExceeded']);

export async function invokeStepFunctions(
  target: StepFunctionsTarget,
  ctx: RunContext,
  deps: { clients: TargetClients; signal: AbortSignal; stack?: string },
): Promise<TargetResult> {
  const what = `stepfunctions ${target.stateMachineArn}`;
  const sfn = deps.clients.sfn;
  if (!sfn) {
    throw new TargetError(
      `${what}: this executor has no Step Functions client (the local runtime has no Step Functions emulator)`,
      false,
    );
  }
  const { stack } = deps;
  const token = ctx.completionToken;
  if (!stack || !token) {
    throw new TargetError(
      `${what}: the executor gave no ${stack ? 'completion token' : 'stack tag'}; an execution is named after both (InvokeOptions.stack, RunContext.completionToken)`,
      false,
    );
  }
  const name = executionName(stack, ctx.runId, ctx.attempt, tokenHash(token));
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
    // The name is this attempt's alone (it holds a digest of the attempt's token): an execution that
    // already has it was started by an earlier call for this same attempt (an SDK retry whose first
    // answer was lost) — unless its input says otherwise, which Describe tells.
    if (errorName === 'ExecutionAlreadyExists') {
      return alreadyStarted(what, target, name, token, deps);
    }
    if (TRANSIENT.has(errorName)) {
      throw new TargetError(`${what}: ${errorName}: ${(error as Error).message}`, true, { cause: error });
    }
    throw sdkTargetError(what, error);
  }
  return { detail: `ExecutionArn ${output.executionArn ?? executionArn(target.stateMachineArn, name)}` };
}

/**
 * An execution with this attempt's name exists: the hand-off is done when its input carries this
 * attempt's token; anything else fails the attempt (a retry gets a new token, hence a new name).
 */
async function alreadyStarted(
  what: string,
  target: StepFunctionsTarget,
  name: string,
  token: string,
  deps: { clients: TargetClients; signal: AbortSignal },
): Promise<TargetResult> {
  const arn = executionArn(target.stateMachineArn, name);
  let execution: DescribeExecutionCommandOutput;
  try {
    execution = await untilAborted(
      (deps.clients.sfn as NonNullable<TargetClients['sfn']>).send(
        new DescribeExecutionCommand({ executionArn: arn }),
        { abortSignal: deps.signal },
      ),
      deps.signal,
    );
  } catch (error) {
    if (deps.signal.aborted) throw error;
    throw sdkTargetError(`${what}: ${name} already exists, and DescribeExecution`, error);
  }
  if (inputToken(execution.input) === token) return { detail: `ExecutionArn ${arn} (already started)` };
  throw new TargetError(
    `${what}: an execution named ${name} already exists and its input does not carry this attempt's ` +
      "completion token: it is not this attempt's, so nothing was started (the next attempt has another name)",
    true,
  );
}

/** The completion token an execution's input carries, if any. */
export function inputToken(input: string | null | undefined): string | undefined {
  if (typeof input !== 'string') return undefined;
  try {
    const value = JSON.parse(input) as { completionToken?: unknown } | null;
    return typeof value?.completionToken === 'string' ? value.completionToken : undefined;
  } catch {
    return undefined;
  }
}
