/**
 * A stack's alarms in status: read through DescribeAlarms by the topic they notify, every page, and a read
 * CloudWatch refuses said in the report without stopping it. CloudWatch has no emulator here: its answers are
 * aws-sdk-client-mock's (the console-stack e2e test drives the real SDK against a stand-in endpoint).
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { runStatus } from '../../../cli/commands/status.js';
import type { Target } from '../../../cli/context.js';
import { readAlarms } from '../../../shared/client/alarms.js';
import { assessStatus, type StatusReport } from '../../../shared/client/health.js';

const TOPIC = 'arn:aws:sns:eu-west-1:111111111111:Punctual-AlarmTopic';
const NOW = Date.parse('2026-12-07T12:00:00Z');

const cloudwatch = mockClient(CloudWatchClient);
afterEach(() => cloudwatch.reset());

function alarm(name: string, state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA', at = '2026-12-07T11:00:00Z') {
  return {
    AlarmName: name,
    StateValue: state,
    StateReason: `reason of ${name}`,
    StateUpdatedTimestamp: new Date(at),
  };
}

function status(alarms: Parameters<typeof assessStatus>[0]['alarms']): StatusReport {
  return assessStatus(
    {
      label: 'stack Punctual (eu-west-1)',
      tickMs: 60_000,
      heartbeat: { lastTickAt: new Date(NOW - 30_000).toISOString(), tickMs: 60_000 },
      jobs: [],
      queues: {},
      runs: [],
      ...(alarms ? { alarms } : {}),
    },
    NOW,
  );
}

async function printed(report: StatusReport): Promise<{ code: number; out: string }> {
  let out = '';
  const io = {
    out: (text: string) => {
      out += text;
    },
    err: () => undefined,
    color: false,
  } as never;
  const target = { client: { status: async () => report } } as unknown as Target;
  const code = await runStatus(io, target, {});
  return { code, out };
}

describe("a stack's alarms in status", () => {
  it('reads every page of the alarms that notify the topic, sorted by name', async () => {
    cloudwatch
      .on(DescribeAlarmsCommand, { ActionPrefix: TOPIC, NextToken: undefined })
      .resolves({ MetricAlarms: [alarm('b-DlqNotEmpty', 'ALARM')], NextToken: 'page-2' })
      .on(DescribeAlarmsCommand, { ActionPrefix: TOPIC, NextToken: 'page-2' })
      .resolves({
        MetricAlarms: [alarm('a-TickStopped', 'OK')],
        CompositeAlarms: [alarm('c-Any', 'INSUFFICIENT_DATA')],
      });

    const read = await readAlarms({
      topicArn: TOPIC,
      cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
    });

    expect(read).toEqual({
      topicArn: TOPIC,
      error: null,
      list: [
        {
          name: 'a-TickStopped',
          state: 'OK',
          since: '2026-12-07T11:00:00.000Z',
          reason: 'reason of a-TickStopped',
        },
        {
          name: 'b-DlqNotEmpty',
          state: 'ALARM',
          since: '2026-12-07T11:00:00.000Z',
          reason: 'reason of b-DlqNotEmpty',
        },
        {
          name: 'c-Any',
          state: 'INSUFFICIENT_DATA',
          since: '2026-12-07T11:00:00.000Z',
          reason: 'reason of c-Any',
        },
      ],
    });
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(2);
  });

  it('an alarm in ALARM is a problem: status needs attention and names it', async () => {
    const report = status({
      topicArn: TOPIC,
      error: null,
      list: [
        { name: 'P-TickStopped', state: 'OK', since: null, reason: '' },
        {
          name: 'P-StartLag',
          state: 'ALARM',
          since: '2026-12-07T11:58:00.000Z',
          reason: 'Threshold Crossed',
        },
      ],
    });
    expect(report.healthy).toBe(false);
    expect(report.problems).toEqual([
      'alarm P-StartLag is in ALARM since 2026-12-07 11:58:00Z: Threshold Crossed',
    ]);
    const { code, out } = await printed(report);
    expect(code).toBe(3);
    expect(out).toMatch(/!! {2}alarms +1 OK, 1 in ALARM: P-StartLag\n/);
  });

  it('alarms that cannot be read are said, and do not make a healthy deployment unhealthy', async () => {
    cloudwatch.on(DescribeAlarmsCommand).rejects(
      Object.assign(
        new Error('User: arn:aws:iam::1:user/ops is not authorized to perform: cloudwatch:DescribeAlarms'),
        {
          name: 'AccessDenied',
        },
      ),
    );
    const read = await readAlarms({
      topicArn: TOPIC,
      cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
    });
    expect(read.list).toEqual([]);
    expect(read.error).toMatch(
      /^cannot read the alarms: .*not authorized to perform: cloudwatch:DescribeAlarms \(grant cloudwatch:DescribeAlarms to read them\)$/,
    );

    const report = status(read);
    expect(report.healthy).toBe(true);
    const { code, out } = await printed(report);
    expect(code).toBe(0);
    expect(out).toContain('ok  alarms');
    expect(out).toContain('grant cloudwatch:DescribeAlarms');
  });

  it('a deployment without alarms to read (a local runtime) reports null and prints no alarm line', async () => {
    const report = status(undefined);
    expect(report.alarms).toBeNull();
    expect((await printed(report)).out).not.toContain('alarms');
  });
});
