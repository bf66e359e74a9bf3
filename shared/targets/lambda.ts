/**
 * The `lambda` target: a synchronous (RequestResponse) invocation whose function error fails the run, or
 * with `completion: async` an asynchronous (Event) one that hands the run off.
 */
import { InvokeCommand, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import type { LambdaTarget } from '../jobs/types.js';
import { runMessage, SNIPPET_CHARS, sdkTargetError, untilAborted } from './common.js';
import type { RunContext, TargetClients, TargetResult } from './types.js';
import { TargetError } from './types.js';

/** `errorType: errorMessage` from the payload of a failed invocation, or its raw text. */
function functionErrorText(payload: Uint8Array | undefined): string {
  const text = payload ? new TextDecoder().decode(payload) : '';
  try {
    const parsed = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') {
      const type = typeof parsed.errorType === 'string' ? `${parsed.errorType}: ` : '';
      return `${type}${parsed.errorMessage}`.slice(0, SNIPPET_CHARS);
    }
  } catch {
    // Not JSON: quote it as it is.
  }
  return text.slice(0, SNIPPET_CHARS);
}

export async function invokeLambda(
  target: LambdaTarget,
  ctx: RunContext,
  deps: { clients: TargetClients; signal: AbortSignal },
): Promise<TargetResult> {
  const what = `lambda ${target.functionName}`;
  const command = new InvokeCommand({
    FunctionName: target.functionName,
    // `completion: async`: an asynchronous invoke (Lambda queues the event and answers 202); the function
    // reports the run's end with the run context's completionToken.
    // https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html
    InvocationType: target.completion === 'async' ? 'Event' : 'RequestResponse',
    Payload: new TextEncoder().encode(runMessage(ctx)),
  });
  let output: InvokeCommandOutput;
  try {
    output = await untilAborted(deps.clients.lambda.send(command, { abortSignal: deps.signal }), deps.signal);
  } catch (error) {
    if (deps.signal.aborted) throw error;
    throw sdkTargetError(what, error);
  }
  // A function that throws still answers 200; FunctionError ('Unhandled', or 'Handled' from older
  // runtimes) is what marks the failure, with {errorType, errorMessage} in the payload.
  // https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_ResponseSyntax
  if (output.FunctionError) {
    throw new TargetError(
      `${what}: function error (${output.FunctionError}): ${functionErrorText(output.Payload)}`,
      true,
    );
  }
  const version = output.ExecutedVersion ? `, version ${output.ExecutedVersion}` : '';
  return { detail: `StatusCode ${output.StatusCode ?? 200}${version}` };
}
