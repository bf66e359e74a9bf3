/**
 * AsyncTargets: the EventBridge rules of the stepfunctions and ecs targets, the events function and its
 * DLQ alarm, least-privilege grants to the executors and the tick, and cdk-nag clean.
 */
import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as iamLib from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { AsyncTargets } from '../../cdk/async-targets.js';
import { Scheduler } from '../../cdk/scheduler.js';
import {
  actionsOf,
  exampleProps,
  nagFindings,
  newStack,
  resources,
  resourceText,
  type Statement,
  statementsOfRole,
} from './fixtures.js';

let stack: Stack;
let template: Template;
let scheduler: Scheduler;
let asyncTargets: AsyncTargets;
let machine: sfn.StateMachine;
let cluster: ecs.Cluster;
let taskDefinition: ecs.FargateTaskDefinition;

beforeAll(() => {
  stack = newStack({ bundle: false, name: 'App' });
  scheduler = new Scheduler(stack, 'Scheduler', exampleProps());
  machine = new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Work')),
  });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0 });
  cluster = new ecs.Cluster(stack, 'Cluster', { vpc });
  taskDefinition = new ecs.FargateTaskDefinition(stack, 'Task');
  taskDefinition.addContainer('app', {
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/busybox'),
    // awslogs needs the execution role: the executors must be able to pass it too.
    logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'app' }),
  });
  asyncTargets = new AsyncTargets(stack, 'AsyncTargets', {
    scheduler,
    stateMachines: [machine],
    ecsTasks: [{ cluster, taskDefinition }],
  });
  template = Template.fromStack(stack);
});

function roleId(role: iam.IRole | undefined): string {
  return stack.getLogicalId(role?.node.defaultChild as iam.CfnRole);
}

function statementsWith(statements: Statement[], action: string): Statement[] {
  return statements.filter((statement) => actionsOf(statement).includes(action));
}

describe('AsyncTargets: event rules', () => {
  it("routes the named state machines' punctual executions that ended to the events function", () => {
    const id = stack.getLogicalId(asyncTargets.stateMachineRule!.node.defaultChild as never);
    const rule = template.toJSON().Resources[id];
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        stateMachineArn: [{ Ref: stack.getLogicalId(machine.node.defaultChild as never) }],
        name: [{ prefix: 'punctual-' }],
        status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
      },
    });
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: {
          'Fn::GetAtt': [stack.getLogicalId(asyncTargets.eventsFunction.node.defaultChild as never), 'Arn'],
        },
        RetryPolicy: { MaximumEventAgeInSeconds: 21_600, MaximumRetryAttempts: 8 },
        DeadLetterConfig: expect.any(Object),
      }),
    ]);
  });

  it("routes the named clusters' stopped punctual tasks to the events function", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: {
          clusterArn: [{ 'Fn::GetAtt': [stack.getLogicalId(cluster.node.defaultChild as never), 'Arn'] }],
          lastStatus: ['STOPPED'],
          startedBy: [{ prefix: 'punctual-' }],
        },
      },
    });
  });

  it('alarms on the Scheduler topic when an event could not be applied', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: {
            'Fn::GetAtt': [stack.getLogicalId(asyncTargets.dlq.node.defaultChild as never), 'QueueName'],
          },
        },
      ],
      AlarmActions: [Match.anyValue()],
    });
  });

  it('refuses an AsyncTargets that names nothing', () => {
    expect(() => new AsyncTargets(stack, 'Empty', { scheduler })).toThrow(
      /stateMachines and ecsTasks are both empty/,
    );
  });
});

