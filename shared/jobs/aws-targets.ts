/**
 * The `stepfunctions` and `ecs` targets: their model and their rules. Both only start work elsewhere (an
 * execution, a task), so both are asynchronous by nature: a run of them ends when the execution's or the
 * task's state change event arrives (functions/aws-events.ts), or when the sweep finds it ended
 * (DescribeExecution / DescribeTasks), never at the hand-off.
 *
 * The schemas are built by `awsTargetSchemas(timeout)` so that this module needs nothing from schema.ts
 * (which imports it): the caller passes the target timeout rule every target shares.
 */
import { z } from 'zod';

/**
 * Starts an execution of a Standard state machine (Express workflows send no status change events and
 * cannot be described, so their end could not be tracked). Its input is the run context, `completionToken`
 * included; the execution's name is derived from the run id and the attempt (shared/targets/stepfunctions.ts).
 *
 * @example { type: 'stepfunctions', stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:nightly', completion: 'async', timeout: 10_000 }
 */
export interface StepFunctionsTarget {
  type: 'stepfunctions';
  /** The state machine, or a version or alias of it (`…:stateMachine:name[:qualifier]`). */
  stateMachineArn: string;
  /** Always `async`: the run ends with the execution. */
  completion: 'async';
  /** How long the StartExecution call may take (the hand-off), not the execution. */
  timeout: number;
}

/** @example { capacityProvider: 'FARGATE_SPOT', weight: 1 } */
export interface EcsCapacityProvider {
  capacityProvider: string;
  weight?: number;
  base?: number;
}

/** The awsvpc network configuration (required on Fargate). @example { subnets: ['subnet-0abc'], securityGroups: ['sg-0abc'], assignPublicIp: false } */
export interface EcsNetwork {
  subnets: string[];
  securityGroups?: string[];
  assignPublicIp?: boolean;
}

/** Launch types of RunTask (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html). */
export const ECS_LAUNCH_TYPES = ['FARGATE', 'EC2', 'EXTERNAL'] as const;
/** @example const launchType: EcsLaunchType = 'FARGATE'; */
export type EcsLaunchType = (typeof ECS_LAUNCH_TYPES)[number];

/**
 * Runs one task of a task definition with the run context in the environment of the container it names
 * (`PUNCTUAL_RUN_CONTEXT`, `PUNCTUAL_RUN_ID`, `PUNCTUAL_ATTEMPT`, `PUNCTUAL_COMPLETION_TOKEN`, …). The
 * run ends when the task stops: exit code 0 of that container → succeeded, else failed with the stopped
 * reason.
 *
 * @example { type: 'ecs', cluster: 'jobs', taskDefinition: 'report:3', containerName: 'app', launchType: 'FARGATE', network: { subnets: ['subnet-0abc'] }, completion: 'async', timeout: 10_000 }
 */
export interface EcsTarget {
  type: 'ecs';
  /** Cluster name or ARN. */
  cluster: string;
  /** `family`, `family:revision` or the task definition's ARN. */
  taskDefinition: string;
  /** The container that receives the run context, and whose exit code decides the run. */
  containerName: string;
  /** At most one of `launchType` and `capacityProviderStrategy` (RunTask refuses both). */
  launchType?: EcsLaunchType;
  capacityProviderStrategy?: EcsCapacityProvider[];
  network?: EcsNetwork;
  platformVersion?: string;
  /** Always `async`: the run ends when the task stops. */
  completion: 'async';
  /** How long the RunTask call may take (the hand-off), not the task. */
  timeout: number;
}

// https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html (stateMachineArn)
const STATE_MACHINE_ARN =
  /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}(:[A-Za-z0-9_-]{1,80})?$/;
// Cluster and task definition family names: up to 255 letters, digits, hyphens and underscores.
const ECS_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const CLUSTER = /^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/)?[A-Za-z0-9_-]{1,255}$/;
const TASK_DEFINITION =
  /^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/)?[A-Za-z0-9_-]{1,255}(:[1-9]\d{0,9})?$/;
const SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const SECURITY_GROUP = /^sg-[0-9a-f]{8,17}$/;

/** A string rule: the value, or the broken rule in words. */
function matching(re: RegExp, rule: string) {
  return z.string().superRefine((value, ctx) => {
    if (!re.test(value)) ctx.addIssue({ code: 'custom', message: rule });
  });
}

const async = z
  .literal('async', {
    error: 'must be async: the run ends with the execution or task, which reports through its AWS events',
  })
  .default('async');

/** Whether a capacity provider strategy or launch type puts the task on Fargate (awsvpc only). */
function onFargate(target: { launchType?: string; capacityProviderStrategy?: EcsCapacityProvider[] }) {
  if (target.launchType === 'FARGATE') return true;
  return (target.capacityProviderStrategy ?? []).some((p) => p.capacityProvider.startsWith('FARGATE'));
}

/**
 * The zod schemas of both targets, with `timeout` the rule every target's timeout follows.
 *
 * @example const { stepFunctionsTarget, ecsTarget } = awsTargetSchemas(duration(1_000, 900_000));
 */
export function awsTargetSchemas<T extends z.ZodType<number, unknown>>(timeout: T) {
  const stepFunctionsTarget = z.strictObject({
    type: z.literal('stepfunctions'),
    stateMachineArn: matching(
      STATE_MACHINE_ARN,
      'must be a state machine ARN, e.g. arn:aws:states:eu-west-1:123456789012:stateMachine:nightly',
    ),
    completion: async,
    timeout,
  });

  const ecsTarget = z
    .strictObject({
      type: z.literal('ecs'),
      cluster: matching(CLUSTER, 'must be a cluster name or ARN (letters, digits, "-" and "_")'),
      taskDefinition: matching(
        TASK_DEFINITION,
        'must be a task definition family, family:revision or ARN, e.g. report:3',
      ),
      containerName: matching(ECS_NAME, 'must be a container name (letters, digits, "-" and "_")'),
      launchType: z.enum(ECS_LAUNCH_TYPES).optional(),
      capacityProviderStrategy: z
        .array(
          z.strictObject({
            capacityProvider: z.string().min(1).max(255),
            weight: z.number().int().min(0).max(1000).optional(),
            base: z.number().int().min(0).max(100_000).optional(),
          }),
        )
        .min(1)
        .max(20)
        .optional(),
      network: z
        .strictObject({
          subnets: z.array(matching(SUBNET, 'must be a subnet id, e.g. subnet-0123abcd')).min(1).max(16),
          securityGroups: z
            .array(matching(SECURITY_GROUP, 'must be a security group id, e.g. sg-0123abcd'))
            .max(5)
            .optional(),
          assignPublicIp: z.boolean().optional(),
        })
        .optional(),
      platformVersion: z
        .string()
        .max(32)
        .regex(/^[A-Za-z0-9.]+$/, 'must be a platform version such as LATEST or 1.4.0')
        .optional(),
      completion: async,
      timeout,
    })
    .superRefine((target, ctx) => {
      if (target.launchType && target.capacityProviderStrategy) {
        ctx.addIssue({
          code: 'custom',
          path: ['capacityProviderStrategy'],
          message: `must not be given with launchType (${target.launchType}): RunTask takes one or the other`,
        });
      }
      if (!target.network && onFargate(target)) {
        ctx.addIssue({
          code: 'custom',
          path: ['network'],
          message:
            'is required on Fargate: its tasks use the awsvpc network mode, so name the subnets (and security groups)',
        });
      }
    });

  return { stepFunctionsTarget, ecsTarget };
}
