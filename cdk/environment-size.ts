/**
 * Lambda refuses a function whose environment variables exceed 4 KB in all (keys and values), and says so
 * only at deploy. The executors' environment grows with the per-application target access (every ARN of
 * every application's list, PUNCTUAL_TARGET_ACCESS), so synth estimates it and fails first.
 *
 * The estimate resolves each variable to its CloudFormation form and counts literal text as it is and
 * each reference as the longest it can be once deployed: a region 14 characters, an account 12, a
 * partition `aws-us-gov`, a resource's name its literal physical name when it has one, else the name
 * CloudFormation makes (`<stack>-<logical id>-<13 random>`, cut at the service's maximum), inside an ARN or
 * URL of the service's format. Unknown references (an import) count 256.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html ("The total size of all
 * environment variables doesn't exceed 4 KB")
 */
import { CfnResource, Stack, Token } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

/** Lambda's limit on a function's environment variables, keys and values together. */
export const LAMBDA_ENVIRONMENT_LIMIT = 4096;

const REGION = 14; // ap-southeast-4, us-gov-west-1 is 13
const ACCOUNT = 12;
const PARTITION = 10; // aws-us-gov
const UNKNOWN = 256;

interface Shape {
  /** The L1 property holding the physical name. */
  nameProperty: string;
  maxName: number;
  /** Length of `Ref` for a name of this length. */
  ref: (name: number) => number;
  /** Length of each `Fn::GetAtt` attribute. */
  attributes: Record<string, (name: number) => number>;
}

// arn:<partition>:<service>:<region>:<account>: is 6 + partition + service + region + account.
const arn = (service: string, rest: number) => 6 + PARTITION + service.length + REGION + ACCOUNT + rest;
const SHAPES: Record<string, Shape> = {
  'AWS::Lambda::Function': {
    nameProperty: 'functionName',
    maxName: 64,
    ref: (n) => n,
    attributes: { Arn: (n) => arn('lambda', 'function:'.length + n) },
  },
  'AWS::SQS::Queue': {
    nameProperty: 'queueName',
    maxName: 80,
    // https://sqs.<region>.amazonaws.com/<account>/<name>
    ref: (n) => 'https://sqs.'.length + REGION + '.amazonaws.com/'.length + ACCOUNT + 1 + n,
    attributes: {
      Arn: (n) => arn('sqs', n),
      QueueName: (n) => n,
      QueueUrl: (n) => 42 + REGION + ACCOUNT + n,
    },
  },
  'AWS::DynamoDB::Table': {
    nameProperty: 'tableName',
    maxName: 255,
    ref: (n) => n,
    attributes: { Arn: (n) => arn('dynamodb', 'table/'.length + n) },
  },
  'AWS::Events::EventBus': {
    nameProperty: 'name',
    maxName: 256,
    ref: (n) => n,
    attributes: { Arn: (n) => arn('events', 'event-bus/'.length + n), Name: (n) => n },
  },
  'AWS::StepFunctions::StateMachine': {
    nameProperty: 'stateMachineName',
    maxName: 80,
    ref: (n) => arn('states', 'stateMachine:'.length + n),
    attributes: { Arn: (n) => arn('states', 'stateMachine:'.length + n), Name: (n) => n },
  },
  'AWS::ECS::Cluster': {
    nameProperty: 'clusterName',
    maxName: 255,
    ref: (n) => n,
    attributes: { Arn: (n) => arn('ecs', 'cluster/'.length + n) },
  },
  'AWS::ECS::TaskDefinition': {
    nameProperty: 'family',
    maxName: 255,
    // …:task-definition/<family>:<revision, up to 6 digits>
    ref: (n) => arn('ecs', 'task-definition/'.length + n + 7),
    attributes: { TaskDefinitionArn: (n) => arn('ecs', 'task-definition/'.length + n + 7) },
  },
};

const PSEUDO: Record<string, (stack: Stack) => number> = {
  'AWS::Region': () => REGION,
  'AWS::AccountId': () => ACCOUNT,
  'AWS::Partition': () => PARTITION,
  'AWS::URLSuffix': () => 'amazonaws.com.cn'.length,
  'AWS::StackName': (stack) => stackNameLength(stack),
  'AWS::StackId': () => arn('cloudformation', 'stack/'.length + 128 + 37),
};

/** The longest the stack's name can be: its own length, or CloudFormation's 128 while it is a token. */
function stackNameLength(stack: Stack): number {
  return Token.isUnresolved(stack.stackName) ? 128 : stack.stackName.length;
}

/** The longest a value can be once deployed, `value` being CloudFormation (after `stack.resolve`). */
export function estimateLength(stack: Stack, value: unknown, resources: Map<string, CfnResource>): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).length;
  if (Array.isArray(value))
    return value.reduce((sum: number, v) => sum + estimateLength(stack, v, resources), 0);
  if (!value || typeof value !== 'object') return 0;
  const v = value as Record<string, unknown>;
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown];
    const list = Array.isArray(parts) ? parts : [parts];
    return (
      list.reduce((sum: number, part) => sum + estimateLength(stack, part, resources), 0) +
      Math.max(0, list.length - 1) * separator.length
    );
  }
  if ('Ref' in v) {
    const id = String(v.Ref);
    const pseudo = PSEUDO[id];
    if (pseudo) return pseudo(stack);
    return referenceLength(stack, id, undefined, resources);
  }
  if ('Fn::GetAtt' in v) {
    const [id, attribute] = v['Fn::GetAtt'] as [string, string];
    return referenceLength(stack, id, attribute, resources);
  }
  // Fn::Select of Fn::Split (a name cut out of an ARN): at most the whole.
  if ('Fn::Select' in v) return estimateLength(stack, (v['Fn::Select'] as unknown[])[1], resources);
  if ('Fn::Split' in v) return estimateLength(stack, (v['Fn::Split'] as unknown[])[1], resources);
  return UNKNOWN;
}

function referenceLength(
  stack: Stack,
  logicalId: string,
  attribute: string | undefined,
  resources: Map<string, CfnResource>,
): number {
  const resource = resources.get(logicalId);
  const shape = resource ? SHAPES[resource.cfnResourceType] : undefined;
  if (!resource || !shape) return UNKNOWN;
  const given = (resource as unknown as Record<string, unknown>)[shape.nameProperty];
  const resolved = typeof given === 'string' ? stack.resolve(given) : undefined;
  const stackName = stackNameLength(stack);
  const name =
    typeof resolved === 'string'
      ? resolved.length
      : Math.min(shape.maxName, stackName + 1 + logicalId.length + 1 + 13);
  const length = attribute === undefined ? shape.ref : shape.attributes[attribute];
  return length ? length(name) : UNKNOWN;
}

/** Each variable's estimated size (key and value) in `fn`'s environment, and their total. */
export function environmentSize(fn: lambda.Function): { total: number; variables: Record<string, number> } {
  const stack = Stack.of(fn);
  const resources = new Map<string, CfnResource>();
  for (const construct of stack.node.findAll()) {
    if (CfnResource.isCfnResource(construct))
      resources.set(stack.resolve((construct as CfnResource).logicalId) as string, construct as CfnResource);
  }
  const cfn = fn.node.defaultChild as IConstruct & { environment?: unknown };
  const resolved = stack.resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined;
  const variables: Record<string, number> = {};
  let total = 0;
  for (const [key, value] of Object.entries(resolved?.variables ?? {})) {
    const size = Buffer.byteLength(key) + estimateLength(stack, value, resources);
    variables[key] = size;
    total += size;
  }
  return { total, variables };
}
