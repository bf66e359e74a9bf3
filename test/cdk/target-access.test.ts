/**
 * The construct's `applications` (per-application targetAccess, docs/security.md "Least privilege per
 * application"): the executors' role holds the union of every application's and the stack's targetAccess,
 * each executor learns which application may reach what (PUNCTUAL_TARGET_ACCESS), the client does from
 * the TargetAccess output, and overlapping prefixes fail synth. cdk-nag stays clean.
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { Scheduler, type SchedulerProps } from '../../cdk/scheduler.js';
import { ENV } from '../../functions/commons/config.js';
import { parseTargetAccessPolicy } from '../../shared/targets/access.js';
import {
  actionsOf,
  exampleProps,
  nagFindings,
  newStack,
  type Resource,
  resourceText,
  statementsOfRole,
} from './fixtures.js';

const FN = 'arn:aws:lambda:eu-west-1:123456789012:function';

function build(props: Partial<SchedulerProps>) {
  const stack = newStack({ bundle: false, name: 'Access' });
  const payroll = sqs.Queue.fromQueueArn(stack, 'Payroll', 'arn:aws:sqs:eu-west-1:123456789012:payroll');
  const scheduler = new Scheduler(
    stack,
    'Scheduler',
    exampleProps({
      targetAccess: { functions: [`${FN}:ops`] },
      applications: [
        { jobIdPrefix: 'billing-', targetAccess: { functions: [`${FN}:bill`] } },
        { jobIdPrefix: 'reports-', targetAccess: { functions: [`${FN}:payroll`], queues: [payroll] } },
      ],
      ...props,
    }),
  );
  return { stack, scheduler };
}

describe('applications: per-application targetAccess', () => {
  it("give the executors' role the union, and each executor which application may reach what", () => {
    // prepare
    const { stack, scheduler } = build({});

    // act
    const template = Template.fromStack(stack);

    // assert
    const json = template.toJSON() as { Resources: Record<string, Resource> };
    for (const pool of Object.values(scheduler.pools)) {
      const id = stack.getLogicalId(pool.executor.node.defaultChild as never);
      const variables = (
        (json.Resources[id] as Resource).Properties.Environment as { Variables: Record<string, unknown> }
      ).Variables;
      const policy = parseTargetAccessPolicy(resourceText(variables[ENV.targetAccess]), ENV.targetAccess);
      expect(policy).toEqual({
        shared: { functions: [`${FN}:ops`], queues: [], buses: [] },
        applications: [
          { jobIdPrefix: 'billing-', access: { functions: [`${FN}:bill`], queues: [], buses: [] } },
          {
            jobIdPrefix: 'reports-',
            access: {
              functions: [`${FN}:payroll`],
              queues: ['arn:aws:sqs:eu-west-1:123456789012:payroll'],
              buses: [],
            },
          },
        ],
      });
      const roleId = stack.getLogicalId(pool.executor.role?.node.defaultChild as never);
      const statements = statementsOfRole(template, roleId);
      const invokes = statements.filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
      expect(invokes.flatMap((s) => s.Resource as string[]).sort()).toEqual([
        `${FN}:bill`,
        `${FN}:ops`,
        `${FN}:payroll`,
      ]);
      const sends = statements.filter((s) => actionsOf(s).includes('sqs:SendMessage'));
      expect(JSON.stringify(sends.map((s) => s.Resource))).toContain(
        'arn:aws:sqs:eu-west-1:123456789012:payroll',
      );
    }
    expect(nagFindings(stack)).toEqual([]);
  });

  it('tell the client the same in the TargetAccess output', () => {
    // act
    const { stack } = build({});
    const outputs = Template.fromStack(stack).toJSON().Outputs as Record<string, { Value: unknown }>;

    // assert
    const policy = parseTargetAccessPolicy(resourceText(outputs.TargetAccess?.Value), 'TargetAccess');
    expect(policy?.applications.map((app) => app.jobIdPrefix)).toEqual(['billing-', 'reports-']);
    expect(policy?.shared.functions).toEqual([`${FN}:ops`]);
  });

  it('are absent without applications: no variable, no output (IAM alone decides, as before)', () => {
    // act
    const { stack } = build({ applications: [] });
    const json = Template.fromStack(stack).toJSON() as {
      Resources: Record<string, Resource>;
      Outputs: Record<string, unknown>;
    };

    // assert
    expect(JSON.stringify(json.Resources)).not.toContain(ENV.targetAccess);
    expect(json.Outputs.TargetAccess).toBeUndefined();
  });

  it('refuse overlapping or malformed prefixes at synth, naming each', () => {
    // act + assert
    expect(() =>
      build({
        applications: [
          { jobIdPrefix: 'billing-', targetAccess: {} },
          { jobIdPrefix: 'billing-eu-', targetAccess: {} },
        ],
      }),
    ).toThrow(
      /Scheduler "Scheduler" props: applications\[0\]\.jobIdPrefix "billing-": overlaps applications\[1\]\.jobIdPrefix "billing-eu-"/,
    );
    expect(() => build({ applications: [{ jobIdPrefix: 'Billing*', targetAccess: {} }] })).toThrow(
      /applications\[0\]\.jobIdPrefix "Billing\*": must be the start of a job id/,
    );
  });
});
