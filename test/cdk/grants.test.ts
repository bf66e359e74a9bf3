/**
 * `grantReadRuns` and `grantManageJobs`: what an application's role may do with `PunctualClient`, and
 * nothing more. Table-level actions on the table's own ARN (the client reads no index), SendMessage on
 * the pools' queues only when it manages jobs, never a DLQ, no wildcard, and cdk-nag still clean.
 */
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import { Scheduler } from '../../cdk/scheduler.js';
import {
  actionsOf,
  exampleProps,
  nagFindings,
  newStack,
  resourceText,
  type Statement,
  statementsOfRole,
} from './fixtures.js';

let stack: Stack;
let template: Template;

function logicalId(role: iam.Role): string {
  return stack.getLogicalId(role.node.defaultChild as iam.CfnRole);
}

let manager: iam.Role;
let reader: iam.Role;

beforeAll(() => {
  stack = newStack({ bundle: false, name: 'App' });
  const scheduler = new Scheduler(stack, 'Scheduler', exampleProps());
  manager = new iam.Role(stack, 'Manager', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  scheduler.grantManageJobs(manager);
  scheduler.grantReadRuns(reader);
  template = Template.fromStack(stack);
});

function byService(statements: Statement[]): Record<string, { actions: string[]; resources: string[] }> {
  const out: Record<string, { actions: string[]; resources: string[] }> = {};
  for (const statement of statements) {
    for (const action of actionsOf(statement)) {
      const service = action.split(':')[0] ?? '';
      out[service] ??= { actions: [], resources: [] };
      const entry = out[service];
      entry.actions.push(action);
      const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
      for (const resource of resources) {
        const text = resourceText(resource);
        if (!entry.resources.includes(text)) entry.resources.push(text);
      }
    }
  }
  for (const entry of Object.values(out)) entry.actions.sort();
  return out;
}

/** The logical ids a statement's resources reference (Fn::GetAtt / Ref). */
function referenced(statements: Statement[], action: string): string[] {
  return statements
    .filter((statement) => actionsOf(statement).includes(action))
    .flatMap((statement) => (Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]))
    .map((resource) => JSON.stringify(resource))
    .sort();
}

describe('grantManageJobs', () => {
  it('allows the table actions the client writes and reads with, on the table itself only', () => {
    const services = byService(statementsOfRole(template, logicalId(manager)));

    expect(services.dynamodb?.actions).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:UpdateItem',
    ]);
    expect(services.dynamodb?.resources).toEqual(['<ref>']);
    expect(referenced(statementsOfRole(template, logicalId(manager)), 'dynamodb:PutItem')).toEqual([
      expect.stringMatching(/"Fn::GetAtt":\["SchedulerTable[0-9A-F]+","Arn"\]/),
    ]);
  });

  it("allows SendMessage on each pool's queue and on no DLQ", () => {
    const statements = statementsOfRole(template, logicalId(manager));
    const queues = referenced(statements, 'sqs:SendMessage');

    expect(byService(statements).sqs?.actions).toEqual(['sqs:SendMessage']);
    expect(queues).toHaveLength(2);
    expect(queues.join(' ')).toMatch(/SchedulerPooldefaultQueue/);
    expect(queues.join(' ')).toMatch(/SchedulerPoolbatchQueue/);
    expect(queues.join(' ')).not.toMatch(/Dlq/i);
  });

  it('allows DescribeStacks on this stack only, for a client made with { stackName }', () => {
    const statements = statementsOfRole(template, logicalId(manager));

    expect(byService(statements).cloudformation?.actions).toEqual(['cloudformation:DescribeStacks']);
    expect(referenced(statements, 'cloudformation:DescribeStacks')).toEqual(['{"Ref":"AWS::StackId"}']);
  });
});

describe('grantReadRuns', () => {
  it('allows GetItem, Query and Scan on the table and sends nothing', () => {
    const services = byService(statementsOfRole(template, logicalId(reader)));

    expect(Object.keys(services).sort()).toEqual(['cloudformation', 'dynamodb']);
    expect(services.dynamodb?.actions).toEqual(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan']);
  });
});

describe('grants and cdk-nag', () => {
  it('leave no wildcard resource and no cdk-nag finding', () => {
    const statements = [
      ...statementsOfRole(template, logicalId(manager)),
      ...statementsOfRole(template, logicalId(reader)),
    ];

    expect(statements.map((statement) => JSON.stringify(statement.Resource)).join(' ')).not.toContain('*');
    expect(nagFindings(stack)).toEqual([]);
  });

  it('with a customer-managed table key: decrypt to read, encrypt and decrypt to manage', () => {
    const keyed = newStack({ bundle: false, name: 'Keyed' });
    const key = new kms.Key(keyed, 'TableKey', { enableKeyRotation: true });
    const scheduler = new Scheduler(keyed, 'Scheduler', exampleProps({ tableEncryptionKey: key }));
    const writer = new iam.Role(keyed, 'Writer', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    const viewer = new iam.Role(keyed, 'Viewer', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    scheduler.grantManageJobs(writer);
    scheduler.grantReadRuns(viewer);
    const keyedTemplate = Template.fromStack(keyed);
    const kmsActions = (role: iam.Role) =>
      byService(statementsOfRole(keyedTemplate, keyed.getLogicalId(role.node.defaultChild as iam.CfnRole)))
        .kms?.actions ?? [];

    expect(kmsActions(viewer)).toEqual(['kms:Decrypt']);
    expect(kmsActions(writer)).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:Encrypt']));
  });
});