describe('AsyncTargets: least-privilege grants', () => {
  it('lets every executor start the named state machines and run the named task definition on its cluster', () => {
    for (const pool of Object.values(scheduler.pools)) {
      const statements = statementsOfRole(template, roleId(pool.executor.role));
      const start = statementsWith(statements, 'states:StartExecution');
      expect(start.map((s) => resourceText(s.Resource))).toEqual(['<ref>']);
      const run = statementsWith(statements, 'ecs:RunTask');
      expect(run).toHaveLength(1);
      expect(run[0]?.Resource).toEqual({
        Ref: stack.getLogicalId(taskDefinition.node.defaultChild as never),
      });
      expect(run[0]?.Condition).toEqual({ ArnEquals: { 'ecs:cluster': expect.any(Object) } });
      const pass = statementsWith(statements, 'iam:PassRole');
      expect(pass).toHaveLength(1);
      expect(pass[0]?.Condition).toEqual({
        StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
      });
      expect(JSON.stringify(pass[0]?.Resource)).toContain(roleId(taskDefinition.taskRole));
      expect(JSON.stringify(pass[0]?.Resource)).toContain(roleId(taskDefinition.executionRole));
      // It describes an execution whose name it found taken, and stops the execution or task of a run
      // a later slot replaces (overlap replace): punctual's executions, the jobs' clusters' tasks only.
      const describe = statementsWith(statements, 'states:DescribeExecution');
      expect(describe.map((s) => resourceText(s.Resource))).toEqual([
        expect.stringMatching(/:states:.*:execution:\*:punctual-\*$/),
      ]);
      expect(statementsWith(statements, 'states:StopExecution')).toEqual(describe);
      for (const action of ['ecs:ListTasks', 'ecs:DescribeTasks', 'ecs:StopTask']) {
        expect(statementsWith(statements, action)[0]?.Condition).toEqual({
          ArnEquals: {
            'ecs:cluster': [
              { 'Fn::GetAtt': [stack.getLogicalId(cluster.node.defaultChild as never), 'Arn'] },
            ],
          },
        });
      }
    }
  });

  it("lets the tick describe punctual's executions and the clusters' tasks, and nothing else of them", () => {
    const id = stack.getLogicalId(asyncTargets.tickPolicy.node.defaultChild as never);
    const policy = template.toJSON().Resources[id];
    expect(policy.Properties.Roles).toEqual([{ Ref: roleId(scheduler.tickFunction.role) }]);
    const statements = policy.Properties.PolicyDocument.Statement as Statement[];
    expect(statements.flatMap(actionsOf).sort()).toEqual([
      'ecs:DescribeTasks',
      'ecs:ListTasks',
      'ecs:StopTask',
      'states:DescribeExecution',
      'states:StopExecution',
    ]);
    const describeExecution = statementsWith(statements, 'states:DescribeExecution');
    expect(resourceText(describeExecution[0]?.Resource)).toMatch(/:states:.*:execution:\*:punctual-\*$/);
    for (const action of ['ecs:ListTasks', 'ecs:DescribeTasks', 'ecs:StopTask']) {
      expect(statementsWith(statements, action)[0]?.Condition).toEqual({
        ArnEquals: {
          'ecs:cluster': [{ 'Fn::GetAtt': [stack.getLogicalId(cluster.node.defaultChild as never), 'Arn'] }],
        },
      });
    }
  });

  it('gives the same look at AWS to the tick worker that sweeps the further shard groups (tickGroups > 1)', () => {
    const grouped = newStack({ bundle: false, name: 'Grouped' });
    const groupedScheduler = new Scheduler(grouped, 'Scheduler', exampleProps({ shards: 4, tickGroups: 2 }));
    const groupedMachine = new sfn.StateMachine(grouped, 'Machine', {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(grouped, 'Work')),
    });
    const targets = new AsyncTargets(grouped, 'AsyncTargets', {
      scheduler: groupedScheduler,
      stateMachines: [groupedMachine],
    });
    const roleOf = (fn: { role?: iam.IRole }) => ({
      Ref: grouped.getLogicalId(fn.role?.node.defaultChild as iam.CfnRole),
    });
    const policy =
      Template.fromStack(grouped).toJSON().Resources[
        grouped.getLogicalId(targets.tickPolicy.node.defaultChild as never)
      ];

    expect(groupedScheduler.tickWorkerFunction).toBeDefined();
    expect(policy.Properties.Roles).toEqual([
      roleOf(groupedScheduler.tickFunction),
      roleOf(groupedScheduler.tickWorkerFunction as { role?: iam.IRole }),
    ]);
  });

  it('gives the events function the table, the pool queues and DLQs, the bus: nothing of Step Functions or ECS', () => {
    const statements = statementsOfRole(template, roleId(asyncTargets.eventsFunction.role));
    const actions = statements.flatMap(actionsOf).sort();
    expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    expect(actions.some((a) => a.startsWith('states:') || a.startsWith('ecs:') || a === 'iam:PassRole')).toBe(
      false,
    );
    expect(statementsWith(statements, 'sqs:SendMessage')[0]?.Resource).toHaveLength(
      Object.keys(scheduler.pools).length * 2,
    );
  });

  it('runs the prebuilt aws-events bundle with the Scheduler table and pools in its environment', () => {
    const [, fn] =
      resources(template, 'AWS::Lambda::Function').find(
        ([id]) => id === stack.getLogicalId(asyncTargets.eventsFunction.node.defaultChild as never),
      ) ?? [];
    expect(fn).toBeDefined();
    const env = (fn!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(env).sort()).toEqual([
      'PUNCTUAL_EVENT_BUS',
      'PUNCTUAL_POOLS',
      'PUNCTUAL_RETENTION_DAYS',
      'PUNCTUAL_SHARDS',
      'PUNCTUAL_TABLE',
    ]);
  });
});

