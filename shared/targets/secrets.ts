/**
 * Secrets by name, declared by the operator (docs/security.md "Secrets"). A job names a secret the
 * operator declared (`hmacSecret: billing-hook`, `headers: { authorization: { secret: billing-api,
 * prefix: 'Bearer ' } }`); the value is read when the request is sent and never written anywhere: not in
 * the job item, a run record, a log line, an event or the DLQ.
 *
 * Where the value comes from is the operator's: the construct's `secrets` prop (Secrets Manager or SSM
 * SecureString, read by the executor with Powertools Parameters), `punctual dev --secret NAME=ENV_VAR` or
 * `--secrets-file` locally. A job never names an environment variable.
 */
import type { Violation } from '../errors.js';
import type { Target } from '../jobs/types.js';

/** A declared secret's name: what jobs write. Letters, digits, `_`, `-`, `.`, `/`; 1 to 128. */
export const SECRET_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$/;
export const SECRET_NAME_RULE =
  'must be the name of a secret the operator declared: 1 to 128 of A-Z, a-z, 0-9, "_", "-", ".", "/", starting with a letter or digit';

/** The Lambda runtime's own variables (credentials among them): never a secret's name, never its source. */
export function isAwsReserved(name: string): boolean {
  return /^aws_/i.test(name);
}

/** Why `name` cannot name a declared secret, or undefined. */
export function secretNameProblem(name: string): string | undefined {
  if (isAwsReserved(name)) {
    return "names an AWS_* variable: jobs name secrets the operator declared (the construct's secrets prop, punctual dev --secret), never an environment variable";
  }
  return SECRET_NAME_PATTERN.test(name) ? undefined : SECRET_NAME_RULE;
}

/**
 * Reads declared secrets at run time. `has` answers from the declaration alone (no call); `get` may call
 * AWS (cached) and rejects with an error that names the secret, never its value.
 */
export interface SecretResolver {
  /** The declared names. */
  readonly names: readonly string[];
  has(name: string): boolean;
  get(name: string): Promise<string>;
}

/** No secret declared: every name is undeclared. */
export const NO_SECRETS: SecretResolver = {
  names: [],
  has: () => false,
  get: (name) => Promise.reject(new Error(`secret "${name}" is not declared`)),
};

/**
 * Declared secrets whose values come from a function (the local runtime reads `punctual dev`'s own
 * environment; tests pass values).
 *
 * @example const secrets = secretResolver({ 'billing-hook': () => process.env.BILLING_HOOK_SECRET });
 */
export function secretResolver(
  sources: Record<string, () => string | undefined | Promise<string | undefined>>,
): SecretResolver {
  const names = Object.keys(sources);
  return {
    names,
    has: (name) => Object.hasOwn(sources, name),
    async get(name) {
      const source = Object.hasOwn(sources, name) ? sources[name] : undefined;
      if (!source) throw new Error(`secret "${name}" is not declared`);
      const value = await source();
      if (!value) throw new Error(`secret "${name}" has no value`);
      return value;
    },
  };
}

/** A header whose value is a declared secret, sent as `prefix + value`. */
export interface SecretHeader {
  secret: string;
  /** Written before the value, e.g. `Bearer `. */
  prefix?: string;
}

/** Every secret a target names, with the field that names it (`target.hmacSecret`, `target.headers.authorization`). */
export function secretRefs(target: Target): { path: string; name: string }[] {
  if (target.type !== 'http') return [];
  const refs: { path: string; name: string }[] = [];
  if (target.hmacSecret !== undefined) refs.push({ path: 'target.hmacSecret', name: target.hmacSecret });
  else if (target.hmacSecretEnv !== undefined) {
    refs.push({ path: 'target.hmacSecretEnv', name: target.hmacSecretEnv });
  }
  for (const [header, value] of Object.entries(target.headers ?? {})) {
    if (typeof value !== 'string') refs.push({ path: `target.headers.${header}`, name: value.secret });
  }
  return refs;
}

/**
 * A job's references to secrets the deployment does not declare, as violations (the construct at synth,
 * `punctual dev`, `putJob` against a deployment whose declared names are known).
 */
export function undeclaredSecrets(target: Target, declared: readonly string[], prefix = ''): Violation[] {
  const known = new Set(declared);
  return secretRefs(target)
    .filter((ref) => !known.has(ref.name))
    .map((ref) => ({
      path: prefix ? `${prefix}.${ref.path}` : ref.path,
      value: ref.name,
      message:
        known.size === 0
          ? "is not a declared secret: this deployment declares none (the construct's secrets prop; punctual dev --secret NAME=ENV_VAR)"
          : `is not a declared secret; this deployment declares ${[...known].sort().join(', ')}`,
    }));
}
