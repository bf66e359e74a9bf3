/**
 * The tick heartbeat item, `pk = TICK, sk = HEARTBEAT`: when the last tick ran. `punctual status` reads it
 * for a local runtime and for a deployed stack alike (CloudWatch's `TickHeartbeat` metric is out of reach
 * offline). The tick writes it (Store.putHeartbeat) with its interval `tickMs`, so that status knows what
 * "three ticks" means (a stack ticks every minute, `punctual dev --tick 1s` every second). Its sk is not
 * `JOB`, so job scans never see it.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Store } from '../shared/store/store.js';

export const HEARTBEAT_KEY = { pk: 'TICK', sk: 'HEARTBEAT' } as const;

export interface HeartbeatItem {
  /** ISO time the last tick started. */
  lastTickAt: string;
  durationMs?: number;
  /** The tick interval, when the writer knows it. */
  tickMs?: number;
  /** Who wrote it: `punctual dev`, or the tick itself. */
  source?: string;
  overdueJobs?: string[];
}

export async function readHeartbeat(store: Store): Promise<HeartbeatItem | undefined> {
  const { Item } = await store.doc.send(
    new GetCommand({ TableName: store.tableName, Key: HEARTBEAT_KEY, ConsistentRead: true }),
  );
  if (!Item || typeof Item.lastTickAt !== 'string' || Number.isNaN(Date.parse(Item.lastTickAt)))
    return undefined;
  return Item as HeartbeatItem;
}
