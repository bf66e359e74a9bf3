/**
 * The executor's declared secrets (the construct's `secrets` prop, docs/security.md): names mapped to a
 * Secrets Manager secret or an SSM SecureString parameter, read when a request needs them with Powertools
 * Parameters (cached 5 minutes, so a rotation is seen within that). The environment holds where each value
 * lives, never a value.
 */

import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import {
  isAwsReserved,
  NO_SECRETS,
  type SecretResolver,
  secretResolver,
} from '../../shared/targets/secrets.js';
import { errorMessage } from '../../shared/util.js';
import { ENV } from './config.js';

/** Where one declared secret's value is read. */
export type SecretSource = { secretsManager: string } | { ssm: string };

/** How long a value read is reused: a rotated secret is picked up within it. */
const SECRET_MAX_AGE_SECONDS = 300;

export interface SecretReaders {
  secretsManager(arn: string): Promise<unknown>;
  ssm(name: string): Promise<unknown>;
}

/** The SDK clients Powertools Parameters reads with; by default its own, made from the environment. */
export interface PowertoolsClients {
  secretsManager?: SecretsManagerClient;
  ssm?: SSMClient;
}

/**
 * Reads through Powertools Parameters: `GetSecretValue` (Secrets Manager), `GetParameter` with
 * `WithDecryption` (SSM; KMS decrypts a SecureString for the caller), each value cached 5 minutes by its
 * provider. One set per executor function (one cache); each provider is made at its first read, so a
 * function that declares no secret of a kind never makes its client. `clients`: the SDK clients to read
 * with (test/integration/iam.test.ts records their calls); Powertools makes its own otherwise.
 */
export function powertoolsReaders(clients: PowertoolsClients = {}): SecretReaders {
  let secrets: SecretsProvider | undefined;
  let parameters: SSMProvider | undefined;
  return {
    secretsManager: (arn) => {
      secrets ??= new SecretsProvider(
        clients.secretsManager ? { awsSdkV3Client: clients.secretsManager } : {},
      );
      return secrets.get(arn, { maxAge: SECRET_MAX_AGE_SECONDS });
    },
    ssm: (name) => {
      parameters ??= new SSMProvider(clients.ssm ? { awsSdkV3Client: clients.ssm } : {});
      return parameters.get(name, { decrypt: true, maxAge: SECRET_MAX_AGE_SECONDS });
    },
  };
}

/** The declarations of `PUNCTUAL_SECRETS`, checked: a malformed one stops the executor's start, loudly. */
export function secretSourcesFromEnv(env: NodeJS.ProcessEnv): Record<string, SecretSource> {
  const text = env[ENV.secrets];
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`environment variable ${ENV.secrets} is not JSON (the Scheduler construct sets it)`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`environment variable ${ENV.secrets}: must be an object of secret names`);
  const sources: Record<string, SecretSource> = {};
  for (const [name, source] of Object.entries(value as Record<string, unknown>)) {
    const where = source as Partial<Record<'secretsManager' | 'ssm', unknown>> | null;
    if (isAwsReserved(name)) throw new Error(`${ENV.secrets}: secret name ${name} is reserved (AWS_*)`);
    if (typeof where?.secretsManager === 'string') sources[name] = { secretsManager: where.secretsManager };
    else if (typeof where?.ssm === 'string') sources[name] = { ssm: where.ssm };
    else throw new Error(`${ENV.secrets}: secret ${name} names neither secretsManager nor ssm`);
  }
  return sources;
}

/**
 * The resolver the executor hands to http targets (shared/targets/secrets.ts `secretResolver`, over reads
 * from where each name is declared). A failed read, or a value that is not a non-empty string (a binary
 * secret, an empty parameter), is an error naming the secret and where it lives; neither carries a value.
 */
export function secretsFromEnv(
  env: NodeJS.ProcessEnv,
  readers: SecretReaders = powertoolsReaders(),
): SecretResolver {
  const sources = secretSourcesFromEnv(env);
  if (Object.keys(sources).length === 0) return NO_SECRETS;
  const read = (name: string, source: SecretSource) => async () => {
    const where =
      'secretsManager' in source ? `Secrets Manager ${source.secretsManager}` : `SSM ${source.ssm}`;
    let value: unknown;
    try {
      value =
        'secretsManager' in source
          ? await readers.secretsManager(source.secretsManager)
          : await readers.ssm(source.ssm);
    } catch (error) {
      throw new Error(`secret "${name}" (${where}) could not be read: ${errorMessage(error)}`);
    }
    if (typeof value !== 'string' || value === '')
      throw new Error(`secret "${name}" (${where}) has no text value`);
    return value;
  };
  return secretResolver(
    Object.fromEntries(Object.entries(sources).map(([name, source]) => [name, read(name, source)])),
  );
}
