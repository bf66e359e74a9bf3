import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { resolveTarget, stateFilePath, UsageError } from '../../../cli/context.js';
import { JobValidationError, PunctualError } from '../../../shared/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'punctual-context-'));
});

async function writeState(pid: number) {
  await mkdir(join(dir, '.punctual'), { recursive: true });
  const state = {
    pid,
    dynamoEndpoint: 'http://127.0.0.1:1',
    sqsEndpoint: 'http://127.0.0.1:2',
    region: 'us-east-1',
    tableName: 'punctual',
    shards: 4,
    pools: {},
  };
  await writeFile(stateFilePath(dir), JSON.stringify(state));
}

describe('target resolution', () => {
  it('says what it tried when there is neither a stack nor a local runtime', async () => {
    const attempt = resolveTarget({}, {}, dir);

    await expect(attempt).rejects.toThrow(PunctualError);
    await expect(resolveTarget({}, {}, dir)).rejects.toThrow(
      /--stack NAME: not given[\s\S]*PUNCTUAL_STACK: not set[\s\S]*\.punctual\/local\.json: does not exist/,
    );
  });

  it('finds the local runtime through the state file in the current directory', async () => {
    await writeState(process.pid);

    const target = await resolveTarget({}, {}, dir);

    expect(target.kind).toBe('local');
    expect(target.tableName).toBe('punctual');
    target.close();
  });

  it('refuses a state file left by a runtime that is no longer running', async () => {
    await writeState(2 ** 22 + 12345);

    await expect(resolveTarget({ local: true }, {}, dir)).rejects.toThrow(
      /pid 4206649, which is not running/,
    );
  });

  it('names the missing state file for --local DIR', async () => {
    await expect(resolveTarget({ local: 'elsewhere' }, {}, dir)).rejects.toThrow(
      `${join(dir, 'elsewhere', '.punctual', 'local.json')} does not exist`,
    );
  });

  it('refuses --local together with --stack as a usage error', async () => {
    const attempt = resolveTarget({ local: true, stack: 'Punctual' }, {}, dir);

    await expect(attempt).rejects.toThrow(UsageError);
    await expect(resolveTarget({ local: true, stack: 'Punctual' }, {}, dir)).rejects.toMatchObject({
      exitCode: 2,
    });
  });
});

