/**
 * The Scheduler's defaults and its optional props. Bundling is skipped here (scheduler.test.ts checks the
 * bundles): these tests are about the template only.
 */
import { Duration, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Scheduler } from '../../cdk/scheduler.js';
import { ENV } from '../../functions/commons/config.js';
import { annotationMessages, nagFindings, newStack, type Resource, resources } from './fixtures.js';

describe('with default props', () => {
  let stack: Stack;
  let scheduler: Scheduler;
  let template: Template;
  beforeAll(() => {
    stack = newStack({ bundle: false });
    scheduler = new Scheduler(stack, 'Scheduler');
    template = Template.fromStack(stack);
  });

  it('has the default pool only: concurrency 2 (3 reserved), 5 minute timeout, 30 minute visibility, 512 MB', () => {
    expect(Object.keys(scheduler.pools)).toEqual(['default']);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const executor = template.toJSON().Resources[
      stack.getLogicalId(scheduler.pools.default!.executor.node.defaultChild as never)
    ] as Resource;
    expect(executor.Properties).toMatchObject({
      Timeout: 300,
      MemorySize: 512,
      ReservedConcurrentExecutions: 3,
    });
    const queue = template.toJSON().Resources[
      stack.getLogicalId(scheduler.pools.default!.queue.node.defaultChild as never)
    ] as Resource;
    expect(queue.Properties.VisibilityTimeout).toBe(1_800);
  });

  it('declares no jobs: no custom resource and no deploy-jobs function', () => {
    template.resourceCountIs('Custom::PunctualJobs', 0);
    // tick, the default pool's executor, the completions function.
    template.resourceCountIs('AWS::Lambda::Function', 3);
    expect(scheduler.deployJobsFunction).toBeUndefined();
  });

  it('alarms on the tick, the runs, the tick DLQ and the default pool', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5 + 1 + 3);
    template.resourceCountIs('AWS::Logs::MetricFilter', 0);
  });

  it('passes cdk-nag with no CDK annotation', () => {
    expect(nagFindings(stack)).toEqual([]);
    expect(annotationMessages(stack)).toEqual([]);
  });
});

