/**
 * IAM of a synthesized stack as AWS would evaluate it: a role's identity policies with CloudFormation's
 * intrinsic functions resolved to concrete ARNs (an account, a region, each resource's name = its
 * logical id), and requests evaluated against them by @cloud-copilot/iam-simulate (AWS's policy grammar,
 * actions, resource types and condition operators; not a hand-written matcher).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/** What `Ref` and `Fn::GetAtt` give for a resource of the template, by its type. */
function attributesOf(
  logicalId: string,
  resource: { Type: string; Properties?: Record<string, unknown> },
): Record<string, string> {
  const name = logicalId;
  const arn = (service: string, rest: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${rest}`;
  switch (resource.Type) {
    case 'AWS::DynamoDB::Table':
      return { Ref: name, Arn: arn('dynamodb', `table/${name}`) };
    case 'AWS::SQS::Queue':
      return {
        Ref: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`,
        QueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`,
        Arn: arn('sqs', name),
        QueueName: name,
      };
    case 'AWS::Lambda::Function':
      return { Ref: name, Arn: arn('lambda', `function:${name}`) };
    case 'AWS::Events::EventBus':
      return { Ref: name, Name: name, Arn: arn('events', `event-bus/${name}`) };
    case 'AWS::KMS::Key':
      return { Ref: name, Arn: arn('kms', `key/${name}`), KeyId: name };
    case 'AWS::IAM::Role':
      return { Ref: name, Arn: `arn:aws:iam::${ACCOUNT}:role/${name}`, RoleId: name };
    case 'AWS::SNS::Topic':
      return { Ref: arn('sns', name), TopicArn: arn('sns', name), TopicName: name };
    case 'AWS::StepFunctions::StateMachine':
      return {
        Ref: arn('states', `stateMachine:${name}`),
        Arn: arn('states', `stateMachine:${name}`),
        Name: name,
      };
    case 'AWS::ECS::Cluster':
      return { Ref: name, Arn: arn('ecs', `cluster/${name}`) };
    case 'AWS::ECS::TaskDefinition':
      return {
        Ref: arn('ecs', `task-definition/${name}:1`),
        TaskDefinitionArn: arn('ecs', `task-definition/${name}:1`),
      };
    case 'AWS::Logs::LogGroup':
      return { Ref: name, Arn: arn('logs', `log-group:${name}:*`) };
    default:
      return { Ref: name, Arn: arn(resource.Type.split('::')[1]?.toLowerCase() ?? 'unknown', name) };
  }
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'Stack',
  'AWS::StackId': `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/Stack/1`,
  'AWS::NoValue': '',
};

/** Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split in `value` against `template`. */
export function resolveIntrinsics(template: Template, value: unknown): unknown {
  const ref = (id: string, attribute = 'Ref'): string => {
    if (PSEUDO[id] !== undefined) return PSEUDO[id];
    const resource = template.Resources[id];
    if (!resource) throw new Error(`the template has no resource ${id}`);
    const resolved = attributesOf(id, resource)[attribute];
    if (resolved === undefined) throw new Error(`no attribute ${attribute} of ${resource.Type} ${id}`);
    return resolved;
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object') return v;
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, arg] = entries[0] as [string, unknown];
      if (key === 'Ref') return ref(arg as string);
      if (key === 'Fn::GetAtt') {
        const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
        return ref(id as string, attribute as string);
      }
      if (key === 'Fn::Join') {
        const [separator, parts] = arg as [string, unknown[]];
        return (walk(parts) as unknown[]).join(separator);
      }
      if (key === 'Fn::Select') {
        const [index, list] = arg as [number | string, unknown];
        return (walk(list) as unknown[])[Number(index)];
      }
      if (key === 'Fn::Split') {
        const [separator, text] = arg as [string, unknown];
        return String(walk(text)).split(separator);
      }
      if (key === 'Fn::Sub') {
        const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
          if (vars[name] !== undefined) return String(walk(vars[name]));
          const [id, attribute] = name.split('.');
          return ref(id as string, attribute);
        });
      }
    }
    return Object.fromEntries(entries.map(([k, inner]) => [k, walk(inner)]));
  };
  return walk(value);
}

export interface PolicyDocument {
  Version?: string;
  Statement: Record<string, unknown>[];
}

/** The key policy of KMS key `keyId`, resolved. */
export function keyPolicyOf(template: Template, keyId: string): PolicyDocument {
  const key = template.Resources[keyId];
  if (key?.Type !== 'AWS::KMS::Key') throw new Error(`${keyId} is not a KMS key of the template`);
  return resolveIntrinsics(template, key.Properties?.KeyPolicy) as PolicyDocument;
}

/** The identity policies attached to role `roleId` (inline, and AWS::IAM::Policy resources naming it), resolved. */
export function policiesOfRole(
  template: Template,
  roleId: string,
): { name: string; policy: PolicyDocument }[] {
  const out: { name: string; policy: PolicyDocument }[] = [];
  const role = template.Resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role of the template`);
  for (const inline of (role.Properties?.Policies as { PolicyName: string; PolicyDocument: unknown }[]) ??
    []) {
    out.push({
      name: inline.PolicyName,
      policy: resolveIntrinsics(template, inline.PolicyDocument) as PolicyDocument,
    });
  }
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = (resource.Properties?.Roles as unknown[]) ?? [];
    if (!roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }))) continue;
    out.push({
      name: id,
      policy: resolveIntrinsics(template, resource.Properties?.PolicyDocument) as PolicyDocument,
    });
  }
  return out;
}

/** One request as IAM authorizes it: an action on a resource ARN (`*` for actions without one), with context keys. */
export interface IamRequest {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

/** Whether `policies` allow `request` for role `roleArn`: 'Allowed', 'ImplicitlyDenied', 'ExplicitlyDenied', or the simulator's error. */
export async function evaluate(
  roleArn: string,
  policies: { name: string; policy: PolicyDocument }[],
  request: IamRequest,
  /** The resource's own policy, where AWS evaluates one (a KMS key's key policy). */
  resourcePolicy?: PolicyDocument,
): Promise<string> {
  const result = await runSimulation(
    {
      identityPolicies: policies.map((p) => ({ name: p.name, policy: p.policy as never })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: resourcePolicy as never,
      request: {
        principal: roleArn,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables: request.context ?? {},
      },
    },
    {},
  );
  if (result.resultType === 'error') return `error: ${JSON.stringify(result.errors)}`;
  return result.overallResult;
}
