/**
 * The construct's `secrets` prop (issue 18, docs/security.md "Secrets"): each executor may read the
 * declared secrets and nothing else, learns where each lives (never a value) from PUNCTUAL_SECRETS, and a
 * declared job naming an undeclared secret fails synth naming the field. cdk-nag stays clean.
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../cdk/scheduler.js';
import { ENV } from '../../functions/commons/config.js';
import {
  actionsOf,
  exampleProps,
  nagFindings,
  newStack,
  type Resource,
  statementsOfRole,
} from './fixtures.js';

const SIGNED_JOB = {
  id: 'signed-hook',
  schedule: 'rate(5 minutes)',
  target: {
    type: 'http',
    url: 'https://hooks.example.com/in',
    hmacSecret: 'hook',
    headers: { authorization: { secret: 'api', prefix: 'Bearer ' } },
  },
};

function build(jobs: unknown[]) {
  const stack = newStack({ bundle: false, name: 'Secrets' });
  const hook = secretsmanager.Secret.fromSecretNameV2(stack, 'Hook', 'billing/hook');
  const key = new kms.Key(stack, 'ParamKey', { enableKeyRotation: true });
  const api = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Api', {
    parameterName: '/billing/api-token',
    encryptionKey: key,
  });
  const scheduler = new Scheduler(stack, 'Scheduler', exampleProps({ jobs, secrets: { hook, api } }));
  return { stack, scheduler };
}

describe('secrets', () => {
  it('name the declared secrets (names alone) in the SecretNames output the client checks puts against', () => {
    const { stack } = build([SIGNED_JOB]);
    const outputs = Template.fromStack(stack).toJSON().Outputs as Record<string, { Value: unknown }>;

    expect(JSON.parse(outputs.SecretNames?.Value as string)).toEqual(['api', 'hook']);
    expect(JSON.stringify(outputs.SecretNames)).not.toMatch(/billing|arn:/);
  });

  it('tell each executor where each declared secret lives and let it read those alone', () => {
    const { stack, scheduler } = build([SIGNED_JOB]);
    const template = Template.fromStack(stack);
    const json = template.toJSON() as { Resources: Record<string, Resource> };
    for (const pool of Object.values(scheduler.pools)) {
      const id = stack.getLogicalId(pool.executor.node.defaultChild as never);
      const variables = (
        (json.Resources[id] as Resource).Properties.Environment as { Variables: Record<string, unknown> }
      ).Variables;
      const sources = JSON.stringify(variables[ENV.secrets]);
      expect(sources).toContain('secretsManager');
      expect(sources).toContain('billing/hook');
      expect(sources).toContain('/billing/api-token');
      const roleId = stack.getLogicalId(pool.executor.role?.node.defaultChild as never);
      const statements = statementsOfRole(template, roleId);
      const secretReads = statements.filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
      expect(JSON.stringify(secretReads.map((s) => s.Resource))).toContain('billing/hook');
      const parameterReads = statements.filter((s) => actionsOf(s).includes('ssm:GetParameter'));
      expect(JSON.stringify(parameterReads.map((s) => s.Resource))).toContain('billing/api-token');
      expect(statements.some((s) => actionsOf(s).includes('kms:Decrypt'))).toBe(true);
    }
    // The tick reads no secret.
    const tickRole = stack.getLogicalId(scheduler.tickFunction.role?.node.defaultChild as never);
    expect(JSON.stringify(statementsOfRole(template, tickRole))).not.toMatch(/secretsmanager|ssm:/);
    expect(nagFindings(stack)).toEqual([]);
  });

  it('refuse at synth a declared job naming a secret the construct does not declare', () => {
    const job = { ...SIGNED_JOB, target: { ...SIGNED_JOB.target, hmacSecret: 'other' } };
    expect(() => build([job])).toThrow(
      'jobs[0].target.hmacSecret "other": is not a declared secret; this deployment declares api, hook',
    );
  });
});
