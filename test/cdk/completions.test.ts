/**
 * The completions queue and its function: a worker granted `grantReportCompletion` may send to that one
 * queue and do nothing else; the function consumes it with partial batch responses, may write runs, send
 * retries and failed runs to the pools' queues and DLQs, and cdk-nag stays clean.
 */
import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { Scheduler } from '../../cdk/scheduler.js';
import { actionsOf, exampleProps, nagFindings, newStack, statementsOfRole } from './fixtures.js';

let stack: Stack;
let template: Template;
let scheduler: Scheduler;
let worker: iam.Role;

const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as iam.CfnRole);

beforeAll(() => {
  stack = newStack({ bundle: false, name: 'Async' });
  scheduler = new Scheduler(stack, 'Scheduler', exampleProps());
  worker = new iam.Role(stack, 'Worker', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
  scheduler.grantReportCompletion(worker);
  template = Template.fromStack(stack);
});

describe('the completions queue', () => {
  it('is encrypted, TLS-only, and redrives to its own DLQ after 5 receives', () => {
    const queueId = stack.getLogicalId(scheduler.completions.queue.node.defaultChild as never);
    const dlqId = stack.getLogicalId(scheduler.completions.dlq.node.defaultChild as never);
    const queue = template.toJSON().Resources[queueId];

    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 180,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: Match.objectLike({
        Statement: [
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ],
      }),
    });
  });

  it('is consumed by the completions function in batches of 10 with partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: {
        Ref: stack.getLogicalId(scheduler.completions.consumer.function.node.defaultChild as never),
      },
      EventSourceArn: {
        'Fn::GetAtt': [stack.getLogicalId(scheduler.completions.queue.node.defaultChild as never), 'Arn'],
      },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it("lets the completions function copy a malformed report to the queue's DLQ (without its token)", () => {
    const fnId = stack.getLogicalId(scheduler.completions.consumer.function.node.defaultChild as never);
    const dlqId = stack.getLogicalId(scheduler.completions.dlq.node.defaultChild as never);
    const fn = template.toJSON().Resources[fnId];

    expect(fn.Properties.Environment.Variables.PUNCTUAL_COMPLETIONS_DLQ).toEqual({ Ref: dlqId });
    const sends = statementsOfRole(template, idOf(scheduler.completions.consumer.role)).filter((s) =>
      actionsOf(s).includes('sqs:SendMessage'),
    );
    expect(JSON.stringify(sends)).toContain(dlqId);
  });

  it('is named in the stack outputs', () => {
    expect(template.toJSON().Outputs.CompletionsQueueUrl).toBeDefined();
  });
});

describe('grantReportCompletion', () => {
  it('allows sqs:SendMessage on the completions queue and nothing else', () => {
    const statements = statementsOfRole(template, idOf(worker));

    expect(statements.flatMap(actionsOf)).toEqual(['sqs:SendMessage']);
    expect(statements.map((statement) => statement.Resource)).toEqual([
      { 'Fn::GetAtt': [stack.getLogicalId(scheduler.completions.queue.node.defaultChild as never), 'Arn'] },
    ]);
  });
});

describe('the completions function', () => {
  it('may read and write the table, send to the pools and its DLQ and publish events, and nothing else', () => {
    const statements = statementsOfRole(template, idOf(scheduler.completions.consumer.role));
    const actions = [...new Set(statements.flatMap(actionsOf))].sort();

    expect(actions).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
    ]);
    const sends = statements.filter((statement) => actionsOf(statement).includes('sqs:SendMessage'));
    const text = JSON.stringify(sends.map((statement) => statement.Resource));
    expect(text).toMatch(/SchedulerPooldefaultQueue/);
    expect(text).toMatch(/SchedulerPooldefaultDlq/);
    // Not to its own queue: only its DLQ, where a malformed report is copied without its token.
    expect(text).not.toMatch(/SchedulerCompletionsQueue/);
    expect(text).toMatch(/SchedulerCompletionsDlq/);
  });

  it('counts asynchronous successes for the gap alarms from its own log group', () => {
    const filters = Object.values(template.findResources('AWS::Logs::MetricFilter')) as {
      Properties: { LogGroupName: unknown; MetricTransformations: { MetricName: string }[] };
    }[];
    const completionsLogs = stack.getLogicalId(
      scheduler.completions.consumer.logGroup.node.defaultChild as never,
    );

    expect(
      filters.filter((filter) => JSON.stringify(filter.Properties.LogGroupName).includes(completionsLogs)),
    ).not.toHaveLength(0);
  });

  it('leaves no cdk-nag finding', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});
