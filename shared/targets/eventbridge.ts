/** The `eventbridge` target: one event whose detail is the run context. */
import { PutEventsCommand, type PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import type { EventBridgeTarget } from '../jobs/types.js';
import { runMessage, sdkTargetError, untilAborted } from './common.js';
import type { RunContext, TargetClients, TargetResult } from './types.js';
import { TargetError } from './types.js';

// Entry error codes that describe the event or the caller's rights: resending the same entry fails again.
const PERMANENT_ENTRY_ERROR = /NotAuthorized|AccessDenied|Malformed|Invalid|Validation/i;

export async function invokeEventBridge(
  target: EventBridgeTarget,
  ctx: RunContext,
  deps: { clients: TargetClients; signal: AbortSignal },
): Promise<TargetResult> {
  const what = `eventbridge ${target.eventBusName}`;
  const command = new PutEventsCommand({
    Entries: [
      {
        EventBusName: target.eventBusName,
        Source: target.source,
        DetailType: target.detailType,
        Detail: runMessage(ctx),
      },
    ],
  });
  let output: PutEventsCommandOutput;
  try {
    output = await untilAborted(
      deps.clients.eventBridge.send(command, { abortSignal: deps.signal }),
      deps.signal,
    );
  } catch (error) {
    if (deps.signal.aborted) throw error;
    throw sdkTargetError(what, error);
  }
  // PutEvents answers 200 even when an entry was refused: FailedEntryCount and the entry's ErrorCode say so.
  // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
  const entry = output.Entries?.[0];
  if ((output.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode) {
    const code = entry?.ErrorCode ?? 'UnknownError';
    throw new TargetError(
      `${what}: event refused: ${code}: ${entry?.ErrorMessage ?? '(no message)'}`,
      !PERMANENT_ENTRY_ERROR.test(code),
    );
  }
  return { detail: `EventId ${entry?.EventId ?? '(none)'}` };
}