describe('AsyncTargets: ecsNetwork', () => {
  const ECS_JOB = {
    id: 'export',
    schedule: 'rate(1 day)',
    target: {
      type: 'ecs',
      cluster: 'jobs',
      taskDefinition: 'export:1',
      containerName: 'app',
      launchType: 'FARGATE',
      network: { subnets: ['subnet-0aaa1111'], securityGroups: ['sg-0aaa1111'] },
    },
  };

  function build(job: unknown, network?: { subnets: string[]; groups?: string[]; allowPublicIp?: boolean }) {
    const s = newStack({ bundle: false, name: 'Net' });
    const sch = new Scheduler(s, 'Scheduler', exampleProps({ jobs: [job as never] }));
    const v = new ec2.Vpc(s, 'Vpc', { maxAzs: 1, natGateways: 0 });
    const c = new ecs.Cluster(s, 'Cluster', { vpc: v });
    const t = new ecs.FargateTaskDefinition(s, 'Task');
    t.addContainer('app', {
      image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/busybox'),
    });
    const targets = new AsyncTargets(s, 'AsyncTargets', {
      scheduler: sch,
      ecsTasks: [{ cluster: c, taskDefinition: t }],
      ...(network
        ? {
            ecsNetwork: {
              subnets: network.subnets.map((id, i) => ec2.Subnet.fromSubnetId(s, `Subnet${i}`, id)),
              securityGroups: (network.groups ?? []).map((id, i) =>
                ec2.SecurityGroup.fromSecurityGroupId(s, `Group${i}`, id),
              ),
              ...(network.allowPublicIp ? { allowPublicIp: true } : {}),
            },
          }
        : {}),
    });
    return { s, sch, targets };
  }

  it('tells every executor the declared subnets and groups; without ecsNetwork, none', () => {
    for (const pool of Object.values(scheduler.pools)) {
      const fn = template.toJSON().Resources[stack.getLogicalId(pool.executor.node.defaultChild as never)];
      expect(JSON.parse(fn.Properties.Environment.Variables.PUNCTUAL_ECS_NETWORK)).toEqual({
        subnets: [],
        securityGroups: [],
        allowPublicIp: false,
      });
    }
    const { s, sch } = build(ECS_JOB, { subnets: ['subnet-0aaa1111'], groups: ['sg-0aaa1111'] });
    const t = Template.fromStack(s);
    const fn = t.toJSON().Resources[s.getLogicalId(sch.pools.default!.executor.node.defaultChild as never)];
    expect(JSON.parse(fn.Properties.Environment.Variables.PUNCTUAL_ECS_NETWORK)).toEqual({
      subnets: ['subnet-0aaa1111'],
      securityGroups: ['sg-0aaa1111'],
      allowPublicIp: false,
    });
    expect(nagFindings(s).filter((f) => f.includes('/AsyncTargets/') || f.includes('/Scheduler/'))).toEqual(
      [],
    );
  });

  it("puts the same declaration in the stack's EcsNetwork output the client checks puts against", () => {
    // prepare
    const bare = newStack({ bundle: false, name: 'Bare' });
    new Scheduler(bare, 'Scheduler', exampleProps());

    // act
    const { s } = build(ECS_JOB, {
      subnets: ['subnet-0aaa1111'],
      groups: ['sg-0aaa1111'],
      allowPublicIp: true,
    });
    const outputs = Template.fromStack(s).toJSON().Outputs as Record<string, { Value: unknown }>;
    const bareOutputs = Template.fromStack(bare).toJSON().Outputs as Record<string, { Value: unknown }>;

    // assert
    expect(JSON.parse(resourceText(outputs.EcsNetwork?.Value))).toEqual({
      subnets: ['subnet-0aaa1111'],
      securityGroups: ['sg-0aaa1111'],
      allowPublicIp: true,
    });
    // Without AsyncTargets the executors allow no network, and the output says so.
    expect(JSON.parse(resourceText(bareOutputs.EcsNetwork?.Value))).toEqual({
      subnets: [],
      securityGroups: [],
      allowPublicIp: false,
    });
  });

  it('fails synth for a declared job naming an undeclared subnet or group, or a public IP not allowed', () => {
    expect(() => build(ECS_JOB)).toThrow(
      /jobs\[0\] \(export\): target\.network\.subnets\[0\] "subnet-0aaa1111": is not a subnet the operator declared/,
    );
    expect(() => build(ECS_JOB, { subnets: ['subnet-0aaa1111'], groups: ['sg-0bbb2222'] })).toThrow(
      /target\.network\.securityGroups\[0\] "sg-0aaa1111": is not a security group the operator declared/,
    );
    const publicJob = {
      ...ECS_JOB,
      target: { ...ECS_JOB.target, network: { ...ECS_JOB.target.network, assignPublicIp: true } },
    };
    const declared = { subnets: ['subnet-0aaa1111'], groups: ['sg-0aaa1111'] };
    expect(() => build(publicJob, declared)).toThrow(/target\.network\.assignPublicIp true: is not allowed/);
    expect(() => build(publicJob, { ...declared, allowPublicIp: true })).not.toThrow();
  });
});

