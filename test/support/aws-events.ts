/**
 * EventBridge events shaped like AWS's own, built around a run's execution or task. The shapes follow the
 * examples in AWS's documentation:
 *   Step Functions: https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
 *   ECS:            https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
 * (fields punctual does not read are kept, so the mapping is tested against the whole shape).
 */
import { ECS_ENV } from '../../shared/targets/ecs.js';
import {
  executionArn,
  legacyStartedBy,
  STACK_TAG_CHARS,
  startedByFor,
  tokenHash,
} from '../../shared/targets/names.js';

/** The stack tag of the tasks these events describe (the events function checks the token, not the tag). */
const EVENT_STACK = 'e'.repeat(STACK_TAG_CHARS);

export const ACCOUNT = '111122223333';
export const STATE_MACHINE = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:nightly`;
export const CLUSTER_ARN = `arn:aws:ecs:us-west-2:${ACCOUNT}:cluster/FargateCluster`;
export const TASK_ARN = `arn:aws:ecs:us-west-2:${ACCOUNT}:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad`;

export type SfnStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** A "Step Functions Execution Status Change" event for the execution `name` started with `input`. */
export function sfnEvent(
  name: string,
  input: string,
  status: SfnStatus,
  extra: { output?: string; error?: string; cause?: string; inputIncluded?: boolean } = {},
) {
  const arn = executionArn(STATE_MACHINE, name);
  const included = extra.inputIncluded ?? true;
  return {
    version: '0',
    id: '315c1398-40ff-a850-213b-158f73e60175',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: ACCOUNT,
    time: '2019-02-26T19:42:21Z',
    region: 'us-east-1',
    resources: [arn],
    detail: {
      executionArn: arn,
      stateMachineArn: STATE_MACHINE,
      name,
      status,
      startDate: 1551225271984,
      stopDate: status === 'RUNNING' ? null : 1551225274301,
      input: included ? input : null,
      output: extra.output ?? null,
      inputDetails: { included },
      outputDetails: status === 'SUCCEEDED' ? { included: extra.output !== undefined } : null,
      ...(extra.error === undefined ? {} : { error: extra.error }),
      ...(extra.cause === undefined ? {} : { cause: extra.cause }),
    },
  };
}

export interface TaskRun {
  runId: string;
  attempt: number;
  token?: string;
  container?: string;
}

/** An "ECS Task State Change" event of the task punctual started for `run`. */
export function ecsEvent(
  run: TaskRun,
  lastStatus: 'PROVISIONING' | 'RUNNING' | 'STOPPED',
  stop: { exitCode?: number | null; stopCode?: string; stoppedReason?: string; reason?: string } = {},
) {
  const container = run.container ?? 'FargateApp';
  const stopped = lastStatus === 'STOPPED';
  const environment = [
    { name: ECS_ENV.context, value: JSON.stringify({ runId: run.runId, attempt: run.attempt }) },
    { name: ECS_ENV.runId, value: run.runId },
    { name: ECS_ENV.attempt, value: String(run.attempt) },
    ...(run.token ? [{ name: ECS_ENV.token, value: run.token }] : []),
  ];
  return {
    version: '0',
    id: '3317b2af-7005-947d-b652-f55e762e571a',
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account: ACCOUNT,
    time: '2020-01-23T17:57:58Z',
    region: 'us-west-2',
    resources: [TASK_ARN],
    detail: {
      attachments: [
        {
          id: '1789bcae-ddfb-4d10-8ebe-8ac87ddba5b8',
          type: 'eni',
          status: stopped ? 'DELETED' : 'ATTACHED',
          details: [{ name: 'subnetId', value: 'subnet-abcd1234' }],
        },
      ],
      availabilityZone: 'us-west-2c',
      clusterArn: CLUSTER_ARN,
      containers: [
        {
          containerArn: `arn:aws:ecs:us-west-2:${ACCOUNT}:container/cf159fd6-3e3f-4a9e-84f9-66cbe726af01`,
          lastStatus: lastStatus === 'PROVISIONING' ? 'PENDING' : lastStatus,
          name: container,
          image: `${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/hello-repository:latest`,
          taskArn: TASK_ARN,
          cpu: '0',
          ...(stopped && stop.exitCode !== undefined ? { exitCode: stop.exitCode } : {}),
          ...(stop.reason ? { reason: stop.reason } : {}),
        },
        {
          containerArn: `arn:aws:ecs:us-west-2:${ACCOUNT}:container/0b1a4979-3846-4e3e-846f-b63a9ad545b0`,
          lastStatus,
          name: 'log-router',
          taskArn: TASK_ARN,
          cpu: '0',
          // A sidecar stopped with the task exits 143 (SIGTERM): it does not decide the run.
          ...(stopped ? { exitCode: 143 } : {}),
        },
      ],
      createdAt: '2020-01-23T17:57:34.402Z',
      launchType: 'FARGATE',
      cpu: '256',
      memory: '512',
      desiredStatus: stopped ? 'STOPPED' : 'RUNNING',
      group: 'family:sample-fargate',
      lastStatus,
      overrides: { containerOverrides: [{ name: container, environment }, { name: 'log-router' }] },
      connectivity: 'CONNECTED',
      connectivityAt: '2020-01-23T17:57:38.453Z',
      pullStartedAt: '2020-01-23T17:57:52.103Z',
      startedAt: '2020-01-23T17:57:58.103Z',
      startedBy: run.token
        ? startedByFor(EVENT_STACK, tokenHash(run.token))
        : legacyStartedBy(run.runId, run.attempt),
      pullStoppedAt: '2020-01-23T17:57:55.103Z',
      updatedAt: '2020-01-23T17:59:02.103Z',
      taskArn: TASK_ARN,
      taskDefinitionArn: `arn:aws:ecs:us-west-2:${ACCOUNT}:task-definition/sample-fargate:1`,
      version: stopped ? 6 : 4,
      platformVersion: '1.4.0',
      ...(stopped
        ? {
            stopCode: stop.stopCode ?? 'EssentialContainerExited',
            stoppedReason: stop.stoppedReason ?? 'Essential container in task exited',
            stoppingAt: '2020-01-23T17:59:00.103Z',
            stoppedAt: '2020-01-23T17:59:02.103Z',
            executionStoppedAt: '2020-01-23T17:59:00.000Z',
          }
        : {}),
    },
  };
}
