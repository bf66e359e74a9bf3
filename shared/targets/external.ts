/**
 * The sweep's fallback for attempts that do not heartbeat themselves (stepfunctions, ecs): before the
 * sweep declares such an attempt lost or timed out, it asks AWS how the execution or task stands. Events
 * are delivered on a best-effort basis, so one can be missing; this is what still gives the run its real
 * end.
 *
 *   ended (SUCCEEDED / FAILED / STOPPED …) → the report the event would have made
 *   still running                          → a heartbeat (the sweep waits on; maxRunDuration still holds)
 *   not found                              → undefined: nothing runs, the sweep declares the attempt lost
 *   found, with another token              → `{ foreign }`: not this attempt's (another stack's, or an
 *                                            old run's under a name of the previous form); never settles it
 *
 * Past `maxRunDuration` the sweep asks with `stop`: an execution or task of this attempt that still runs
 * is stopped (StopExecution / StopTask), and the answer is still "running" until AWS says it has ended,
 * so that the retry never starts beside it.
 *
 * Errors other than "not found" (throttling, access denied) are thrown: the sweep logs them and looks
 * again on its next pass, rather than starting a second execution beside one that may still run.
 */
import {
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { EcsTarget, StepFunctionsTarget, Target } from '../jobs/types.js';
import type { RunItem } from '../store/model.js';
import {
  type ExternalReport,
  type Mapped,
  reportFromExecution,
  reportFromTask,
  tokenMatches,
} from './aws-events.js';
import { executionArn, executionName, legacyExecutionName, legacyStartedBy, startedByFor } from './names.js';

export interface ExternalClients {
  sfn?: SFNClient;
  ecs?: ECSClient;
}

/** The run fields the check reads: which attempt, its token's hash, and the target it was started with. */
export type ExternalRun = Pick<RunItem, 'runId' | 'attempt' | 'completionTokenHash'> & {
  definition: { target: Target };
};

/** What the check found: the attempt's report, nothing, or an execution or task that is not this attempt's. */
export type ExternalFinding = ExternalReport | { foreign: string } | undefined;

/** How the check is asked: `stop` (a reason) stops what still runs of the attempt. */
export interface ExternalCheckOptions {
  stop?: string;
  /** StopExecution's `error` (default `punctual.Timeout`; `punctual.Replaced` for overlap replace). */
  stopError?: string;
}

/** StopExecution's `error` (at most 256 characters) and StopTask's `reason` (at most 255) are clipped. */
const STOP_ERROR = 'punctual.Timeout';
const REASON_CHARS = 255;

/** The report of an execution or task found under this attempt's name, if its token is the attempt's. */
function judge(what: string, mapped: Mapped, run: ExternalRun): ExternalReport | { foreign: string } {
  if ('ignored' in mapped) return { foreign: `${what}: ${mapped.ignored}` };
  const { report } = mapped;
  if (report.runId !== run.runId || report.attempt !== run.attempt)
    return { foreign: `${what} is ${report.runId} attempt ${report.attempt}'s, not this one's` };
  // A Describe answer always has the input and the environment: the token itself must be there.
  if (
    !run.completionTokenHash ||
    mapped.token === undefined ||
    !tokenMatches({ token: mapped.token }, run.completionTokenHash)
  )
    return { foreign: `${what} carries another completion token than attempt ${run.attempt}'s` };
  return report;
}

/** The names this attempt's execution may have: this version's, then the previous form's. */
function executionNames(stack: string, run: ExternalRun): string[] {
  const legacy = legacyExecutionName(run.runId, run.attempt);
  return run.completionTokenHash
    ? [executionName(stack, run.runId, run.attempt, run.completionTokenHash), legacy]
    : [legacy];
}

async function checkExecution(
  sfn: SFNClient,
  target: StepFunctionsTarget,
  run: ExternalRun,
  stack: string,
  options: ExternalCheckOptions,
): Promise<ExternalFinding> {
  let foreign: { foreign: string } | undefined;
  for (const name of executionNames(stack, run)) {
    const arn = executionArn(target.stateMachineArn, name);
    let execution: DescribeExecutionCommandOutput;
    try {
      execution = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    } catch (error) {
      if ((error as { name?: string }).name === 'ExecutionDoesNotExist') continue;
      throw error;
    }
    const found = judge(`execution ${name}`, reportFromExecution(execution), run);
    if ('foreign' in found) {
      foreign ??= found;
      continue;
    }
    if (options.stop && found.type === 'heartbeat') {
      // Standard workflows only (Express ones cannot be described either); the execution ends ABORTED.
      // https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html
      await sfn.send(
        new StopExecutionCommand({
          executionArn: arn,
          error: options.stopError ?? STOP_ERROR,
          cause: options.stop.slice(0, 32_768),
        }),
      );
    }
    return found;
  }
  return foreign;
}

/** The task a `startedBy` names: running first, else stopped (ListTasks keeps those about an hour). */
async function findTask(ecs: ECSClient, target: EcsTarget, startedBy: string): Promise<Task | undefined> {
  // ListTasks lists tasks whose desired status is RUNNING unless asked for STOPPED ones (a task being
  // stopped is listed there). https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html
  for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
    const listed = await ecs.send(
      new ListTasksCommand({ cluster: target.cluster, startedBy, desiredStatus }),
    );
    const taskArns = listed.taskArns ?? [];
    if (taskArns.length === 0) continue;
    const described = await ecs.send(
      new DescribeTasksCommand({ cluster: target.cluster, tasks: taskArns.slice(0, 1) }),
    );
    return described.tasks?.[0];
  }
  return undefined;
}

