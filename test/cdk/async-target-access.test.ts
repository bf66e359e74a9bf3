/**
 * AsyncTargets' `applications`: per-application state machines and ECS tasks (issue 18). The executors'
 * role holds the union; each executor (PUNCTUAL_TARGET_ACCESS) and the client (the TargetAccess output)
 * learn which application may start what; declared stepfunctions and ecs jobs are checked at synth.
 */
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { AsyncTargets, type AsyncTargetsProps } from '../../cdk/async-targets.js';
import { Scheduler } from '../../cdk/scheduler.js';
import { ENV } from '../../functions/commons/config.js';
import { parseTargetAccessPolicy } from '../../shared/targets/access.js';
import {
  actionsOf,
  exampleProps,
  nagFindings,
  newStack,
  type Resource,
  statementsOfRole,
} from './fixtures.js';

const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine';

/** CloudFormation text with each reference kept apart (`<Ref:Id>`, `<Id.Arn>`), so entries stay tellable. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(text).join(',');
  const v = value as Record<string, unknown>;
  if (v['Fn::Join']) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(text).join(sep);
  }
  if (v.Ref) return `<Ref:${String(v.Ref)}>`;
  if (v['Fn::GetAtt']) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  return JSON.stringify(value);
}

function build(options: { jobs?: unknown[]; async?: Partial<AsyncTargetsProps> } = {}) {
  const stack: Stack = newStack({ bundle: false, name: 'AsyncAccess' });
  const scheduler = new Scheduler(
    stack,
    'Scheduler',
    exampleProps({
      applications: [
        { jobIdPrefix: 'billing-', targetAccess: {} },
        { jobIdPrefix: 'reports-', targetAccess: {} },
      ],
      ...(options.jobs ? { jobs: options.jobs } : {}),
    }),
  );
  const machine = (id: string, name: string) =>
    new sfn.StateMachine(stack, id, {
      stateMachineName: name,
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, `${id}Work`)),
    });
  const ops = machine('Ops', 'ops-flow');
  const bill = machine('Bill', 'bill-flow');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0 });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, clusterName: 'jobs' });
  const exportTask = new ecs.FargateTaskDefinition(stack, 'Export', { family: 'export' });
  exportTask.addContainer('app', {
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/busybox'),
  });
  new AsyncTargets(stack, 'AsyncTargets', {
    scheduler,
    stateMachines: [ops],
    applications: [
      { jobIdPrefix: 'billing-', stateMachines: [bill] },
      { jobIdPrefix: 'reports-', ecsTasks: [{ cluster, taskDefinition: exportTask }] },
    ],
    ...options.async,
  });
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as never);
  return {
    stack,
    scheduler,
    ids: { ops: id(ops), bill: id(bill), cluster: id(cluster), task: id(exportTask) },
  };
}

const flow = (id: string, name: string) => ({
  id,
  schedule: 'rate(1 day)',
  target: { type: 'stepfunctions', stateMachineArn: `${ARN}:${name}` },
});
const exportJob = (id: string) => ({
  id,
  schedule: 'rate(1 day)',
  target: { type: 'ecs', cluster: 'jobs', taskDefinition: 'export:3', containerName: 'app' },
});

describe("AsyncTargets' applications: per-application state machines and tasks", () => {
  it('refuses a second AsyncTargets on a Scheduler with applications: it would replace the first lists', () => {
    // prepare
    const { stack, scheduler } = build();

    // act + assert
    const more = new sfn.StateMachine(stack, 'More', {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'MoreWork')),
    });
    expect(() => new AsyncTargets(stack, 'MoreTargets', { scheduler, stateMachines: [more] })).toThrow(
      /AsyncTargets "MoreTargets": the Scheduler declares applications and another AsyncTargets already gave/,
    );
  });

  it('tell each executor and the client which application may start what; the role holds the union', () => {
    // prepare
    const { stack, scheduler, ids } = build();

    // act
    const template = Template.fromStack(stack);

    // assert
    const json = template.toJSON() as {
      Resources: Record<string, Resource>;
      Outputs: Record<string, { Value: unknown }>;
    };
    const expected = {
      shared: { functions: [], queues: [], buses: [], stateMachines: [`<Ref:${ids.ops}>`], ecsTasks: [] },
      applications: [
        {
          jobIdPrefix: 'billing-',
          access: {
            functions: [],
            queues: [],
            buses: [],
            stateMachines: [`<Ref:${ids.bill}>`],
            ecsTasks: [],
          },
        },
        {
          jobIdPrefix: 'reports-',
          access: {
            functions: [],
            queues: [],
            buses: [],
            stateMachines: [],
            ecsTasks: [{ cluster: `<${ids.cluster}.Arn>`, taskDefinition: `<Ref:${ids.task}>` }],
          },
        },
      ],
    };
    for (const pool of Object.values(scheduler.pools)) {
      const fn = json.Resources[stack.getLogicalId(pool.executor.node.defaultChild as never)] as Resource;
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(parseTargetAccessPolicy(text(variables[ENV.targetAccess]), ENV.targetAccess)).toEqual(expected);
      const statements = statementsOfRole(
        template,
        stack.getLogicalId(pool.executor.role?.node.defaultChild as never),
      );
      const starts = statements.filter((s) => actionsOf(s).includes('states:StartExecution'));
      expect(starts.flatMap((s) => [s.Resource].flat().map(text)).sort()).toEqual(
        [`<Ref:${ids.bill}>`, `<Ref:${ids.ops}>`].sort(),
      );
      expect(statements.some((s) => actionsOf(s).includes('ecs:RunTask'))).toBe(true);
    }
    expect(parseTargetAccessPolicy(text(json.Outputs.TargetAccess?.Value), 'TargetAccess')).toEqual(expected);
    // The fixtures' own state machines, VPC and task are not punctual's: only its constructs must be clean.
    expect(
      nagFindings(stack).filter((f) => f.includes('/AsyncTargets/') || f.includes('/Scheduler/')),
    ).toEqual([]);
  });

  it("fail synth for a declared job starting another application's state machine or task, and pass its own", () => {
    // act + assert
    expect(() =>
      build({ jobs: [flow('billing-flow', 'bill-flow'), exportJob('reports-export')] }),
    ).not.toThrow();
    expect(() => build({ jobs: [flow('reports-flow', 'bill-flow')] })).toThrow(
      /AsyncTargets "AsyncTargets": declared jobs reach beyond their target access:\n {2}jobs\[0\] \(reports-flow\): target\.stateMachineArn "arn:aws:states:eu-west-1:123456789012:stateMachine:bill-flow": job "reports-flow" is application "reports-"'s \(jobIdPrefix\), whose targetAccess\.stateMachines does not list it \(it allows: none\); the operator grants it in the AsyncTargets' applications\[\]\.stateMachines/,
    );
    expect(() => build({ jobs: [exportJob('billing-export')] })).toThrow(
      /jobs\[0\] \(billing-export\): target\.taskDefinition "export:3 on jobs": .*ecsTasks does not list it/,
    );
    // A job of no application: the top-level lists only.
    expect(() => build({ jobs: [flow('nightly', 'ops-flow')] })).not.toThrow();
    expect(() => build({ jobs: [flow('nightly', 'bill-flow')] })).toThrow(
      /jobs\[0\] \(nightly\): .*so the stack's targetAccess\.stateMachines does not list it \(it allows: ops-flow\)/,
    );
  });

  it('refuse an application the Scheduler does not declare', () => {
    expect(() => build({ async: { applications: [{ jobIdPrefix: 'payroll-' }] } })).toThrow(
      /AsyncTargets "AsyncTargets" props: applications\[0\]\.jobIdPrefix "payroll-": is not one of the Scheduler's applications \("billing-", "reports-"\)/,
    );
  });
});
