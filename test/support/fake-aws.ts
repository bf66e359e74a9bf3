/**
 * Stateful fakes of Step Functions and ECS for integration tests (neither has an emulator): real SDK
 * clients whose requests are answered by a middleware from in-memory state instead of the network.
 * Executions and tasks start, run, end and are stopped as the services document; a test moves them on
 * (`finish`, `settle`) and can make a call fail. Each fake counts what is running, so a test can assert
 * that never two attempts of one run (or one job) are in the target at once.
 *
 *   Step Functions: StartExecution (a name is used once: the same name with another input, or once the
 *   execution has ended, is ExecutionAlreadyExists; with the same input while running, the same
 *   execution), DescribeExecution (ExecutionDoesNotExist), StopExecution (RUNNING → ABORTED at once).
 *   `loseAnswer` makes a call's answer get lost after the service acted on it, and the SDK send it again
 *   (what its retries do after a timeout or a 5xx), with what happened meanwhile.
 *   https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
 *   ECS: RunTask (clientToken idempotent), ListTasks (cluster, startedBy, desiredStatus), DescribeTasks,
 *   StopTask (desiredStatus STOPPED at once; lastStatus STOPPED only when the test `settle`s it).
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html
 */
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { HandlerExecutionContext, InitializeHandlerArguments } from '@smithy/types';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

export interface FakeExecution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
}

export interface FakeTask {
  taskArn: string;
  clusterArn: string;
  cluster: string;
  startedBy?: string;
  clientToken?: string;
  taskDefinitionArn: string;
  overrides: { containerOverrides?: { name?: string; environment?: { name?: string; value?: string }[] }[] };
  lastStatus: 'PROVISIONING' | 'RUNNING' | 'DEACTIVATING' | 'STOPPED';
  desiredStatus: 'RUNNING' | 'STOPPED';
  stopCode?: string;
  stoppedReason?: string;
  containers: { name: string; exitCode?: number; reason?: string }[];
}

/** An AWS service error as the SDK throws it (`name` is the error code). */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

type Fault = (command: string, input: Record<string, unknown>) => Error | undefined;
/** For a call whose answer is lost: what happens before the SDK sends it again (undefined: not lost). */
type LoseAnswer = (command: string, input: Record<string, unknown>) => (() => void) | undefined;

/** The one middleware the fakes add: it answers every command from the fake's state. */
type Answer = (
  next: unknown,
  context: HandlerExecutionContext,
) => (args: InitializeHandlerArguments<object>) => Promise<unknown>;
type AnsweringStack = { add(middleware: Answer, options: { step: 'initialize'; name: string }): void };

function answering(
  client: { middlewareStack: unknown },
  handle: (command: string, input: Record<string, unknown>) => unknown,
  calls: { command: string; input: Record<string, unknown> }[],
  fault: () => Fault | undefined,
  lose: () => LoseAnswer | undefined = () => undefined,
) {
  const answer: Answer = (_next, context) => async (args) => {
    const command = context.commandName?.replace(/Command$/, '') ?? '?';
    const input = args.input as Record<string, unknown>;
    calls.push({ command, input });
    const error = fault()?.(command, input);
    if (error) throw error;
    const meanwhile = lose()?.(command, input);
    if (meanwhile) {
      // The service acted on the call; its answer never came back; the SDK sends the same call again.
      handle(command, input);
      meanwhile();
      calls.push({ command, input });
    }
    return { output: { $metadata: {}, ...(handle(command, input) as object) }, response: {} };
  };
  (client.middlewareStack as unknown as AnsweringStack).add(answer, {
    step: 'initialize',
    name: 'fakeService',
  });
}

/**
 * Answers every call of `client` with `respond(command, input)` instead of sending it: for services
 * whose fake needs no state (Lambda's Invoke, EventBridge's PutEvents). A command `respond` does not know
 * (undefined) fails as AWS would refuse it.
 */
export function answerCalls(
  client: { middlewareStack: unknown },
  respond: (command: string, input: Record<string, unknown>) => object | undefined,
): void {
  answering(
    client,
    (command, input) => {
      const output = respond(command, input);
      if (!output) throw awsError('UnknownOperationException', `the fake does not answer ${command}`);
      return output;
    },
    [],
    () => undefined,
  );
}

