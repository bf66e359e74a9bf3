/**
 * The executor's declared secrets as the construct's PUNCTUAL_SECRETS describes them
 * (functions/commons/secrets.ts): reads go where the declaration says, errors name the secret and never
 * carry a value, a malformed declaration stops the start. The Secrets Manager read goes through
 * Powertools Parameters with the AWS call answered by aws-sdk-client-mock (there is no AWS here).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../../functions/commons/config.js';
import { secretSourcesFromEnv, secretsFromEnv } from '../../../functions/commons/secrets.js';

const env = (value: unknown) => ({ [ENV.secrets]: JSON.stringify(value) });

describe('declared secrets (PUNCTUAL_SECRETS)', () => {
  it('read each name where it is declared, and only declared names', async () => {
    const reads: string[] = [];
    const secrets = secretsFromEnv(env({ hook: { secretsManager: 'arn:hook' }, api: { ssm: '/api' } }), {
      secretsManager: async (arn) => {
        reads.push(`sm ${arn}`);
        return 'hook-value';
      },
      ssm: async (name) => {
        reads.push(`ssm ${name}`);
        return 'api-value';
      },
    });

    expect([...secrets.names].sort()).toEqual(['api', 'hook']);
    expect(secrets.has('hook')).toBe(true);
    expect(secrets.has('HOME')).toBe(false);
    expect(await secrets.get('hook')).toBe('hook-value');
    expect(await secrets.get('api')).toBe('api-value');
    expect(reads).toEqual(['sm arn:hook', 'ssm /api']);
    await expect(secrets.get('HOME')).rejects.toThrow('secret "HOME" is not declared');
  });

  it('name the secret, not a value, when a read fails or gives no text', async () => {
    const secrets = secretsFromEnv(env({ hook: { secretsManager: 'arn:hook' }, bin: { ssm: '/bin' } }), {
      secretsManager: async () => {
        throw new Error('AccessDeniedException: not allowed');
      },
      ssm: async () => new Uint8Array([1, 2]),
    });

    await expect(secrets.get('hook')).rejects.toThrow(
      'secret "hook" (Secrets Manager arn:hook) could not be read: AccessDeniedException: not allowed',
    );
    await expect(secrets.get('bin')).rejects.toThrow('secret "bin" (SSM /bin) has no text value');
  });

  it('refuse a malformed declaration and AWS_* names', () => {
    expect(() => secretSourcesFromEnv({ [ENV.secrets]: '{' })).toThrow('is not JSON');
    expect(() => secretSourcesFromEnv(env({ hook: { vault: 'x' } }))).toThrow(
      'secret hook names neither secretsManager nor ssm',
    );
    expect(() => secretSourcesFromEnv(env({ AWS_SECRET_ACCESS_KEY: { ssm: '/x' } }))).toThrow(
      'reserved (AWS_*)',
    );
    expect(secretSourcesFromEnv({})).toEqual({});
  });

  it('read a Secrets Manager secret through Powertools Parameters', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand, { SecretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:hook' }).resolves({
      SecretString: 'from-secrets-manager',
    });
    try {
      process.env.AWS_REGION ??= 'eu-west-1';
      const secrets = secretsFromEnv(
        env({ hook: { secretsManager: 'arn:aws:secretsmanager:eu-west-1:1:secret:hook' } }),
      );
      expect(await secrets.get('hook')).toBe('from-secrets-manager');
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    } finally {
      sm.restore();
    }
  });
});
