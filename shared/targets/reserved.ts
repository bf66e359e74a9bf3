/**
 * Destinations that belong to punctual itself, which no job may target: its pool queues and DLQs and its
 * completions queue (a message there is read as one of punctual's own: a forged attempt, a forged DLQ
 * entry, a forged completion), and its lifecycle bus with source `punctual` (a forged `Run Succeeded`).
 * The executor holds the grants to write to all of them for its own work; this keeps a job from
 * borrowing them (a confused deputy). Job validation refuses source `punctual` on any bus; the rest is
 * known only to the executor, which refuses it here, before calling anything.
 */
import type { Target } from '../jobs/types.js';
import { TargetError } from './types.js';

/**
 * The source of punctual's lifecycle events (`EVENT_SOURCE` in shared/signals.ts, not imported here so
 * that job validation does not load the EventBridge client; a test keeps the two equal).
 */
export const LIFECYCLE_SOURCE = 'punctual';

export interface ReservedDestinations {
  /** Queue URLs of every pool's queue and DLQ, and the completions queue. */
  queueUrls: readonly string[];
  /** The lifecycle bus: its name or ARN. */
  busName?: string;
}

/**
 * `account/name` of a queue URL, whatever its host spelling (`sqs.eu-west-1.amazonaws.com`,
 * `eu-west-1.queue.amazonaws.com`, a VPC endpoint); undefined when it is no queue URL.
 */
export function queueKey(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined;
  const segments = new URL(url).pathname.split('/').filter(Boolean);
  return segments.length >= 2 ? segments.slice(-2).join('/') : undefined;
}

/** The bus name of a bus name or ARN (`arn:aws:events:…:event-bus/NAME`). */
function busNameOf(nameOrArn: string): string {
  const marker = ':event-bus/';
  const at = nameOrArn.indexOf(marker);
  return at >= 0 ? nameOrArn.slice(at + marker.length) : nameOrArn;
}

/**
 * Throws a final `TargetError` when `target` writes to one of punctual's own destinations.
 *
 * @example checkReserved(job.target, { queueUrls: [poolQueueUrl, dlqUrl], busName: 'punctual-events' });
 */
export function checkReserved(target: Target, reserved: ReservedDestinations): void {
  if (target.type === 'sqs') {
    const key = queueKey(target.queueUrl);
    if (key && reserved.queueUrls.some((url) => queueKey(url) === key)) {
      throw new TargetError(
        `sqs ${target.queueUrl}: refused: the queue is one of punctual's own (a pool queue, DLQ or the ` +
          "completions queue), where a message would pass for one of punctual's; use a queue of your own",
        false,
      );
    }
  }
  if (target.type === 'eventbridge' && reserved.busName && target.source === LIFECYCLE_SOURCE) {
    if (busNameOf(target.eventBusName) === busNameOf(reserved.busName)) {
      throw new TargetError(
        `eventbridge ${target.eventBusName}: refused: source "${LIFECYCLE_SOURCE}" on punctual's lifecycle bus ` +
          "would pass for punctual's own run events; use another source (e.g. punctual.job, the default)",
        false,
      );
    }
  }
}
