/**
 * The sweep's fallback for attempts that do not heartbeat themselves (stepfunctions, ecs): before the
 * sweep declares such an attempt lost or timed out, it asks AWS how the execution or task stands. Events
 * are delivered on a best-effort basis, so one can be missing; this is what still gives the run its real
 * end.
 *
 *   ended (SUCCEEDED / FAILED / STOPPED …) → the report the event would have made
 *   still running                          → a heartbeat (the sweep waits on; maxRunDuration still holds)
 *   not found                              → undefined: nothing runs, the sweep declares the attempt lost
 *
 * Errors other than "not found" (throttling, access denied) are thrown: the sweep logs them and looks
 * again on its next pass, rather than starting a second execution beside one that may still run.
 */
import { DescribeTasksCommand, type ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { EcsTarget, StepFunctionsTarget, Target } from '../jobs/types.js';
import type { RunItem } from '../store/model.js';
import { type ExternalReport, reportFromExecution, reportFromTask } from './aws-events.js';
import { startedByFor } from './ecs.js';
import { executionArn, executionName } from './stepfunctions.js';

export interface ExternalClients {
  sfn?: SFNClient;
  ecs?: ECSClient;
}

/** The run fields the check reads: which attempt, and the target it was started with. */
export type ExternalRun = Pick<RunItem, 'runId' | 'attempt'> & { definition: { target: Target } };

async function checkExecution(
  sfn: SFNClient,
  target: StepFunctionsTarget,
  run: ExternalRun,
): Promise<ExternalReport | undefined> {
  const arn = executionArn(target.stateMachineArn, executionName(run.runId, run.attempt));
  let execution: DescribeExecutionCommandOutput;
  try {
    execution = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
  } catch (error) {
    if ((error as { name?: string }).name === 'ExecutionDoesNotExist') return undefined;
    throw error;
  }
  const mapped = reportFromExecution(execution);
  return 'report' in mapped && mapped.report.attempt === run.attempt ? mapped.report : undefined;
}

async function checkTask(
  ecs: ECSClient,
  target: EcsTarget,
  run: ExternalRun,
): Promise<ExternalReport | undefined> {
  const startedBy = startedByFor(run.runId, run.attempt);
  // ListTasks lists RUNNING tasks unless asked for STOPPED ones (kept about an hour after they stop).
  // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html
  let taskArns: string[] = [];
  for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
    const listed = await ecs.send(
      new ListTasksCommand({ cluster: target.cluster, startedBy, desiredStatus }),
    );
    taskArns = listed.taskArns ?? [];
    if (taskArns.length > 0) break;
  }
  if (taskArns.length === 0) return undefined;
  const described = await ecs.send(
    new DescribeTasksCommand({ cluster: target.cluster, tasks: taskArns.slice(0, 1) }),
  );
  const task = described.tasks?.[0];
  if (!task) return undefined;
  const mapped = reportFromTask(task);
  return 'report' in mapped && mapped.report.attempt === run.attempt ? mapped.report : undefined;
}

/**
 * The `checkExternal` hook of the sweep (`CompletionDeps.checkExternal`): undefined for every other target.
 *
 * @example const checkExternal = createExternalCheck({ sfn: new SFNClient({}), ecs: new ECSClient({}) });
 */
export function createExternalCheck(clients: ExternalClients) {
  return async (run: ExternalRun, _now: number): Promise<ExternalReport | undefined> => {
    const target = run.definition.target;
    if (target.type === 'stepfunctions' && clients.sfn) return checkExecution(clients.sfn, target, run);
    if (target.type === 'ecs' && clients.ecs) return checkTask(clients.ecs, target, run);
    return undefined;
  };
}
