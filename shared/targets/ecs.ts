/**
 * The `ecs` target: RunTask of one task with the run context in the environment of the named container.
 * The run is handed off here and ends when the task stops (functions/aws-events.ts, or the sweep's
 * DescribeTasks).
 */
import { type KeyValuePair, RunTaskCommand, type RunTaskCommandOutput } from '@aws-sdk/client-ecs';
import type { EcsTarget } from '../jobs/types.js';
import { runMessage, sdkTargetError, untilAborted } from './common.js';
import { clientTokenFor, startedByFor, tokenHash } from './names.js';
import type { RunContext, TargetClients, TargetResult } from './types.js';
import { TargetError } from './types.js';

/** Environment variables the container receives (docs/jobs.md "Targets"). */
export const ECS_ENV = {
  context: 'PUNCTUAL_RUN_CONTEXT',
  jobId: 'PUNCTUAL_JOB_ID',
  runId: 'PUNCTUAL_RUN_ID',
  scheduledAt: 'PUNCTUAL_SCHEDULED_AT',
  attempt: 'PUNCTUAL_ATTEMPT',
  token: 'PUNCTUAL_COMPLETION_TOKEN',
} as const;

/** RunTask refuses overrides larger than 8 KiB as JSON (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskOverride.html). */
export const MAX_OVERRIDE_BYTES = 8_192;

/** The environment the container receives: the whole run context as JSON and its fields one by one. */
export function runEnvironment(ctx: RunContext): KeyValuePair[] {
  const env: KeyValuePair[] = [
    { name: ECS_ENV.context, value: runMessage(ctx) },
    { name: ECS_ENV.jobId, value: ctx.jobId },
    { name: ECS_ENV.runId, value: ctx.runId },
    { name: ECS_ENV.scheduledAt, value: ctx.scheduledAt },
    { name: ECS_ENV.attempt, value: String(ctx.attempt) },
  ];
  if (ctx.completionToken) env.push({ name: ECS_ENV.token, value: ctx.completionToken });
  return env;
}

/** Capacity shortages clear by themselves; a missing task definition or a bad subnet does not. */
const TRANSIENT_FAILURE = /^RESOURCE:|AGENT|capacity|throttl/i;

export async function invokeEcs(
  target: EcsTarget,
  ctx: RunContext,
  deps: { clients: TargetClients; signal: AbortSignal; stack?: string },
): Promise<TargetResult> {
  const what = `ecs ${target.cluster} ${target.taskDefinition}`;
  const ecs = deps.clients.ecs;
  if (!ecs) {
    throw new TargetError(
      `${what}: this executor has no ECS client (the local runtime has no ECS emulator)`,
      false,
    );
  }
  const { stack } = deps;
  if (!stack || !ctx.completionToken) {
    throw new TargetError(
      `${what}: the executor gave no ${stack ? 'completion token' : 'stack tag'}; a task's startedBy and clientToken are made of both (InvokeOptions.stack, RunContext.completionToken)`,
      false,
    );
  }
  const hash = tokenHash(ctx.completionToken);
  const overrides = {
    containerOverrides: [{ name: target.containerName, environment: runEnvironment(ctx) }],
  };
  const bytes = Buffer.byteLength(JSON.stringify(overrides));
  if (bytes > MAX_OVERRIDE_BYTES) {
    throw new TargetError(
      `${what}: the run context is ${bytes} bytes in the container's environment; ECS accepts at most ` +
        `${MAX_OVERRIDE_BYTES} bytes of overrides: keep the job's payload small (pass a reference, e.g. an S3 key)`,
      false,
    );
  }
  const network = target.network
    ? {
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: target.network.subnets,
            ...(target.network.securityGroups ? { securityGroups: target.network.securityGroups } : {}),
            ...(target.network.assignPublicIp === undefined
              ? {}
              : {
                  assignPublicIp: target.network.assignPublicIp
                    ? ('ENABLED' as const)
                    : ('DISABLED' as const),
                }),
          },
        },
      }
    : {};
  const command = new RunTaskCommand({
    cluster: target.cluster,
    taskDefinition: target.taskDefinition,
    count: 1,
    ...(target.launchType ? { launchType: target.launchType } : {}),
    ...(target.capacityProviderStrategy ? { capacityProviderStrategy: target.capacityProviderStrategy } : {}),
    ...(target.platformVersion ? { platformVersion: target.platformVersion } : {}),
    ...network,
    overrides,
    // Both are this stack's and this attempt's alone (./names.ts): the sweep finds the task by startedBy,
    // and a repeat of the call (an SDK retry) starts the task once.
    startedBy: startedByFor(stack, hash),
    clientToken: clientTokenFor(stack, hash),
  });
  let output: RunTaskCommandOutput;
  try {
    output = await untilAborted(ecs.send(command, { abortSignal: deps.signal }), deps.signal);
  } catch (error) {
    if (deps.signal.aborted) throw error;
    throw sdkTargetError(what, error);
  }
  const task = output.tasks?.[0];
  if (!task?.taskArn) {
    // RunTask answers 200 with `failures` when it cannot place the task.
    const failures = (output.failures ?? []).map(
      (f) => `${f.reason ?? 'unknown'}${f.detail ? ` (${f.detail})` : ''}`,
    );
    const text = failures.length ? failures.join('; ') : 'no task and no failure in the answer';
    throw new TargetError(
      `${what}: RunTask started no task: ${text}`,
      failures.some((f) => TRANSIENT_FAILURE.test(f)),
    );
  }
  return { detail: `TaskArn ${task.taskArn}` };
}
