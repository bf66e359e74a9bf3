import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
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
}

export class TickRecords extends StoreBase {
  /**
   * The tick's heartbeat item (`pk = TICK`, `sk = HEARTBEAT`): when the last tick ran and what it did.
   * `punctual status` reads it; the CloudWatch alarm uses the `TickHeartbeat` metric instead.
   */
  async putHeartbeat(heartbeat: Heartbeat): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: 'TICK', sk: 'HEARTBEAT', type: 'heartbeat', ...heartbeat },
      }),
    );
  }

  async getHeartbeat(): Promise<Heartbeat | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: 'TICK', sk: 'HEARTBEAT' } }),
    );
    return Item as Heartbeat | undefined;
  }

  /** Where the due-index audit stopped (`pk = TICK`, `sk = AUDIT`); undefined: from the start. */
  async getAuditCursor(): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: 'TICK', sk: 'AUDIT' } }),
    );
    return (Item?.next as Record<string, unknown> | undefined) ?? undefined;
  }

  async putAuditCursor(next: Record<string, unknown> | undefined): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: 'TICK', sk: 'AUDIT', type: 'audit', ...(next ? { next } : {}) },
      }),
    );
  }
}