export class FakeStepFunctions {
  readonly client = new SFNClient(config);
  readonly executions = new Map<string, FakeExecution>();
  readonly calls: { command: string; input: Record<string, unknown> }[] = [];
  /** Makes a call fail (return the error) or pass (undefined). */
  fault: Fault | undefined;
  /** Makes a call's answer get lost (return what happens before the SDK sends it again). */
  loseAnswer: LoseAnswer | undefined;
  /** Most executions running at once, over the fake's life. */
  maxRunning = 0;

  constructor(private readonly clock: () => number) {
    answering(
      this.client,
      (command, input) => this.handle(command, input),
      this.calls,
      () => this.fault,
      () => this.loseAnswer,
    );
  }

  running(): FakeExecution[] {
    return [...this.executions.values()].filter((execution) => execution.status === 'RUNNING');
  }

  /** The execution started for `runId` (its input names it), the latest first. */
  ofRun(runId: string): FakeExecution[] {
    return [...this.executions.values()]
      .filter((execution) => (JSON.parse(execution.input) as { runId?: string }).runId === runId)
      .reverse();
  }

  finish(
    executionArn: string,
    status: FakeExecution['status'],
    extra: { output?: string; error?: string; cause?: string } = {},
  ): void {
    const execution = this.executions.get(executionArn);
    if (!execution) throw new Error(`no execution ${executionArn}`);
    Object.assign(execution, { status, stopDate: new Date(this.clock()), ...extra });
  }

  private handle(command: string, input: Record<string, unknown>): unknown {
    switch (command) {
      case 'StartExecution': {
        const machine = String(input.stateMachineArn);
        const name = String(input.name);
        const parts = machine.split(':');
        const executionArn = [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
        const existing = this.executions.get(executionArn);
        if (existing) {
          if (existing.input === input.input && existing.status === 'RUNNING') {
            return { executionArn, startDate: existing.startDate };
          }
          throw awsError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
        }
        const execution: FakeExecution = {
          executionArn,
          stateMachineArn: machine,
          name,
          input: String(input.input ?? '{}'),
          status: 'RUNNING',
          startDate: new Date(this.clock()),
        };
        this.executions.set(executionArn, execution);
        this.maxRunning = Math.max(this.maxRunning, this.running().length);
        return { executionArn, startDate: execution.startDate };
      }
      case 'DescribeExecution': {
        const execution = this.executions.get(String(input.executionArn));
        if (!execution)
          throw awsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${input.executionArn}'`);
        return { ...execution };
      }
      case 'StopExecution': {
        const execution = this.executions.get(String(input.executionArn));
        if (!execution) throw awsError('ExecutionDoesNotExist');
        if (execution.status === 'RUNNING') {
          Object.assign(execution, {
            status: 'ABORTED',
            stopDate: new Date(this.clock()),
            ...(input.error ? { error: String(input.error) } : {}),
            ...(input.cause ? { cause: String(input.cause) } : {}),
          });
        }
        return { stopDate: execution.stopDate };
      }
      default:
        throw awsError('UnknownOperationException', `the fake does not answer ${command}`);
    }
  }
}

export class FakeEcs {
  readonly client = new ECSClient(config);
  readonly tasks = new Map<string, FakeTask>();
  readonly calls: { command: string; input: Record<string, unknown> }[] = [];
  fault: Fault | undefined;
  maxRunning = 0;
  private next = 0;

  constructor(private readonly account = '111122223333') {
    answering(
      this.client,
      (command, input) => this.handle(command, input),
      this.calls,
      () => this.fault,
    );
  }

  /** Tasks not yet STOPPED (a task being stopped still runs its containers until then). */
  running(): FakeTask[] {
    return [...this.tasks.values()].filter((task) => task.lastStatus !== 'STOPPED');
  }

