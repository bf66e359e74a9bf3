/**
 * The state of a deployed stack's CloudWatch alarms, for `punctual status` and the console's health page.
 *
 * Every alarm the Scheduler construct makes (the service alarms, the per-job gap alarms, `AsyncTargets`'
 * DLQ alarm) notifies the stack's alarm topic, so DescribeAlarms with `ActionPrefix` = the topic's ARN
 * (the stack's `AlarmTopicArn` output) finds all of them, and only them, whatever their names — also on a
 * stack deployed before this read existed. It needs `cloudwatch:DescribeAlarms` (resource `*`: the action
 * cannot be scoped to alarms); without it, status says so and goes on.
 */
import {
  CloudWatchClient,
  type CloudWatchClientConfig,
  DescribeAlarmsCommand,
} from '@aws-sdk/client-cloudwatch';
import { errorMessage } from '../util.js';

export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmState {
  name: string;
  state: AlarmStateValue;
  /** When it entered its state (ISO); null when CloudWatch does not say. */
  since: string | null;
  /** CloudWatch's reason for the state ("Threshold Crossed: 1 datapoint [3.0] …"). */
  reason: string;
}

/** Where a stack's alarms are read: the topic they notify, and the client to read them with. */
export interface AlarmSource {
  topicArn: string;
  cloudwatch: CloudWatchClient;
}

/** What status reports about alarms: those read, or why none could be (`error`). */
export interface AlarmsRead {
  topicArn: string;
  error: string | null;
  list: AlarmState[];
}

/** DescribeAlarms answers at most 100 a page. */
const PAGE = 100;

/** The alarms notifying `source.topicArn`, every page, sorted by name; a failed read is reported, not thrown. */
export async function readAlarms(source: AlarmSource): Promise<AlarmsRead> {
  const list: AlarmState[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await source.cloudwatch.send(
        new DescribeAlarmsCommand({
          ActionPrefix: source.topicArn,
          AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
          MaxRecords: PAGE,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
      );
      for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
        list.push({
          name: alarm.AlarmName ?? '(unnamed)',
          state: (alarm.StateValue ?? 'INSUFFICIENT_DATA') as AlarmStateValue,
          since: alarm.StateUpdatedTimestamp ? new Date(alarm.StateUpdatedTimestamp).toISOString() : null,
          reason: alarm.StateReason ?? '',
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    const message = errorMessage(error);
    const denied = /AccessDenied|not authorized/i.test(message);
    return {
      topicArn: source.topicArn,
      error: denied
        ? `cannot read the alarms: ${message} (grant cloudwatch:DescribeAlarms to read them)`
        : `cannot read the alarms: ${message}`,
      list: [],
    };
  }
  list.sort((a, b) => a.name.localeCompare(b.name));
  return { topicArn: source.topicArn, error: null, list };
}

/** The CloudWatch client of a stack connection. */
export function alarmSource(topicArn: string, config: CloudWatchClientConfig): AlarmSource {
  return { topicArn, cloudwatch: new CloudWatchClient(config) };
}
