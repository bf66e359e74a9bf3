/**
 * Where an `ecs` target's task may be placed: the subnets and security groups the operator declared on
 * `AsyncTargets` (`ecsNetwork`), and a public IP only where the operator allowed one. A job names its
 * `network`, but a job author may be anyone with `grantManageJobs`: without this, a job could put a task
 * (with its task role) in any subnet of the account, behind any security group, with a public address.
 * Checked at synth for the declared jobs (cdk/async-targets.ts) and by the executor before RunTask.
 */
import type { Violation } from '../errors.js';
import type { Target } from '../jobs/types.js';

export interface EcsNetworkPolicy {
  /** Subnet ids tasks may be placed in. */
  subnets: readonly string[];
  /** Security group ids tasks may use. */
  securityGroups: readonly string[];
  /** Whether a job may set `assignPublicIp: true`. */
  allowPublicIp: boolean;
}

/** Nothing declared: a job may name no network (then the task definition's own placement applies). */
export const NO_ECS_NETWORK: EcsNetworkPolicy = { subnets: [], securityGroups: [], allowPublicIp: false };

const HOW = "declare it on AsyncTargets' ecsNetwork";

/** What in an ecs target's `network` the policy does not allow, as violations naming field and value. */
export function ecsNetworkViolations(target: Target, policy: EcsNetworkPolicy): Violation[] {
  if (target.type !== 'ecs' || !target.network) return [];
  const { network } = target;
  const out: Violation[] = [];
  const subnets = new Set(policy.subnets);
  const groups = new Set(policy.securityGroups);
  network.subnets.forEach((subnet, i) => {
    if (!subnets.has(subnet))
      out.push({
        path: `target.network.subnets[${i}]`,
        value: subnet,
        message: `is not a subnet the operator declared for ecs tasks (${HOW}.subnets)`,
      });
  });
  (network.securityGroups ?? []).forEach((group, i) => {
    if (!groups.has(group))
      out.push({
        path: `target.network.securityGroups[${i}]`,
        value: group,
        message: `is not a security group the operator declared for ecs tasks (${HOW}.securityGroups)`,
      });
  });
  if (!network.securityGroups?.length && groups.size > 0)
    out.push({
      path: 'target.network.securityGroups',
      value: undefined,
      message:
        "is required: without it the task gets the VPC's default security group, which the operator did not declare; name one of the declared groups",
    });
  if (network.assignPublicIp === true && !policy.allowPublicIp)
    out.push({
      path: 'target.network.assignPublicIp',
      value: true,
      message: `is not allowed: tasks get no public IP unless the operator allows it (${HOW}.allowPublicIp)`,
    });
  return out;
}

/** Reads the executor's `PUNCTUAL_ECS_NETWORK` (JSON of an EcsNetworkPolicy); nothing declared when absent. */
export function parseEcsNetworkPolicy(text: string | undefined): EcsNetworkPolicy {
  if (!text) return NO_ECS_NETWORK;
  const value = JSON.parse(text) as Partial<EcsNetworkPolicy>;
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return {
    subnets: list(value.subnets),
    securityGroups: list(value.securityGroups),
    allowPublicIp: value.allowPublicIp === true,
  };
}