  ofRun(runId: string): FakeTask[] {
    return [...this.tasks.values()]
      .filter((task) =>
        (task.overrides.containerOverrides ?? []).some((override) =>
          (override.environment ?? []).some((e) => e.name === 'PUNCTUAL_RUN_ID' && e.value === runId),
        ),
      )
      .reverse();
  }

  /** The task stops by itself: its container exits with `exitCode`. */
  exit(taskArn: string, exitCode: number): void {
    const task = this.tasks.get(taskArn);
    if (!task) throw new Error(`no task ${taskArn}`);
    Object.assign(task, {
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
    });
    for (const container of task.containers) container.exitCode = exitCode;
  }

  /** Tasks asked to stop have stopped (their containers got SIGTERM and exited 143). */
  settle(): void {
    for (const task of this.tasks.values()) {
      if (task.desiredStatus === 'STOPPED' && task.lastStatus !== 'STOPPED') {
        task.lastStatus = 'STOPPED';
        for (const container of task.containers) container.exitCode = 143;
      }
    }
  }

  private clusterName(cluster: unknown): string {
    const text = String(cluster ?? 'default');
    return text.includes('/') ? text.slice(text.lastIndexOf('/') + 1) : text;
  }

  private handle(command: string, input: Record<string, unknown>): unknown {
    switch (command) {
      case 'RunTask': {
        const token = input.clientToken === undefined ? undefined : String(input.clientToken);
        const same = token ? [...this.tasks.values()].find((task) => task.clientToken === token) : undefined;
        if (same) return { tasks: [{ ...same }], failures: [] };
        const cluster = this.clusterName(input.cluster);
        this.next += 1;
        const id = this.next.toString(16).padStart(32, '0');
        const overrides = (input.overrides ?? {}) as FakeTask['overrides'];
        const task: FakeTask = {
          taskArn: `arn:aws:ecs:us-east-1:${this.account}:task/${cluster}/${id}`,
          clusterArn: `arn:aws:ecs:us-east-1:${this.account}:cluster/${cluster}`,
          cluster,
          ...(input.startedBy ? { startedBy: String(input.startedBy) } : {}),
          ...(token ? { clientToken: token } : {}),
          taskDefinitionArn: `arn:aws:ecs:us-east-1:${this.account}:task-definition/${input.taskDefinition}`,
          overrides,
          lastStatus: 'RUNNING',
          desiredStatus: 'RUNNING',
          containers: (overrides.containerOverrides ?? []).map((override) => ({ name: override.name ?? '' })),
        };
        this.tasks.set(task.taskArn, task);
        this.maxRunning = Math.max(this.maxRunning, this.running().length);
        return { tasks: [{ ...task }], failures: [] };
      }
      case 'ListTasks': {
        const cluster = this.clusterName(input.cluster);
        const desired = String(input.desiredStatus ?? 'RUNNING');
        const taskArns = [...this.tasks.values()]
          .filter(
            (task) =>
              task.cluster === cluster &&
              task.desiredStatus === desired &&
              (input.startedBy === undefined || task.startedBy === input.startedBy),
          )
          .map((task) => task.taskArn);
        return { taskArns };
      }
      case 'DescribeTasks': {
        const wanted = (input.tasks as string[] | undefined) ?? [];
        const tasks = wanted.map((arn) => this.tasks.get(arn)).filter((task) => task !== undefined);
        const failures = wanted
          .filter((arn) => !this.tasks.has(arn))
          .map((arn) => ({ arn, reason: 'MISSING' }));
        return { tasks: tasks.map((task) => structuredClone(task)), failures };
      }
      case 'StopTask': {
        const task = this.tasks.get(String(input.task));
        if (!task) throw awsError('InvalidParameterException', 'The referenced task was not found.');
        if (task.desiredStatus !== 'STOPPED') {
          task.desiredStatus = 'STOPPED';
          task.lastStatus = task.lastStatus === 'STOPPED' ? 'STOPPED' : 'DEACTIVATING';
          task.stopCode = 'UserInitiated';
          task.stoppedReason = String(input.reason ?? 'Task stopped by user');
        }
        return { task: structuredClone(task) };
      }
      default:
        throw awsError('UnknownOperationException', `the fake does not answer ${command}`);
    }
  }
}
