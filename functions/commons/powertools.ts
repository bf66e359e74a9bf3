/**
 * Powertools, created once per function (module scope), shared by the handlers. The local runtime
 * builds its own signals; these are the Lambda ones: EMF metrics in namespace `Punctual`, JSON logs.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Log } from '../../shared/runs/lifecycle.js';
import {
  EventBridgePublisher,
  type EventType,
  METRIC_NAMESPACE,
  type MetricName,
  type Signals,
  type MetricUnit as Unit,
} from '../../shared/signals.js';

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: METRIC_NAMESPACE, serviceName });
}

/** Signals backed by Powertools Metrics (flushed by the logMetrics middleware) and an EventBridge bus. */
export class PowertoolsSignals implements Signals {
  private readonly publisher: EventBridgePublisher | undefined;

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    eventBridge: EventBridgeClient | undefined,
    busName: string | undefined,
  ) {
    this.publisher =
      eventBridge && busName
        ? new EventBridgePublisher(eventBridge, busName, (error, count) => {
            // A failed publish never fails a run: it is logged and counted.
            this.logger.error('lifecycle events not published', { error: String(error), count });
            this.metrics.addMetric('EventsFailed', MetricUnit.Count, count);
          })
        : undefined;
  }

  metric(name: MetricName, value: number, unit: Unit = 'Count'): void {
    this.metrics.addMetric(name, unit === 'Milliseconds' ? MetricUnit.Milliseconds : MetricUnit.Count, value);
  }

  event(type: EventType, detail: Record<string, unknown>): void {
    this.publisher?.add({ type, detail });
  }

  async flush(): Promise<void> {
    await this.publisher?.flush();
  }
}

/** The domain's `Log` over a Powertools Logger (extra fields become top-level keys of the JSON line). */
export function asLog(logger: Logger): Log {
  return {
    debug: (message, extra) => logger.debug(message, extra ?? {}),
    info: (message, extra) => logger.info(message, extra ?? {}),
    warn: (message, extra) => logger.warn(message, extra ?? {}),
    error: (message, extra) => logger.error(message, extra ?? {}),
  };
}
