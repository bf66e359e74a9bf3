/**
 * The Scheduler's template, synthesized once with real esbuild bundling: every resource SPEC §2 and §5
 * name, the properties the design depends on, least privilege, and zero cdk-nag findings.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, type Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ESM_MIN_CONCURRENCY, RESERVED_CONCURRENCY_HEADROOM } from '../../cdk/config.js';
import { bundleDir, ESM_REQUIRE_BANNER, PROJECT_ROOT } from '../../cdk/functions.js';
import { EXECUTOR_SERVICE, RUN_SUCCEEDED_LOG_MESSAGE, TICK_SERVICE } from '../../cdk/monitoring.js';
import { OUTPUT_KEYS, Scheduler } from '../../cdk/scheduler.js';
import { ENV } from '../../functions/commons/config.js';
import { MAX_RECEIVE_COUNT, VISIBILITY_FACTOR } from '../../shared/queue/policy.js';
import { METRIC_NAMESPACE } from '../../shared/signals.js';
import { createTableInput, TABLE_KEYS } from '../../shared/store/table.js';
import { STACK_TARGET_POLICY } from '../../shared/targets/policy.js';
import {
  actionsOf,
  annotationMessages,
  exampleProps,
  nagFindings,
  newStack,
  type Resource,
  resources,
  resourceText,
  type Statement,
  statementsOfRole,
} from './fixtures.js';

const TARGET_FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:report-builder';

let stack: Stack;
let scheduler: Scheduler;
let template: Template;

beforeAll(() => {
  stack = newStack({ name: 'Punctual' });
  const targetQueue = new sqs.Queue(stack, 'TargetQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  const deadLetters = new sqs.Queue(stack, 'TargetDlq', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  (targetQueue.node.defaultChild as sqs.CfnQueue).redrivePolicy = {
    deadLetterTargetArn: deadLetters.queueArn,
    maxReceiveCount: 3,
  };
  Validations.of(deadLetters).acknowledge({
    id: 'Serverless-SQSRedrivePolicy',
    reason:
      'Test fixture: the DLQ of the target queue the executors are granted; a DLQ needs no DLQ of its own.',
  });
  scheduler = new Scheduler(stack, 'Scheduler', {
    ...exampleProps(),
    targetAccess: {
      functions: [TARGET_FUNCTION_ARN],
      queues: [targetQueue],
      buses: [events.EventBus.fromEventBusName(stack, 'DefaultBus', 'default')],
    },
  });
  template = Template.fromStack(stack);
});

const logicalIdOf = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId((construct.node.defaultChild ?? construct) as never);

describe('table', () => {
  it('is on-demand, with point-in-time recovery, encryption, TTL on expiresAt, deletion protection, retained', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: TABLE_KEYS.ttlAttribute, Enabled: true },
        DeletionProtectionEnabled: true,
        KeySchema: [
          { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
        ],
      }),
    });
  });

  it('has the global secondary indexes of the local table (createTableInput), projecting keys only', () => {
    const [, table] = resources(template, 'AWS::DynamoDB::Table')[0]!;
    const indexes = table.Properties.GlobalSecondaryIndexes as {
      IndexName: string;
      KeySchema: unknown;
      Projection: unknown;
    }[];
    expect(indexes).toEqual(
      TABLE_KEYS.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      })),
    );
    expect(indexes).toEqual(
      createTableInput('any').GlobalSecondaryIndexes?.map(({ IndexName, KeySchema, Projection }) => ({
        IndexName,
        KeySchema,
        Projection,
      })),
    );
    const attributes = table.Properties.AttributeDefinitions as {
      AttributeName: string;
      AttributeType: string;
    }[];
    for (const index of TABLE_KEYS.indexes) {
      expect(attributes).toContainEqual({
        AttributeName: index.partitionKey.name,
        AttributeType: index.partitionKey.type,
      });
      expect(attributes).toContainEqual({
        AttributeName: index.sortKey.name,
        AttributeType: index.sortKey.type,
      });
    }
  });
});

describe('functions', () => {
  const ours = () => [
    logicalIdOf(scheduler.tickFunction),
    ...Object.values(scheduler.pools).map((pool) => logicalIdOf(pool.executor)),
    logicalIdOf(scheduler.deployJobsFunction!),
  ];

  it('run nodejs22.x on arm64 with JSON logs in their own log group, source maps off by default', () => {
    for (const id of ours()) {
      const fn = template.toJSON().Resources[id] as Resource;
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
      });
      expect(
        (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.NODE_OPTIONS,
      ).toBeUndefined();
    }
  });

  it('keep their logs for a month', () => {
    const groups = resources(template, 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(ours().length);
    for (const [, group] of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it('deploy the prebuilt bundles of dist/lambda: ES modules with the createRequire banner, without their source maps', () => {
    const outdir = (stack.node.root as App).outdir;
    const functions = [
      ['tick', scheduler.tickFunction],
      ['executor', scheduler.pools.default!.executor],
      ['deploy-jobs', scheduler.deployJobsFunction!],
    ] as const;
    for (const [name, fn] of functions) {
      const resource = template.toJSON().Resources[logicalIdOf(fn)] as Resource;
      const key = String((resource.Properties.Code as { S3Key: string }).S3Key).replace(/\.zip$/, '');
      const asset = readFileSync(join(outdir, `asset.${key}`, 'index.mjs'), 'utf8');
      expect(asset).toBe(readFileSync(join(bundleDir(name), 'index.mjs'), 'utf8'));
      expect(asset.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
      expect(existsSync(join(bundleDir(name), 'index.mjs.map'))).toBe(true);
      expect(existsSync(join(outdir, `asset.${key}`, 'index.mjs.map'))).toBe(false);
    }
  });

  it('ship the source maps and run with --enable-source-maps when sourceMaps is on', () => {
    const mapped = newStack({ name: 'Mapped' });
    const withMaps = new Scheduler(mapped, 'Scheduler', { ...exampleProps(), sourceMaps: true });
    const json = Template.fromStack(mapped).toJSON();
    const outdir = (mapped.node.root as App).outdir;
    for (const fn of [
      withMaps.tickFunction,
      withMaps.pools.default!.executor,
      withMaps.completions.consumer.function,
    ]) {
      const resource = json.Resources[mapped.getLogicalId(fn.node.defaultChild as never)] as Resource;
      const key = String((resource.Properties.Code as { S3Key: string }).S3Key).replace(/\.zip$/, '');
      expect(existsSync(join(outdir, `asset.${key}`, 'index.mjs.map'))).toBe(true);
      expect(
        (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables.NODE_OPTIONS,
      ).toBe('--enable-source-maps');
    }
  });

  it('tell each executor its pool and every function the table, shards, pools and bus', () => {
    for (const pool of Object.values(scheduler.pools)) {
      const fn = template.toJSON().Resources[logicalIdOf(pool.executor)] as Resource;
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables[ENV.pool]).toBe(pool.name);
      for (const name of [ENV.table, ENV.shards, ENV.retentionDays, ENV.pools, ENV.bus])
        expect(variables[name]).toBeDefined();
    }
    const tick = template.toJSON().Resources[logicalIdOf(scheduler.tickFunction)] as Resource;
    const variables = (tick.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toMatchObject({
      [ENV.lookahead]: '75000',
      [ENV.budget]: '45000',
      [ENV.shards]: '4',
      [ENV.retentionDays]: '30',
    });
    expect(variables[ENV.pool]).toBeUndefined();
  });

  it('give the executors, and only them, the target policy (the stack default when none is set) and the completions queue', () => {
    for (const pool of Object.values(scheduler.pools)) {
      const fn = template.toJSON().Resources[logicalIdOf(pool.executor)] as Resource;
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(JSON.parse(variables[ENV.targetPolicy] as string)).toEqual(STACK_TARGET_POLICY);
      // punctual's own queues, which no job may target (shared/targets/reserved.ts)
      expect(variables[ENV.completionsQueue]).toEqual({ Ref: logicalIdOf(scheduler.completions.queue) });
    }
    const tick = template.toJSON().Resources[logicalIdOf(scheduler.tickFunction)] as Resource;
    const variables = (tick.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables[ENV.targetPolicy]).toBeUndefined();
  });
});

describe('tick', () => {
  it('fires on rate(1 minute), retried by EventBridge, its undeliverable events kept in the tick DLQ', () => {
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalIdOf(scheduler.tickFunction), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalIdOf(scheduler.tickDlq), 'Arn'] } },
        }),
      ],
    });
  });

  it('times out at 60 s, has no reserved concurrency, and sends failed invocations to the tick DLQ unretried', () => {
    const tick = template.toJSON().Resources[logicalIdOf(scheduler.tickFunction)] as Resource;
    expect(tick.Properties.Timeout).toBe(60);
    expect(tick.Properties.ReservedConcurrentExecutions).toBeUndefined();
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalIdOf(scheduler.tickFunction) },
      MaximumRetryAttempts: 0,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [logicalIdOf(scheduler.tickDlq), 'Arn'] } },
      },
    });
  });
});

describe('pools', () => {
  it('has a queue, a DLQ and an executor for each pool, the default pool included', () => {
    expect(Object.keys(scheduler.pools).sort()).toEqual(['batch', 'default']);
    // Two per pool, the tick DLQ, the completions queue and its DLQ (the target queues of this test
    // stack are two more); an event source mapping per pool and one for the completions function.
    template.resourceCountIs('AWS::SQS::Queue', 2 * 2 + 1 + 2 + 2);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2 + 1);
  });

  it('caps each pool with maximumConcurrency and reserves its concurrency + 1, never less', () => {
    const expected = { default: 4, batch: 2 };
    for (const pool of Object.values(scheduler.pools)) {
      const [, mapping] = resources(template, 'AWS::Lambda::EventSourceMapping').find(
        ([, m]) =>
          JSON.stringify(m.Properties.FunctionName) === JSON.stringify({ Ref: logicalIdOf(pool.executor) }),
      )!;
      const fn = template.toJSON().Resources[logicalIdOf(pool.executor)] as Resource;
      const maximum = (mapping.Properties.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency;
      const reserved = fn.Properties.ReservedConcurrentExecutions as number;
      expect(maximum).toBe(expected[pool.name as keyof typeof expected]);
      expect(maximum).toBeGreaterThanOrEqual(ESM_MIN_CONCURRENCY);
      expect(reserved).toBe(maximum + RESERVED_CONCURRENCY_HEADROOM);
      expect(reserved).toBeGreaterThanOrEqual(maximum);
    }
  });

  it('takes one message per invocation and reports batch item failures', () => {
    const executors = new Set(Object.values(scheduler.pools).map((pool) => logicalIdOf(pool.executor)));
    const mappings = resources(template, 'AWS::Lambda::EventSourceMapping').filter(([, mapping]) =>
      executors.has((mapping.Properties.FunctionName as { Ref: string }).Ref),
    );
    expect(mappings).toHaveLength(executors.size);
    for (const [, mapping] of mappings) {
      expect(mapping.Properties.BatchSize).toBe(1);
      expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    }
  });

  it(`sets each queue's visibility timeout to ${VISIBILITY_FACTOR} × its executor's timeout`, () => {
    for (const pool of Object.values(scheduler.pools)) {
      const fn = template.toJSON().Resources[logicalIdOf(pool.executor)] as Resource;
      const queue = template.toJSON().Resources[logicalIdOf(pool.queue)] as Resource;
      expect(fn.Properties.Timeout).toBe(pool.timeout.toSeconds());
      expect(queue.Properties.VisibilityTimeout).toBe(VISIBILITY_FACTOR * (fn.Properties.Timeout as number));
    }
    expect(scheduler.pools.batch!.timeout.toMinutes()).toBe(10);
  });

  it(`moves a message to the pool's DLQ after ${MAX_RECEIVE_COUNT} receives; DLQs keep messages 14 days`, () => {
    expect(MAX_RECEIVE_COUNT).toBeGreaterThanOrEqual(5);
    for (const pool of Object.values(scheduler.pools)) {
      const queue = template.toJSON().Resources[logicalIdOf(pool.queue)] as Resource;
      expect(queue.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalIdOf(pool.dlq), 'Arn'] },
        maxReceiveCount: MAX_RECEIVE_COUNT,
      });
      const dlq = template.toJSON().Resources[logicalIdOf(pool.dlq)] as Resource;
      expect(dlq.Properties.MessageRetentionPeriod).toBe(14 * 86_400);
    }
  });

  it('encrypts every queue with SQS-managed keys and denies access without TLS', () => {
    const queues = [
      scheduler.tickDlq,
      ...Object.values(scheduler.pools).flatMap((pool) => [pool.queue, pool.dlq]),
    ];
    for (const queue of queues) {
      const id = logicalIdOf(queue);
      expect((template.toJSON().Resources[id] as Resource).Properties.SqsManagedSseEnabled).toBe(true);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });
});

describe('event bus and alarm topic', () => {
  it('creates one bus for lifecycle events and one SSL-only topic with the e-mail subscription', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
  });
});

describe('least privilege', () => {
  const roleOf = (fn: { role?: { node: { defaultChild?: unknown } } }) => logicalIdOf(fn.role! as never);
  const DATA_PLANE = /^(dynamodb|sqs|events|lambda|kms|sns):/;
  const frameworkRole = () =>
    resources(template, 'AWS::IAM::Role').find(([id]) => id.includes('JobsProviderframeworkonEvent'))![0];

  it('grants no data-plane action on a wildcard resource', () => {
    const offending: string[] = [];
    for (const [id, policy] of resources(template, 'AWS::IAM::Policy')) {
      // The CDK Provider framework's relay may invoke the deploy-jobs function's versions (acknowledged).
      if (JSON.stringify(policy.Properties.Roles).includes(frameworkRole())) continue;
      for (const statement of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
        if (!actionsOf(statement).some((action) => DATA_PLANE.test(action))) continue;
        const text = resourceText(statement.Resource);
        if (text.includes('*')) offending.push(`${id}: ${actionsOf(statement).join(',')} on ${text}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('attaches no AWS managed policy to the functions it builds', () => {
    for (const fn of [
      scheduler.tickFunction,
      scheduler.deployJobsFunction!,
      ...Object.values(scheduler.pools).map((p) => p.executor),
    ]) {
      const role = template.toJSON().Resources[roleOf(fn)] as Resource;
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('lets the tick use the table and its two indexes, send to every pool queue and DLQ, and put events on the bus', () => {
    const statements = statementsOfRole(template, roleOf(scheduler.tickFunction));
    const table = statements.find((s) => actionsOf(s).includes('dynamodb:Query'))!;
    // Scan: the due-index audit reads a page of the table each minute. BatchGetItem: the items the
    // keys-only due and open indexes name.
    expect(actionsOf(table).sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:UpdateItem',
    ]);
    expect(resourceText(table.Resource)).toBe(
      ['<ref>', ...TABLE_KEYS.indexes.map((index) => `<ref>/index/${index.name}`)].join(','),
    );
    const sent = statements
      .filter((s) => actionsOf(s).includes('sqs:SendMessage'))
      .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
    const queues = [
      ...Object.values(scheduler.pools).flatMap((pool) => [pool.queue, pool.dlq]),
      scheduler.tickDlq,
    ];
    // The tick DLQ is its on-failure destination.
    expect(sent).toEqual(
      expect.arrayContaining(queues.map((q) => ({ 'Fn::GetAtt': [logicalIdOf(q), 'Arn'] }))),
    );
    expect(sent).toHaveLength(queues.length);
    const put = statements.find((s) => actionsOf(s).includes('events:PutEvents'))!;
    expect(put.Resource).toEqual({ 'Fn::GetAtt': [logicalIdOf(scheduler.eventBus), 'Arn'] });
    expect(statements.flatMap(actionsOf).some((a) => a.startsWith('lambda:'))).toBe(false);
  });

  it('lets an executor send to its own queue and DLQ only, consume its queue, and reach the granted targets', () => {
    const pool = scheduler.pools.batch!;
    const other = scheduler.pools.default!;
    const statements = statementsOfRole(template, roleOf(pool.executor));
    const sends = statements.filter((s) => actionsOf(s).includes('sqs:SendMessage'));
    const sent = JSON.stringify(sends.map((s) => s.Resource));
    expect(sent).toContain(logicalIdOf(pool.queue));
    expect(sent).toContain(logicalIdOf(pool.dlq));
    expect(sent).not.toContain(logicalIdOf(other.queue));
    expect(sent).not.toContain(logicalIdOf(other.dlq));
    const consume = statements.find((s) => actionsOf(s).includes('sqs:ReceiveMessage'))!;
    expect(consume.Resource).toEqual({ 'Fn::GetAtt': [logicalIdOf(pool.queue), 'Arn'] });
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'lambda:InvokeFunction', Resource: TARGET_FUNCTION_ARN }),
    );
    expect(sent).toContain('TargetQueue');
    const put = JSON.stringify(
      statements.filter((s) => actionsOf(s).includes('events:PutEvents')).map((s) => s.Resource),
    );
    expect(put).toContain(logicalIdOf(scheduler.eventBus)); // its own bus
    expect(put).toContain(':event-bus/default');
  });

  it('lets the deploy-jobs handler write items of the table and send to the pool queues, and nothing else', () => {
    const statements = statementsOfRole(template, roleOf(scheduler.deployJobsFunction!));
    const table = statements.find((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')))!;
    expect(actionsOf(table).sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:Scan', // a deploy that drops a calendar finds the jobs that still exclude it
      'dynamodb:UpdateItem',
    ]);
    const send = statements.find((s) => actionsOf(s).includes('sqs:SendMessage'))!;
    expect(actionsOf(send)).toEqual(['sqs:SendMessage']);
    expect(JSON.stringify(send.Resource)).not.toContain('Dlq');
    const others = statements.filter((s) => s !== table && s !== send).flatMap(actionsOf);
    expect(others.every((action) => action.startsWith('logs:'))).toBe(true);
  });
});

describe('alarms', () => {
  const alarms = () => resources(template, 'AWS::CloudWatch::Alarm');
  const alarm = (suffix: string) => {
    const found = alarms().find(([, a]) => String(a.Properties.AlarmName).endsWith(`-${suffix}`));
    if (!found) throw new Error(`no alarm ${suffix}`);
    return found[1].Properties;
  };

  it('raises the tick heartbeat alarm when TickHeartbeat sums below 1 over 5 minutes, missing data breaching', () => {
    expect(alarm('TickHeartbeat')).toMatchObject({
      Namespace: METRIC_NAMESPACE,
      MetricName: 'TickHeartbeat',
      Dimensions: [{ Name: 'service', Value: TICK_SERVICE }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('adds the tick and executor series of RunsMissed and alarms above 0', () => {
    const props = alarm('RunsMissed');
    expect(props).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    const metrics = props.Metrics as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { Dimensions: unknown } };
    }[];
    expect(metrics.find((m) => m.Expression)?.Expression).toBe(
      'FILL(runsmissed_tick, 0) + FILL(runsmissed_executor, 0)',
    );
    expect(metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat!.Metric.Dimensions)).toEqual([
      [{ Name: 'service', Value: TICK_SERVICE }],
      [{ Name: 'service', Value: EXECUTOR_SERVICE }],
    ]);
  });

  it('alarms on OverdueJobs and InvalidJobs above 0 and on StartLag p99 above 60 s', () => {
    expect(alarm('OverdueJobs')).toMatchObject({
      MetricName: 'OverdueJobs',
      Threshold: 0,
      Dimensions: [{ Name: 'service', Value: TICK_SERVICE }],
    });
    expect(alarm('InvalidJobs')).toMatchObject({
      MetricName: 'InvalidJobs',
      Threshold: 0,
      Dimensions: [{ Name: 'service', Value: TICK_SERVICE }],
    });
    expect(alarm('StartLag')).toMatchObject({
      MetricName: 'StartLag',
      ExtendedStatistic: 'p99',
      Threshold: 60_000,
      Dimensions: [{ Name: 'service', Value: EXECUTOR_SERVICE }],
    });
  });

  it('alarms on every DLQ, the tick DLQ included, and on executor errors and throttles per pool', () => {
    for (const [suffix, queue] of [
      ['TickDlqNotEmpty', scheduler.tickDlq],
      ...Object.values(scheduler.pools).map((pool) => [`Pool-${pool.name}-DlqNotEmpty`, pool.dlq] as const),
    ] as const) {
      expect(alarm(suffix)).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalIdOf(queue), 'QueueName'] } }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
    for (const pool of Object.values(scheduler.pools)) {
      for (const metric of ['Errors', 'Throttles']) {
        expect(alarm(`Pool-${pool.name}-Executor${metric}`)).toMatchObject({
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalIdOf(pool.executor) } }],
          Threshold: 0,
        });
      }
    }
  });

  it("raises a job's gap alarm when no success is logged for factor × period, counted by a metric filter", () => {
    expect(alarm('Job-heartbeat-Gap')).toMatchObject({
      Namespace: METRIC_NAMESPACE,
      MetricName: 'JobRunsSucceeded',
      Dimensions: [{ Name: 'jobId', Value: 'heartbeat' }],
      Period: 900, // 3 × 5 minutes
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logicalIdOf(scheduler.pools.default!.executorLogGroup) },
      FilterPattern: `{ ($.message = "${RUN_SUCCEEDED_LOG_MESSAGE}") && ($.jobId = "heartbeat") }`,
      MetricTransformations: [
        Match.objectLike({
          MetricName: 'JobRunsSucceeded',
          MetricValue: '1',
          Dimensions: [{ Key: 'jobId', Value: '$.jobId' }],
        }),
      ],
    });
  });

  it('has 13 alarms, each notifying the topic on ALARM and OK and telling the operator what to do', () => {
    expect(alarms()).toHaveLength(5 + 1 + 3 * 2 + 1);
    const topic = { Ref: logicalIdOf(scheduler.alarmTopic as never) };
    for (const [, a] of alarms()) {
      expect(a.Properties.AlarmActions).toEqual([topic]);
      expect(a.Properties.OKActions).toEqual([topic]);
      expect(String(a.Properties.AlarmDescription)).toMatch(/Runbook: docs\/runbook\.md#/);
      expect(String(a.Properties.AlarmDescription).length).toBeLessThanOrEqual(1024);
    }
  });

  it('watches only punctual metrics with the dimension set the functions publish', () => {
    for (const [, a] of alarms()) {
      const metrics = (
        a.Properties.Metrics as { MetricStat?: { Metric: Record<string, unknown> } }[] | undefined
      )
        ?.filter((m) => m.MetricStat)
        .map((m) => m.MetricStat!.Metric) ?? [a.Properties];
      for (const metric of metrics.filter((m) => m.Namespace === METRIC_NAMESPACE)) {
        const names = (metric.Dimensions as { Name: string }[]).map((d) => d.Name);
        expect(names).toEqual(metric.MetricName === 'JobRunsSucceeded' ? ['jobId'] : ['service']);
      }
    }
  });
});

describe('dashboard', () => {
  it('shows the alarms, the punctual metrics and the queue depths', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const [, dashboard] = resources(template, 'AWS::CloudWatch::Dashboard')[0]!;
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const text of [
      'alarm',
      'TickHeartbeat',
      'StartLag',
      'RunsMissed',
      'OverdueJobs',
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesDelayed',
      'ConcurrentExecutions',
    ]) {
      expect(body).toContain(text);
    }
  });
});

describe('declared jobs', () => {
  it('are written by a custom resource whose handler is functions/deploy-jobs.ts, normalized at synth', () => {
    template.resourceCountIs('Custom::PunctualJobs', 1);
    const [, resource] = resources(template, 'Custom::PunctualJobs')[0]!;
    const jobs = JSON.parse(resource.Properties.Jobs as string) as {
      id: string;
      pool: string;
      target: { timeout: number };
    }[];
    expect(jobs.map((job) => [job.id, job.pool, job.target.timeout])).toEqual([
      ['heartbeat', 'default', 10_000],
      ['nightly-batch', 'batch', 300_000],
    ]);
    expect(resource.Properties).toMatchObject({
      Pools: ['default', 'batch'],
      Shards: '4',
      TableName: { Ref: logicalIdOf(scheduler.table) },
    });
    expect(JSON.stringify(resource.Properties.Jobs)).not.toContain('gapAlarm');
    // CloudFormation must not call the handler before its permissions exist.
    const policy = resources(template, 'AWS::IAM::Policy').find(([, p]) =>
      JSON.stringify(p.Properties.Roles).includes(logicalIdOf(scheduler.deployJobsFunction!.role as never)),
    )![0];
    expect(resource.DependsOn).toContain(policy);
    expect(scheduler.jobs.map((job) => job.id)).toEqual(['heartbeat', 'nightly-batch']);
  });
});

describe('outputs', () => {
  it('names the table, the pools, the bus, the topic, the dashboard and the tick under fixed keys', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    // TargetAccess only with `applications` (test/cdk/target-access.test.ts).
    const always = Object.values(OUTPUT_KEYS).filter((key) => key !== OUTPUT_KEYS.targetAccess);
    expect(Object.keys(outputs).sort()).toEqual(always.sort());
    const pools = JSON.stringify(outputs[OUTPUT_KEYS.pools]!.Value);
    for (const field of ['queueUrl', 'dlqUrl', 'dlqArn', 'functionName', 'concurrency', 'timeout'])
      expect(pools).toContain(field);
    expect(outputs[OUTPUT_KEYS.shards]!.Value).toBe('4');
    expect(JSON.stringify(outputs[OUTPUT_KEYS.dashboardUrl]!.Value)).toContain('#dashboards:name=');
  });
});

describe('cdk-nag', () => {
  it('leaves no unacknowledged AwsSolutions or Serverless finding, error or warning', () => {
    expect(nagFindings(stack)).toEqual([]);
  });

  it('raises no CDK error or warning annotation', () => {
    expect(annotationMessages(stack)).toEqual([]);
  });

  it('gives a reason for every acknowledgement', () => {
    const acknowledged = stack.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata.filter((entry) => entry.type === 'aws:cdk:acknowledged-rules'),
      )
      .flatMap((entry) => Object.values(entry.data as Record<string, { reason?: string } | string>));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const value of acknowledged) {
      const reason = typeof value === 'string' ? value : value.reason;
      expect(String(reason).length).toBeGreaterThan(40);
    }
  });
});

describe('metric dimensions', () => {
  // The alarms name `service` values the functions set in code; a rename there must fail here.
  it.each([
    ['functions/tick.ts', TICK_SERVICE],
    ['functions/executor.ts', EXECUTOR_SERVICE],
  ])('%s publishes its metrics as service=%s', (file, service) => {
    const source = readFileSync(join(PROJECT_ROOT, file), 'utf8');
    expect(/createMetrics\('([^']+)'\)/.exec(source)?.[1]).toBe(service);
  });

  it('the gap alarm filter counts the line the executor logs for a successful run', () => {
    // The filter and the executor share one constant; the executor test checks the line carries jobId.
    const filters = template.findResources('AWS::Logs::MetricFilter');
    const patterns = Object.values(filters).map((filter) => JSON.stringify(filter.Properties.FilterPattern));
    expect(patterns.some((pattern) => pattern.includes(RUN_SUCCEEDED_LOG_MESSAGE))).toBe(true);
  });
});