describe('target resolution: a deployed stack', () => {
  const cfn = mockClient(CloudFormationClient);
  beforeEach(() => {
    cfn.reset();
  });

  it('reads the table, the shards and the pools from the stack outputs', async () => {
    const pools = {
      default: {
        queueUrl: 'https://sqs/q',
        dlqUrl: 'https://sqs/dlq',
        dlqArn: 'arn:aws:sqs:eu-west-1:1:dlq',
      },
    };
    cfn.on(DescribeStacksCommand, { StackName: 'Punctual' }).resolves({
      Stacks: [
        {
          StackName: 'Punctual',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'TableName', OutputValue: 'Punctual-Table-1' },
            { OutputKey: 'Shards', OutputValue: '8' },
            { OutputKey: 'Pools', OutputValue: JSON.stringify(pools) },
          ],
        },
      ],
    });

    const target = await resolveTarget({}, { PUNCTUAL_STACK: 'Punctual', PUNCTUAL_REGION: 'eu-west-1' }, dir);

    expect(target).toMatchObject({
      kind: 'stack',
      label: 'stack Punctual (eu-west-1)',
      pools,
      tickMs: 60_000,
    });
    expect(target.tableName).toBe('Punctual-Table-1');
    expect(target.shards).toBe(8);
    // A stack deployed before the SecretNames output: its declared secrets are unknown, puts unchecked.
    expect(target.secretNames).toBeUndefined();
    target.close();
  });

  it("reads the declared secrets' names from the SecretNames output, and putJob refuses another before writing", async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'Punctual' }).resolves({
      Stacks: [
        {
          StackName: 'Punctual',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'TableName', OutputValue: 'Punctual-Table-1' },
            { OutputKey: 'Pools', OutputValue: JSON.stringify({ default: { queueUrl: 'https://sqs/q' } }) },
            { OutputKey: 'SecretNames', OutputValue: '["billing-hook"]' },
          ],
        },
      ],
    });
    const target = await resolveTarget({}, { PUNCTUAL_STACK: 'Punctual', PUNCTUAL_REGION: 'eu-west-1' }, dir);

    // The refusal comes before any DynamoDB call (there is no table behind this stack).
    const put = target.client.putJob({
      id: 'hook',
      schedule: 'rate(1 hour)',
      target: { type: 'http', url: 'https://hooks.example.com/in', hmacSecret: 'tenant-a-hook' },
    });

    expect(target.secretNames).toEqual(['billing-hook']);
    await expect(put).rejects.toThrow(JobValidationError);
    await expect(put).rejects.toThrow(
      'target.hmacSecret "tenant-a-hook": is not a declared secret; this deployment declares billing-hook',
    );
    target.close();
  });

  it('reads the EcsNetwork and TargetAccess outputs, and putJob refuses what they do not allow before writing', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'Punctual' }).resolves({
      Stacks: [
        {
          StackName: 'Punctual',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'TableName', OutputValue: 'Punctual-Table-1' },
            { OutputKey: 'Pools', OutputValue: JSON.stringify({ default: { queueUrl: 'https://sqs/q' } }) },
            {
              OutputKey: 'EcsNetwork',
              OutputValue:
                '{"subnets":["subnet-0aaa1111"],"securityGroups":["sg-0aaa1111"],"allowPublicIp":false}',
            },
            {
              OutputKey: 'TargetAccess',
              OutputValue: JSON.stringify({
                shared: { functions: [], queues: [], buses: [] },
                applications: [
                  {
                    jobIdPrefix: 'billing-',
                    access: {
                      functions: ['arn:aws:lambda:eu-west-1:123456789012:function:bill'],
                      queues: [],
                      buses: [],
                    },
                  },
                ],
              }),
            },
          ],
        },
      ],
    });
    const target = await resolveTarget({}, { PUNCTUAL_STACK: 'Punctual', PUNCTUAL_REGION: 'eu-west-1' }, dir);
    const ecs = {
      type: 'ecs',
      cluster: 'jobs',
      taskDefinition: 'export:1',
      containerName: 'app',
      launchType: 'FARGATE',
      network: { subnets: ['subnet-0bbb2222'], securityGroups: ['sg-0aaa1111'], assignPublicIp: true },
    };

    // No table behind this stack: a refusal is all that can come back.
    const network = target.client.putJob({ id: 'export', schedule: 'rate(1 day)', target: ecs } as never);
    const access = target.client.putJob({
      id: 'billing-pay',
      schedule: 'rate(1 day)',
      target: { type: 'lambda', functionName: 'payroll' },
    } as never);

    await expect(network).rejects.toThrow(
      /target\.network\.subnets\[0\] "subnet-0bbb2222": is not a subnet the operator declared[\s\S]*target\.network\.assignPublicIp true: is not allowed/,
    );
    await expect(access).rejects.toThrow(
      /target\.functionName "payroll": job "billing-pay" is application "billing-"'s \(jobIdPrefix\)/,
    );
    target.close();
  });

  it('says which stack and region it looked in when the stack does not exist', async () => {
    cfn.on(DescribeStacksCommand).rejects(new Error('Stack with id Nope does not exist'));

    await expect(resolveTarget({ stack: 'Nope', region: 'eu-west-1' }, {}, dir)).rejects.toThrow(
      'stack "Nope" not found in eu-west-1',
    );
  });

  it('refuses a stack without the punctual outputs, listing the ones it has', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Other',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [{ OutputKey: 'BucketName', OutputValue: 'b' }],
        },
      ],
    });

    await expect(resolveTarget({ stack: 'Other', region: 'eu-west-1' }, {}, dir)).rejects.toThrow(
      'stack "Other" has no TableName or Pools output: is it a punctual stack? (its outputs: BucketName)',
    );
  });
});