describe('AsyncTargets: cdk-nag', () => {
  it('adds no unacknowledged finding', () => {
    const ours = nagFindings(stack).filter(
      (finding) => finding.includes('/AsyncTargets/') || finding.includes('/Scheduler/'),
    );
    expect(ours).toEqual([]);
  });

  it("adds none with a customer-managed table key either, nor on a grantManageJobs grantee's role", () => {
    const keyed = newStack({ bundle: false, name: 'Keyed' });
    const key = new kms.Key(keyed, 'TableKey', { enableKeyRotation: true });
    const keyedScheduler = new Scheduler(keyed, 'Scheduler', exampleProps({ tableEncryptionKey: key }));
    const keyedMachine = new sfn.StateMachine(keyed, 'Machine', {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(keyed, 'Work')),
    });
    new AsyncTargets(keyed, 'AsyncTargets', { scheduler: keyedScheduler, stateMachines: [keyedMachine] });
    const app = new iamLib.Role(keyed, 'App', {
      assumedBy: new iamLib.ServicePrincipal('lambda.amazonaws.com'),
    });
    keyedScheduler.grantManageJobs(app);
    const reader = new iamLib.Role(keyed, 'Reader', {
      assumedBy: new iamLib.ServicePrincipal('lambda.amazonaws.com'),
    });
    keyedScheduler.grantReadRuns(reader);

    const findings = nagFindings(keyed).filter((finding) => !finding.includes('/Machine/'));
    expect(findings).toEqual([]);
  });
});
