/**
 * The construct's `applications` (per-application targetAccess, docs/security.md "Least privilege per
 * application"): the executors' role holds the union of every application's and the stack's targetAccess,
 * each executor learns which application may reach what (PUNCTUAL_TARGET_ACCESS), the client does from
 * the TargetAccess output, and overlapping prefixes fail synth. cdk-nag stays clean.
 */
import { Fn } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
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

  describe('check the declared jobs at synth against their application', () => {
    const job = (id: string, target: Record<string, unknown>) => ({ id, schedule: 'rate(1 hour)', target });

    it("refuse a job reaching another application's function, or a job of no application reaching an application's", () => {
      // act + assert
      expect(() =>
        build({ jobs: [job('billing-run', { type: 'lambda', functionName: `${FN}:payroll` })] }),
      ).toThrow(
        /Scheduler "Scheduler" props: declared jobs reach beyond their target access:\n {2}jobs\[0\] \(billing-run\): target\.functionName "arn:aws:lambda:eu-west-1:123456789012:function:payroll": job "billing-run" is application "billing-"'s \(jobIdPrefix\), whose targetAccess\.functions does not list it \(it allows: arn:aws:lambda:eu-west-1:123456789012:function:bill\)/,
      );
      expect(() => build({ jobs: [job('nightly', { type: 'lambda', functionName: 'bill' })] })).toThrow(
        /jobs\[0\] \(nightly\): target\.functionName "bill": job "nightly" starts with no application's jobIdPrefix \("billing-", "reports-"\), so the stack's targetAccess\.functions does not list it/,
      );
      expect(() =>
        build({
          jobs: [
            job('billing-q', {
              type: 'sqs',
              queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/payroll',
            }),
          ],
        }),
      ).toThrow(
        /jobs\[0\] \(billing-q\): target\.queueUrl .*targetAccess\.queues does not list it \(it allows: none\)/,
      );
    });

    it('pass the jobs their own list allows, by ARN or by name', () => {
      // act
      const { stack } = build({
        jobs: [
          job('billing-run', { type: 'lambda', functionName: 'bill' }),
          job('reports-q', {
            type: 'sqs',
            queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/payroll',
          }),
          job('nightly', { type: 'lambda', functionName: `${FN}:ops` }),
        ],
      });

      // assert
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    });

    it("check a resource of this app by its physical name, and warn where synth cannot know the resource's name", () => {
      // prepare
      const stack = newStack({ bundle: false, name: 'Tokens' });
      const named = new lambda.Function(stack, 'Named', {
        functionName: 'bill-named',
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {}'),
      });
      const imported = lambda.Function.fromFunctionArn(
        stack,
        'Imported',
        Fn.importValue('ReportsFunctionArn'),
      );
      const bus = new events.EventBus(stack, 'Bus', { eventBusName: 'billing-bus' });
      const scheduler = (jobs: unknown[]) =>
        new Scheduler(
          stack,
          `Scheduler${jobs.length}`,
          exampleProps({
            outputs: false,
            applications: [
              { jobIdPrefix: 'billing-', targetAccess: { functions: [named], buses: [bus] } },
              { jobIdPrefix: 'reports-', targetAccess: { functions: [imported] } },
            ],
            jobs,
          }),
        );

      // act + assert: the ARN is a token, the name is known
      scheduler([
        job('billing-run', { type: 'lambda', functionName: 'bill-named' }),
        job('billing-event', { type: 'eventbridge', eventBusName: 'billing-bus', detailType: 'x' }),
      ]);
      expect(() => scheduler([job('billing-x', { type: 'lambda', functionName: 'other' })])).toThrow(
        /jobs\[0\] \(billing-x\): target\.functionName "other": .*it allows: bill-named/,
      );
      // Neither its ARN nor its name is known at synth: left to the executor, with a warning that says so.
      scheduler([
        job('reports-a', { type: 'lambda', functionName: 'reports' }),
        job('reports-b', { type: 'lambda', functionName: 'reports' }),
        job('reports-c', { type: 'lambda', functionName: 'reports' }),
      ]);
      const warnings = Annotations.fromStack(stack).findWarning('*', Match.anyValue());
      expect(warnings.map((w) => String(w.entry.data))).toEqual(
        ['a', 'b', 'c'].map((x, i) =>
          expect.stringMatching(
            new RegExp(
              `^jobs\\[${i}\\] \\(reports-${x}\\): target\\.functionName "reports": .*; not decided at synth: applications\\[1\\]\\.targetAccess\\.functions\\[0\\] \\(Tokens/Imported\\) is known at deploy only, so the executor checks this job at its first run`,
            ),
          ),
        ),
      );
    });
  });
});
