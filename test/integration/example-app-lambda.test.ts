/**
 * examples/app-lambda, as deployed: the stack passes the function the table and queues and grants it
 * `grantManageJobs`; the handler, given that environment (the AWS SDK pointed at the local emulators
 * through AWS_ENDPOINT_URL_DYNAMODB / _SQS), creates one at() job per user action, idempotently.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrialRemindersStack } from '../../examples/app-lambda/stack.js';
import type { LocalRuntime } from '../../local/runtime.js';
import { actionsOf, resources, statementsOfRole } from '../cdk/fixtures.js';
import { testRuntime } from '../support/runtime.js';

describe('examples/app-lambda: the stack', () => {
  // Bundling off: the test is about the template, not the bundle.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new TrialRemindersStack(app, 'TrialReminders');
  const template = Template.fromStack(stack);

  it("passes the function the scheduler's table, queues and shards", () => {
    const fn = resources(template, 'AWS::Lambda::Function').find(([id]) =>
      id.startsWith('TrialStarted'),
    )?.[1];
    const environment = fn?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined;
    const variables = environment?.Variables;

    if (!variables) throw new Error('the TrialStarted function has no environment');
    expect(JSON.stringify(variables.PUNCTUAL_TABLE_NAME)).toMatch(/SchedulerTable/);
    expect(JSON.stringify(variables.PUNCTUAL_QUEUES)).toMatch(/SchedulerPooldefaultQueue/);
    expect(variables.PUNCTUAL_SHARDS).toBe('4');
    expect(JSON.stringify(variables.REMINDER_FUNCTION)).toMatch(/SendReminder/);
  });

  it('grants the function what grantManageJobs allows', () => {
    const role = stack.getLogicalId(stack.signup.role?.node.defaultChild as never);
    const actions = statementsOfRole(template, role).flatMap(actionsOf);

    expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:Scan', 'sqs:SendMessage']));
  });
});

describe('examples/app-lambda: the handler', () => {
  let runtime: LocalRuntime;
  const saved = { ...process.env };

  beforeAll(async () => {
    runtime = await testRuntime();
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: runtime.state.dynamoEndpoint,
      AWS_ENDPOINT_URL_SQS: runtime.state.sqsEndpoint,
      PUNCTUAL_TABLE_NAME: runtime.state.tableName,
      PUNCTUAL_QUEUES: JSON.stringify(Object.fromEntries(runtime.pools.map((p) => [p.name, p.queueUrl]))),
      PUNCTUAL_SHARDS: '4',
      REMINDER_FUNCTION: 'send-reminder',
    });
  });

  afterAll(async () => {
    process.env = saved;
    await runtime.stop();
  });

  it('creates one at() job per user action, and the same one again when the action is retried', async () => {
    const { handler } = await import('../../examples/app-lambda/handler.js');
    const before = Date.now();

    const first = await handler({ userId: 'U-42', trialDays: 14 });
    const retried = await handler({ userId: 'U-42', trialDays: 14 });
    const job = await runtime.store.getJob('trial-end-u-42');

    expect(first.jobId).toBe('trial-end-u-42');
    expect(retried.jobId).toBe(first.jobId);
    expect(Date.parse(first.remindAt) - before).toBeGreaterThanOrEqual(14 * 86_400_000 - 1000);
    expect(job?.definition.schedule).toMatch(/^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$/);
    expect(job?.definition.target).toMatchObject({ type: 'lambda', functionName: 'send-reminder' });
    expect(job?.definition.payload).toEqual({ userId: 'U-42', kind: 'trial-ending' });
    expect(job?.nextRunAt).toBe(retried.remindAt);
  });
});