async function checkTask(
  ecs: ECSClient,
  target: EcsTarget,
  run: ExternalRun,
  stack: string,
  options: ExternalCheckOptions,
): Promise<ExternalFinding> {
  const legacy = legacyStartedBy(run.runId, run.attempt);
  const names = run.completionTokenHash ? [startedByFor(stack, run.completionTokenHash), legacy] : [legacy];
  let foreign: { foreign: string } | undefined;
  for (const startedBy of names) {
    const task = await findTask(ecs, target, startedBy);
    if (!task) continue;
    const found = judge(`task ${task.taskArn}`, reportFromTask(task), run);
    if ('foreign' in found) {
      foreign ??= found;
      continue;
    }
    if (options.stop && found.type === 'heartbeat' && task.desiredStatus !== 'STOPPED' && task.taskArn) {
      // ECS sends the containers SIGTERM, then SIGKILL after their stopTimeout (30 s by default): the task
      // reaches STOPPED after that, which the next look sees.
      // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html
      await ecs.send(
        new StopTaskCommand({
          cluster: target.cluster,
          task: task.taskArn,
          reason: options.stop.slice(0, REASON_CHARS),
        }),
      );
    }
    return found;
  }
  return foreign;
}

/**
 * The `checkExternal` hook of the sweep (`CompletionDeps.checkExternal`): undefined for every other
 * target. `stack` is the stack's tag (`stackTag(tableName)`), as the executors name what they start.
 *
 * @example const checkExternal = createExternalCheck({ sfn: new SFNClient({}), ecs: new ECSClient({}) }, stackTag(tableName));
 */
export function createExternalCheck(clients: ExternalClients, stack: string) {
  return async (
    run: ExternalRun,
    _now: number,
    options: ExternalCheckOptions = {},
  ): Promise<ExternalFinding> => {
    const target = run.definition.target;
    if (target.type === 'stepfunctions' && clients.sfn)
      return checkExecution(clients.sfn, target, run, stack, options);
    if (target.type === 'ecs' && clients.ecs) return checkTask(clients.ecs, target, run, stack, options);
    return undefined;
  };
}
