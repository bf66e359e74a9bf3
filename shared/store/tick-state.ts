import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { StoreBase } from './base.js';

export interface Heartbeat {
  /** ISO time the last tick started. */
  lastTickAt: string;
  durationMs: number;
  slotsDispatched: number;
  backlog: number;
  overdueJobs: string[];
  invalidJobs: number;
  errors: number;
  /** The tick interval the runtime fires at (60 000 for the EventBridge rule); `status` judges age by it. */
  tickMs: number;
  /** The shard group this tick handled (0: the coordinator, which EventBridge fires) and how many there are. */
  group?: number;
  groups?: number;
  /** The shards of the due and open indexes this tick handled. */
  shards?: number[];
  /** Group 0 of a fan-out: since when it has run with `groups` groups (a group that never reported is stopped only after that). */
  groupsSince?: string;
}

/** The heartbeat's sort key: group 0 (the coordinator, or the only tick) keeps the key it always had. */
export function heartbeatKey(group = 0): string {
  return group === 0 ? 'HEARTBEAT' : `HEARTBEAT#${group}`;
}

export class TickRecords extends StoreBase {
  /**
   * A tick's heartbeat item (`pk = TICK`, `sk = HEARTBEAT`, `HEARTBEAT#<group>` for each further shard
   * group): when that group last ran and what it did. `punctual status` reads them; the CloudWatch alarms use
   * the `TickHeartbeat` and `TickGroupsStopped` metrics instead.
   */
  async putHeartbeat(heartbeat: Heartbeat): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: 'TICK', sk: heartbeatKey(heartbeat.group), type: 'heartbeat', ...heartbeat },
      }),
    );
  }

  async getHeartbeat(group = 0): Promise<Heartbeat | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: 'TICK', sk: heartbeatKey(group) } }),
    );
    return Item as Heartbeat | undefined;
  }

  /** Every group's heartbeat (one query over the `TICK` partition), by group. */
  async getHeartbeats(): Promise<Map<number, Heartbeat>> {
    const { Items } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :tick AND begins_with(sk, :heartbeat)',
        ExpressionAttributeValues: { ':tick': 'TICK', ':heartbeat': 'HEARTBEAT' },
        ConsistentRead: true,
      }),
    );
    const out = new Map<number, Heartbeat>();
    for (const item of Items ?? []) {
      const group = item.sk === 'HEARTBEAT' ? 0 : Number(String(item.sk).slice('HEARTBEAT#'.length));
      if (Number.isInteger(group)) out.set(group, item as Heartbeat);
    }
    return out;
  }

  /**
   * Where the due-index audit stopped (`pk = TICK`, `sk = AUDIT`; `AUDIT#<segment>/<segments>` for one
   * segment of a parallel scan, so a cursor is never used with another segment count); undefined: from
   * the start.
   */
  async getAuditCursor(segment = 0, segments = 1): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: 'TICK', sk: auditKey(segment, segments) } }),
    );
    return (Item?.next as Record<string, unknown> | undefined) ?? undefined;
  }

  async putAuditCursor(next: Record<string, unknown> | undefined, segment = 0, segments = 1): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: 'TICK', sk: auditKey(segment, segments), type: 'audit', ...(next ? { next } : {}) },
      }),
    );
  }
}

function auditKey(segment: number, segments: number): string {
  return segments === 1 ? 'AUDIT' : `AUDIT#${segment}/${segments}`;
}
