/**
 * Metrics and lifecycle events (SPEC §5). The domain code reports through `Signals`; the Lambda handlers
 * back it with Powertools Metrics (EMF) and EventBridge, the local runtime with an in-memory recorder.
 * Publishing an event never fails a run: a failed publish is logged and counted (`EventsFailed`).
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { chunk } from './util.js';

export const METRIC_NAMESPACE = 'Punctual';
export const EVENT_SOURCE = 'punctual';

export type MetricName =
  | 'SlotsClaimed'
  | 'DispatchLag'
  | 'StartLag'
  | 'RunDuration'
  | 'RunsSucceeded'
  | 'RunsFailed'
  | 'RunsMissed'
  | 'RunsSkipped'
  | 'RunsCancelled'
  | 'OverdueJobs'
  | 'DispatchBacklog'
  | 'InvalidJobs'
  | 'SweepRecovered'
  | 'TickHeartbeat'
  | 'TickGroupsStopped'
  | 'EventsFailed'
  | 'PoisonMessages'
  | 'DueIndexRepaired'
  | 'HeartbeatsMissed'
  | 'ExternalCheckFailed'
  | 'ExternalTokenMismatch'
  | 'RunInProgressAge'
  | 'FormatTooNew';

export type MetricUnit = 'Count' | 'Milliseconds';

export type EventType =
  | 'Run Succeeded'
  | 'Run Failed'
  | 'Run Missed'
  | 'Run Skipped'
  | 'Run Cancelled'
  | 'Job Overdue'
  | 'Job Invalid'
  | 'Job Repaired'
  | 'Job Paused';

export interface Signals {
  metric(name: MetricName, value: number, unit?: MetricUnit): void;
  event(type: EventType, detail: Record<string, unknown>): void;
  /** Sends what is buffered. Never throws. */
  flush(): Promise<void>;
}

export interface EventEntry {
  type: EventType;
  detail: Record<string, unknown>;
}

/** Buffers events and sends them to an EventBridge bus, 10 per PutEvents call. */
export class EventBridgePublisher {
  private buffer: EventEntry[] = [];
  failed = 0;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    private readonly onError: (error: unknown, count: number) => void = () => {},
  ) {}

  add(entry: EventEntry): void {
    this.buffer.push(entry);
  }

  async flush(): Promise<number> {
    const entries = this.buffer;
    this.buffer = [];
    let failed = 0;
    for (const batch of chunk(entries, 10)) {
      try {
        const result = await this.client.send(
          new PutEventsCommand({
            Entries: batch.map((entry) => ({
              EventBusName: this.busName,
              Source: EVENT_SOURCE,
              DetailType: entry.type,
              Detail: JSON.stringify(entry.detail),
            })),
          }),
        );
        if (result.FailedEntryCount) {
          failed += result.FailedEntryCount;
          this.onError(
            new Error(`${result.FailedEntryCount} events refused by the bus`),
            result.FailedEntryCount,
          );
        }
      } catch (error) {
        failed += batch.length;
        this.onError(error, batch.length);
      }
    }
    this.failed += failed;
    return failed;
  }
}

/** Keeps every metric and event in memory: the local runtime's live view and the tests read it. */
export class RecordingSignals implements Signals {
  readonly metrics: { name: MetricName; value: number; unit: MetricUnit; at: number }[] = [];
  readonly events: (EventEntry & { at: number })[] = [];

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly onEvent?: (entry: EventEntry) => void,
    private readonly limit = 100_000,
  ) {}

  metric(name: MetricName, value: number, unit: MetricUnit = 'Count'): void {
    this.metrics.push({ name, value, unit, at: this.clock() });
    if (this.metrics.length > this.limit) this.metrics.splice(0, this.metrics.length - this.limit);
  }

  event(type: EventType, detail: Record<string, unknown>): void {
    this.events.push({ type, detail, at: this.clock() });
    if (this.events.length > this.limit) this.events.splice(0, this.events.length - this.limit);
    this.onEvent?.({ type, detail });
  }

  async flush(): Promise<void> {}

  sum(name: MetricName): number {
    return this.metrics.filter((m) => m.name === name).reduce((total, m) => total + m.value, 0);
  }
}