describe('a pool that batches', () => {
  it('sets its event source mapping batch size, with no batching window, and says so in the description', () => {
    const stack = newStack({ bundle: false });
    const scheduler = new Scheduler(stack, 'Scheduler', {
      pools: { default: { concurrency: 2 }, wide: { concurrency: 4, batchSize: 10 } },
    });
    const template = Template.fromStack(stack);
    const mappingOf = (pool: string) => {
      const fn = stack.getLogicalId(scheduler.pools[pool]!.executor.node.defaultChild as never);
      const found = resources(template, 'AWS::Lambda::EventSourceMapping').find(
        ([, mapping]) => (mapping.Properties.FunctionName as { Ref: string }).Ref === fn,
      );
      return { mapping: found![1], fn: template.toJSON().Resources[fn] as Resource };
    };
    const wide = mappingOf('wide');
    expect(wide.mapping.Properties.BatchSize).toBe(10);
    expect(wide.mapping.Properties.MaximumBatchingWindowInSeconds).toBeUndefined();
    expect(wide.mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(wide.fn.Properties.Description).toContain('up to 10 runs per invocation');
    expect(mappingOf('default').mapping.Properties.BatchSize).toBe(1);
  });
});

describe('with every option', () => {
  let stack: Stack;
  let scheduler: Scheduler;
  let template: Template;
  beforeAll(() => {
    stack = newStack({ bundle: false });
    const key = new kms.Key(stack, 'TableKey', { enableKeyRotation: true });
    const topic = sns.Topic.fromTopicArn(stack, 'OpsTopic', 'arn:aws:sns:eu-west-1:123456789012:ops');
    const targetKey = new kms.Key(stack, 'TargetKey', { enableKeyRotation: true });
    const targetDlq = new sqs.Queue(stack, 'TargetDlq', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: targetKey,
      enforceSSL: true,
    });
    const targetQueue = new sqs.Queue(stack, 'TargetQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: targetKey,
      enforceSSL: true,
      deadLetterQueue: { queue: targetDlq, maxReceiveCount: 3 },
    });
    scheduler = new Scheduler(stack, 'Scheduler', {
      pools: { default: { concurrency: 10, timeout: Duration.minutes(15), memorySize: 2048 } },
      jobs: [{ id: 'hourly', schedule: 'rate(1 hour)', target: { type: 'handler', name: 'noop' } }],
      shards: 8,
      runRetention: Duration.days(7),
      tableName: 'punctual-jobs',
      tableEncryptionKey: key,
      deletionProtection: false,
      removalPolicy: RemovalPolicy.DESTROY,
      lookahead: Duration.seconds(120),
      tickBudget: Duration.seconds(30),
      reserveConcurrency: false,
      logRetention: 7,
      logLevel: lambda.ApplicationLogLevel.WARN,
      eventBusName: 'punctual-events',
      alarmTopic: topic,
      alarms: {
        startLagP99: Duration.seconds(10),
        runsMissed: 5,
        period: Duration.minutes(1),
        evaluationPeriods: 3,
      },
      targetAccess: { queues: [targetQueue] },
      dashboardName: 'punctual',
      outputs: false,
      billing: 'provisioned',
      provisionedCapacity: { writeMin: 10, writeMax: 400 },
      indexProjection: 'all',
      successEvents: true,
    });
    template = Template.fromStack(stack);
  });

  it('provisions the table and both indexes, each auto scaled at 70 % utilization', () => {
    const [, table] = resources(template, 'AWS::DynamoDB::Table')[0]!;
    // PROVISIONED is CloudFormation's default: the template leaves BillingMode out.
    expect(table.Properties.BillingMode ?? 'PROVISIONED').toBe('PROVISIONED');
    expect(table.Properties.ProvisionedThroughput).toEqual({ ReadCapacityUnits: 5, WriteCapacityUnits: 10 });
    const indexes = table.Properties.GlobalSecondaryIndexes as {
      Projection: unknown;
      ProvisionedThroughput: unknown;
    }[];
    for (const index of indexes) {
      expect(index.Projection).toEqual({ ProjectionType: 'ALL' });
      expect(index.ProvisionedThroughput).toEqual({ ReadCapacityUnits: 5, WriteCapacityUnits: 10 });
    }
    // Read and write, for the table and each of the two indexes.
    const targets = resources(template, 'AWS::ApplicationAutoScaling::ScalableTarget');
    expect(targets).toHaveLength(6);
    const writeTargets = targets.filter(([, target]) =>
      String(target.Properties.ScalableDimension).endsWith('WriteCapacityUnits'),
    );
    expect(
      writeTargets.map(([, target]) => [target.Properties.MinCapacity, target.Properties.MaxCapacity]),
    ).toEqual([
      [10, 400],
      [10, 400],
      [10, 400],
    ]);
    for (const [, policy] of resources(template, 'AWS::ApplicationAutoScaling::ScalingPolicy'))
      expect(policy.Properties.TargetTrackingScalingPolicyConfiguration).toMatchObject({ TargetValue: 70 });
  });

  it('publishes success events when asked', () => {
    const executors = resources(template, 'AWS::Lambda::Function').filter(
      ([, fn]) =>
        (fn.Properties.Environment as { Variables?: Record<string, unknown> })?.Variables?.[ENV.pool],
    );
    expect(executors.length).toBeGreaterThan(0);
    for (const [, fn] of executors)
      expect(fn.Properties.Environment).toMatchObject({ Variables: { [ENV.successEvents]: 'true' } });
  });

  it('encrypts the table with the given key and lets every function use the key', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'punctual-jobs',
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TableKey'), 'Arn'] },
      },
      DeletionProtectionEnabled: false,
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    const kmsStatements = resources(template, 'AWS::IAM::Policy').filter(([, policy]) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes('kms:Decrypt'),
    );
    // tick, executor, deploy-jobs, completions.
    expect(kmsStatements.length).toBe(4);
  });

  it('notifies the given topic and creates none', () => {
    template.resourceCountIs('AWS::SNS::Topic', 0);
    for (const [, alarm] of resources(template, 'AWS::CloudWatch::Alarm')) {
      expect(alarm.Properties.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:123456789012:ops']);
    }
  });

  it('applies the alarm thresholds and evaluation', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'StartLag',
      Threshold: 10_000,
      Period: 60,
      EvaluationPeriods: 3,
    });
    const runsMissed = resources(template, 'AWS::CloudWatch::Alarm').find(([id]) =>
      id.includes('RunsMissed'),
    )![1];
    expect(runsMissed.Properties).toMatchObject({ Threshold: 5, EvaluationPeriods: 3 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'TickHeartbeat',
      Period: 300,
      EvaluationPeriods: 1,
    });
  });

  it('reserves no concurrency but still caps the pool with maximumConcurrency', () => {
    const executor = template.toJSON().Resources[
      stack.getLogicalId(scheduler.pools.default!.executor.node.defaultChild as never)
    ] as Resource;
    expect(executor.Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(executor.Properties.Timeout).toBe(900);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    const queue = template.toJSON().Resources[
      stack.getLogicalId(scheduler.pools.default!.queue.node.defaultChild as never)
    ] as Resource;
    expect(queue.Properties.VisibilityTimeout).toBe(5_400);
  });

  it('passes the tick and store settings to the functions', () => {
    const tick = template.toJSON().Resources[
      stack.getLogicalId(scheduler.tickFunction.node.defaultChild as never)
    ] as Resource;
    expect((tick.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      [ENV.shards]: '8',
      [ENV.retentionDays]: '7',
      [ENV.lookahead]: '120000',
      [ENV.budget]: '30000',
    });
    expect(tick.Properties.LoggingConfig).toMatchObject({ ApplicationLogLevel: 'WARN' });
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'punctual-events' });
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'punctual' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it('adds no outputs', () => {
    expect(template.toJSON().Outputs ?? {}).toEqual({});
  });

  it('passes cdk-nag with no CDK annotation', () => {
    expect(nagFindings(scheduler)).toEqual([]);
    expect(annotationMessages(stack)).toEqual([]);
  });
});
