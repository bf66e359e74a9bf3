/**
 * Shared by the CDK tests: an App with the feature flags of cdk.json (so the tests see the template
 * `cdk synth` produces), the example's props, and the cdk-nag check.
 */
import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { PROJECT_ROOT } from '../../cdk/functions.js';
import type { SchedulerProps } from '../../cdk/scheduler.js';

const cdkJson = JSON.parse(readFileSync(`${PROJECT_ROOT}/cdk.json`, 'utf8')) as {
  context: Record<string, unknown>;
};

/**
 * A stack in an App with cdk.json's context. `bundle: false` skips esbuild (NodejsFunction then stages a
 * placeholder asset), for tests about anything but the bundles.
 */
export function newStack(options: { bundle?: boolean; name?: string } = {}): Stack {
  const app = new App({
    context: { ...cdkJson.context, ...(options.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {}) },
  });
  return new Stack(app, options.name ?? 'Test');
}

export const HEARTBEAT_JOB = {
  id: 'heartbeat',
  schedule: 'rate(5 minutes)',
  target: { type: 'handler', name: 'log', timeout: '10s' },
  gapAlarm: { factor: 3 },
};
export const NIGHTLY_JOB = {
  id: 'nightly-batch',
  schedule: 'cron(30 2 * * ? *)',
  timezone: 'Europe/Berlin',
  pool: 'batch',
  target: { type: 'handler', name: 'sleep', timeout: '5m' },
  payload: { ms: 1000 },
};

/** Two pools, two declared jobs (one with a gap alarm), an e-mail subscription. */
export function exampleProps(overrides: Partial<SchedulerProps> = {}): SchedulerProps {
  return {
    pools: {
      default: { concurrency: 4, timeout: '1m' },
      batch: { concurrency: 2, timeout: '10m', memorySize: 1024 },
    },
    jobs: [HEARTBEAT_JOB, NIGHTLY_JOB],
    alarmEmails: ['oncall@example.com'],
    ...overrides,
  };
}

/** Every unacknowledged cdk-nag finding (AwsSolutions + Serverless, errors and warnings), as `rule path`. */
export function nagFindings(scope: IConstruct): string[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack
      .validateScope(scope)
      .violations.flatMap((violation) =>
        violation.violatingResources.map(
          (resource) => `${violation.ruleName} (${violation.severity}) ${resource.constructPath}`,
        ),
      ),
  );
}

/** Errors and warnings CDK itself attached to the stack's constructs. */
export function annotationMessages(stack: Stack): string[] {
  const annotations = Annotations.fromStack(stack);
  return [
    ...annotations.findError('*', Match.anyValue()),
    ...annotations.findWarning('*', Match.anyValue()),
  ].map((message) => `${message.id}: ${JSON.stringify(message.entry.data)}`);
}

export type Resource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };

export function resources(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type)) as [string, Resource][];
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** The statements of every AWS::IAM::Policy attached to the role with logical id `roleId`. */
export function statementsOfRole(template: Template, roleId: string): Statement[] {
  return resources(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** The literal text of a resource (Fn::Join parts concatenated, references as `<ref>`). */
export function resourceText(resource: unknown): string {
  if (typeof resource === 'string') return resource;
  if (Array.isArray(resource)) return resource.map(resourceText).join(',');
  if (resource && typeof resource === 'object') {
    const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    if (join) return join[1].map(resourceText).join(join[0]);
    return '<ref>';
  }
  return String(resource);
}
