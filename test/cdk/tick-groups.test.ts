/**
 * `tickGroups`: the tick fanned out over shard groups. One tick function by default; with more groups a
 * tick-worker function beside it, which the tick may invoke (that function only), which has the tick's
 * table and queue access and no more, whose failed invocations reach the tick DLQ, a TickGroupsStopped
 * alarm, and cdk-nag still clean.
 */
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../cdk/scheduler.js';
import {
  actionsOf,
  exampleProps,
  nagFindings,
  newStack,
  resources,
  resourceText,
  statementsOfRole,
} from './fixtures.js';

function synth(overrides: Parameters<typeof exampleProps>[0] = {}) {
  const stack = newStack({ bundle: false });
  const scheduler = new Scheduler(stack, 'Scheduler', exampleProps(overrides));
  return { stack, scheduler, template: Template.fromStack(stack) };
}

const logicalId = (stack: Stack, fn: lambda.Function) => stack.getLogicalId(fn.node.defaultChild as never);
const roleId = (stack: Stack, fn: lambda.Function) => stack.getLogicalId(fn.role!.node.defaultChild as never);

function environmentOf(template: Template, id: string): Record<string, unknown> {
  const [, fn] = resources(template, 'AWS::Lambda::Function').find(([logical]) => logical === id)!;
  return (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
}

describe('tickGroups', () => {
  it('defaults to one tick that does the whole minute: no worker, no invoke permission', () => {
    const { stack, scheduler, template } = synth();

    expect(scheduler.tickWorkerFunction).toBeUndefined();
    expect(environmentOf(template, logicalId(stack, scheduler.tickFunction)).PUNCTUAL_TICK_GROUPS).toBe('1');
    const actions = statementsOfRole(template, roleId(stack, scheduler.tickFunction)).flatMap(actionsOf);
    expect(actions).not.toContain('lambda:InvokeFunction');
    expect(
      template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'TickGroupsStopped' } }),
    ).toEqual({});
  });

  it('with 4 groups adds a tick worker the tick alone may invoke, with the same access as the tick', () => {
    const { stack, scheduler, template } = synth({ shards: 8, tickGroups: 4 });
    const worker = scheduler.tickWorkerFunction!;
    const tickId = logicalId(stack, scheduler.tickFunction);
    const workerId = logicalId(stack, worker);

    const tickEnv = environmentOf(template, tickId);
    const workerEnv = environmentOf(template, workerId);
    expect(tickEnv.PUNCTUAL_TICK_GROUPS).toBe('4');
    expect(tickEnv.PUNCTUAL_TICK_WORKER).toEqual({ Ref: workerId });
    expect(workerEnv.PUNCTUAL_TICK_GROUPS).toBe('4');
    expect(workerEnv.PUNCTUAL_TICK_WORKER).toBeUndefined();
    expect(workerEnv.PUNCTUAL_SHARDS).toBe('8');

    const tickStatements = statementsOfRole(template, roleId(stack, scheduler.tickFunction));
    const invoke = tickStatements.filter((statement) =>
      actionsOf(statement).includes('lambda:InvokeFunction'),
    );
    expect(invoke).toHaveLength(1);
    expect(invoke[0]!.Resource).toEqual({ 'Fn::GetAtt': [workerId, 'Arn'] });
    const workerStatements = statementsOfRole(template, roleId(stack, worker));
    const summary = (statements: typeof workerStatements) =>
      statements
        .flatMap((statement) =>
          actionsOf(statement).map((action) => `${action} ${resourceText(statement.Resource)}`),
        )
        .filter((line) => !line.startsWith('lambda:'))
        .sort();
    expect(summary(workerStatements)).toEqual(summary(tickStatements));
    expect(workerStatements.flatMap(actionsOf)).not.toContain('lambda:InvokeFunction');
    expect(workerStatements.flatMap(actionsOf)).toContain('dynamodb:Scan');

    // Its failed invocations go to the tick DLQ, and a stale event is dropped (the next minute invokes again).
    const invokeConfigs = resources(template, 'AWS::Lambda::EventInvokeConfig').filter(
      ([, config]) => JSON.stringify(config.Properties.FunctionName) === JSON.stringify({ Ref: workerId }),
    );
    expect(invokeConfigs).toHaveLength(1);
    expect(invokeConfigs[0]![1].Properties).toMatchObject({
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });

    const alarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'TickGroupsStopped' } }),
    );
    expect(alarms).toHaveLength(1);
    expect(alarms[0]!.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(template.toJSON().Outputs.TickGroups.Value).toBe('4');
  });

  it('stays cdk-nag clean when fanned out', () => {
    const { stack } = synth({ shards: 8, tickGroups: 4 });
    expect(nagFindings(stack)).toEqual([]);
  });

  it('refuses more groups than shards, naming the field, the value and the rule', () => {
    expect(() => synth({ shards: 4, tickGroups: 5 })).toThrow(
      /tickGroups.*5.*must be a whole number from 1 to 4 \(each group owns at least one of the 4 shards/s,
    );
    expect(() => synth({ tickGroups: 0 })).toThrow(/tickGroups.*0.*must be a whole number from 1/s);
  });
});
