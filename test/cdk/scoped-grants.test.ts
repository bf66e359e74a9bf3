/**
 * Least privilege per application (issue 18): `grantManageJobs(fn, { jobIdPrefix })` and
 * `grantReadRuns(fn, { jobIdPrefix })` reach the items of that application's jobs alone. The proof is the
 * IAM simulator (test/support/iam.ts, @cloud-copilot/iam-simulate) over the synthesized policy, with the
 * `dynamodb:LeadingKeys` a request to DynamoDB carries: the partition keys of the job, run and definition
 * items (`JOB#<id>`, data-model.md) it touches.
 */
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { Scheduler } from '../../cdk/scheduler.js';
import { ACCOUNT, evaluate, policiesOfRole, REGION } from '../support/iam.js';
import { exampleProps, nagFindings, newStack } from './fixtures.js';

let stack: Stack;
let template: ReturnType<Template['toJSON']>;
let tableArn: string;
let billing: iam.Role;
let reports: iam.Role;

beforeAll(() => {
  stack = newStack({ bundle: false, name: 'Scoped' });
  const scheduler = new Scheduler(stack, 'Scheduler', exampleProps());
  billing = new iam.Role(stack, 'Billing', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  reports = new iam.Role(stack, 'Reports', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  scheduler.grantManageJobs(billing, { jobIdPrefix: 'billing-' });
  scheduler.grantReadRuns(reports, { jobIdPrefix: 'reports-' });
  template = Template.fromStack(stack).toJSON();
  tableArn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${stack.getLogicalId(scheduler.table.node.defaultChild as never)}`;
});

function may(role: iam.Role, action: string, leadingKeys?: string[]): Promise<string> {
  const roleId = stack.getLogicalId(role.node.defaultChild as never);
  return evaluate(`arn:aws:iam::${ACCOUNT}:role/${roleId}`, policiesOfRole(template as never, roleId), {
    action,
    resource: tableArn,
    ...(leadingKeys ? { context: { 'dynamodb:LeadingKeys': leadingKeys } } : {}),
  });
}

describe('grantManageJobs with jobIdPrefix', () => {
  it("reaches its own jobs' job, run and definition items (pk JOB#billing-…)", async () => {
    for (const action of [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
    ]) {
      expect(await may(billing, action, ['JOB#billing-invoice-42']), action).toBe('Allowed');
    }
    expect(await may(billing, 'dynamodb:BatchGetItem', ['JOB#billing-a', 'JOB#billing-b'])).toBe('Allowed');
  });

  it("cannot rewrite, delete, read or forge a run of another application's job", async () => {
    for (const action of [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
    ]) {
      expect(await may(billing, action, ['JOB#reports-nightly']), action).toBe('ImplicitlyDenied');
    }
    // A batch naming one foreign key among its own is refused whole.
    expect(await may(billing, 'dynamodb:BatchGetItem', ['JOB#billing-a', 'JOB#reports-b'])).toBe(
      'ImplicitlyDenied',
    );
    // `JOB#billing` without the dash is another application's (billingx-, billing2-…), not this one's.
    expect(await may(billing, 'dynamodb:PutItem', ['JOB#billingx-1'])).toBe('ImplicitlyDenied');
  });

  it('has no Scan: a request naming no partition key is refused', async () => {
    expect(await may(billing, 'dynamodb:Scan')).toBe('ImplicitlyDenied');
    expect(await may(billing, 'dynamodb:GetItem')).toBe('ImplicitlyDenied');
  });

  it('may write tag index entries (pk TAG#…, not scopable by job: docs/security.md)', async () => {
    expect(await may(billing, 'dynamodb:PutItem', ['TAG#team=billing'])).toBe('Allowed');
  });
});

describe('grantReadRuns with jobIdPrefix', () => {
  it("reads its own jobs' items and nothing else, and writes nothing", async () => {
    expect(await may(reports, 'dynamodb:GetItem', ['JOB#reports-nightly'])).toBe('Allowed');
    expect(await may(reports, 'dynamodb:Query', ['JOB#reports-nightly'])).toBe('Allowed');
    expect(await may(reports, 'dynamodb:GetItem', ['JOB#billing-invoice-42'])).toBe('ImplicitlyDenied');
    expect(await may(reports, 'dynamodb:Scan')).toBe('ImplicitlyDenied');
    expect(await may(reports, 'dynamodb:PutItem', ['JOB#reports-nightly'])).toBe('ImplicitlyDenied');
  });
});

describe('scoped grants', () => {
  it('refuse a prefix that is not the start of a job id (a wildcard would widen the grant)', () => {
    const s = newStack({ bundle: false, name: 'BadPrefix' });
    const scheduler = new Scheduler(s, 'Scheduler', exampleProps());
    const role = new iam.Role(s, 'App', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });

    expect(() => scheduler.grantManageJobs(role, { jobIdPrefix: 'billing-*' })).toThrow(
      /jobIdPrefix "billing-\*": must be the start of a job id/,
    );
    expect(() => scheduler.grantReadRuns(role, { jobIdPrefix: '' })).toThrow(/jobIdPrefix "": must be/);
  });

  it('leave cdk-nag clean', () => {
    expect(nagFindings(stack).filter((f) => f.includes('/Billing/') || f.includes('/Reports/'))).toEqual([]);
  });
});
