/**
 * `AsyncTargets`: what a Scheduler needs for `stepfunctions` and `ecs` targets. Both only start work
 * elsewhere, so a run of them ends when AWS says the execution or task ended:
 *
 *   EventBridge rules on the default bus (where AWS services send their events) for "Step Functions
 *   Execution Status Change" and "ECS Task State Change" → the events function (functions/aws-events.ts)
 *   → reportCompletion on the run record.
 *
 * The rules match the state machines and clusters named here AND punctual's own executions and tasks
 * (execution name / `startedBy` beginning with `punctual-`): the resource filter keeps every other state
 * machine and cluster of the account from invoking the function at all (no cost, no noise); the prefix
 * keeps out the executions and tasks that others start on the same resources. Filtering on the prefix
 * alone would invoke the function for every `punctual-…` execution in the account; filtering on the
 * resources alone would invoke it for every task of a shared cluster. Events are best effort, so the
 * tick's sweep also asks AWS (DescribeExecution, ListTasks/DescribeTasks) before it declares such an
 * attempt lost: this construct grants the tick (and its shard groups' worker) exactly that.
 *
 * Grants are least privilege: the executors may start executions of the named state machines (and
 * describe executions named punctual-…, to tell whether a name found taken is their attempt's) and run
 * the named task definitions on the named clusters (and pass those task definitions' roles to ECS,
 * nothing else); the tick may read and stop executions named punctual-… (their names are made at run
 * time) and list, describe and stop the tasks of those clusters (a timed-out attempt is stopped before
 * its retry), and so may the executors (overlap replace: the slot that replaces a running run stops it).
 */
import { ArnFormat, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ENV } from '../functions/commons/config.js';
import { formatViolation } from '../shared/errors.js';
import { TABLE_KEYS } from '../shared/store/table.js';
import type { EcsTaskAccess } from '../shared/targets/access.js';
import { ECS_DETAIL_TYPE, ECS_SOURCE, SFN_DETAIL_TYPE, SFN_SOURCE } from '../shared/targets/aws-events.js';
import { type EcsNetworkPolicy, ecsNetworkViolations } from '../shared/targets/ecs-network.js';
import { EXECUTION_PREFIX, STARTED_BY_PREFIX } from '../shared/targets/names.js';
import {
  checkDeclaredJobsAccess,
  type KnownAccessList,
  type KnownEntry,
  knownEntry,
} from './declared-access.js';
import { PunctualFunction, prebuiltCode } from './functions.js';
import { acknowledgeKeyGrant } from './nag.js';
import type { Scheduler } from './scheduler.js';

/** A task definition jobs may run, on a cluster. */
export interface AsyncEcsTask {
  /** The cluster the jobs name (`target.cluster`). */
  readonly cluster: ecs.ICluster;
  /** The task definition the jobs name (`target.taskDefinition`: this revision's ARN, or its family). */
  readonly taskDefinition: ecs.ITaskDefinition;
}

/** The subnets and security groups `ecs` targets may use (AsyncTargetsProps.ecsNetwork). */
export interface AsyncEcsNetwork {
  readonly subnets: ec2.ISubnet[];
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** Let a job set `assignPublicIp: true`. @default false */
  readonly allowPublicIp?: boolean;
}

/**
 * One application's state machines and ECS tasks (docs/security.md, "Least privilege per application"):
 * the jobs whose id starts with `jobIdPrefix`, one of the Scheduler's `applications`, may start these and
 * no other.
 *
 * @example { jobIdPrefix: 'billing-', stateMachines: [invoiceMachine], ecsTasks: [{ cluster, taskDefinition: exportTask }] }
 */
export interface AsyncTargetsApplication {
  /** The prefix of one of the Scheduler's `applications`. */
  readonly jobIdPrefix: string;
  /** State machines this application's `stepfunctions` targets may start. @default - none */
  readonly stateMachines?: sfn.IStateMachine[];
  /** Task definitions this application's `ecs` targets may run, with their clusters. @default - none */
  readonly ecsTasks?: AsyncEcsTask[];
}

/** @example new AsyncTargets(stack, 'AsyncTargets', { scheduler, stateMachines: [machine], ecsTasks: [{ cluster, taskDefinition }] }); */
export interface AsyncTargetsProps {
  /** The Scheduler whose runs these targets complete. */
  readonly scheduler: Scheduler;
  /**
   * Standard state machines `stepfunctions` targets may start (Express workflows send no events). When the
   * Scheduler declares `applications`, these are for the jobs of no application; an application's jobs
   * may start only those of its entry in `applications` below.
   */
  readonly stateMachines?: sfn.IStateMachine[];
  /** Task definitions `ecs` targets may run, with their clusters (for the jobs of no application, as above). */
  readonly ecsTasks?: AsyncEcsTask[];
  /**
   * Per-application state machines and tasks, for the Scheduler's `applications`: a job whose id starts
   * with an application's prefix may start only its entry's (none without an entry), checked by the
   * client at put, at synth for declared jobs and by the executor before StartExecution/RunTask (a final
   * failure). The executors' role holds the union.
   * @default - none: an application's jobs start no state machine and no task
   */
  readonly applications?: AsyncTargetsApplication[];
  /**
   * Where `ecs` targets may place their tasks: a job's `network` may name only these subnets and security
   * groups (and must name one of these groups when any is declared), and `assignPublicIp: true` only with
   * `allowPublicIp`. Checked at synth for declared jobs and by the executors before RunTask. Without it a
   * job may name no network at all (a task definition that needs one, e.g. on Fargate, then fails).
   *
   * @example ecsNetwork: { subnets: vpc.privateSubnets, securityGroups: [tasksSg] }
   */
  readonly ecsNetwork?: AsyncEcsNetwork;
  /** Log level of the events function. @default INFO */
  readonly logLevel?: lambda.ApplicationLogLevel;
  /** @default ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

const DYNAMO_READ_WRITE = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'];
const END_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

/** Grants the tick's sweep needs that name every execution and task of punctual's (see the class doc). */
export const ASYNC_TARGETS_WILDCARD_REASON =
  'Execution names and task ids are made at run time, so they cannot be listed: the tick and the executors may ' +
  'describe and stop only executions whose names begin with punctual-, and list, ' +
  'describe and stop tasks under an ecs:cluster condition naming the clusters of the jobs (ListTasks has no ' +
  'resource type).';

/**
 * The declared jobs' ecs `network` against the declared subnets and groups, at synth. A list holding an
 * unresolved id (a subnet of this stack: its id is known at deploy) is left to the executor's check.
 */
function checkDeclaredJobsNetwork(id: string, scheduler: Scheduler, declared: EcsNetworkPolicy): void {
  const resolved = (ids: readonly string[]) => !ids.some((value) => Token.isUnresolved(value));
  const problems = scheduler.jobs.flatMap((job, index) =>
    ecsNetworkViolations(job.target, declared)
      .filter((v) =>
        v.path.startsWith('target.network.subnets')
          ? resolved(declared.subnets)
          : v.path.startsWith('target.network.securityGroups')
            ? resolved(declared.securityGroups)
            : true,
      )
      .map((v) => `jobs[${index}] (${job.id}): ${formatViolation(v)}`),
  );
  if (problems.length)
    throw new Error(
      `AsyncTargets "${id}": ecsNetwork does not allow what declared jobs name:\n  ${problems.join('\n  ')}`,
    );
}

function ack(construct: Construct, id: string, reason: string): void {
  Validations.of(construct).acknowledge({ id, reason });
}

/**
 * Adds the stepfunctions and ecs targets' completion path and grants to a Scheduler.
 *
 * @example
 * const scheduler = new Scheduler(stack, 'Scheduler', { jobs });
 * new AsyncTargets(stack, 'AsyncTargets', {
 *   scheduler,
 *   stateMachines: [reportMachine],
 *   ecsTasks: [{ cluster, taskDefinition: exportTask }],
 * });
 */
export class AsyncTargets extends Construct {
  /** The function the rules invoke. */
  readonly eventsFunction: lambda.Function;
  /** Events the function could not apply after its retries (with an alarm on the Scheduler's topic). */
  readonly dlq: sqs.Queue;
  readonly stateMachineRule?: events.Rule;
  readonly ecsRule?: events.Rule;
  /** What the tick's sweep may ask AWS (DescribeExecution, ListTasks, DescribeTasks) and stop (StopExecution, StopTask), on the tick's and the tick worker's roles. */
  readonly tickPolicy: iam.Policy;
  /**
   * On every executor's role: DescribeExecution and StopExecution of punctual's executions (state
   * machines), ListTasks, DescribeTasks and StopTask on the jobs' clusters (ecs tasks): an executor stops
   * the run a later slot replaces (overlap replace).
   */
  readonly executorPolicy?: iam.Policy;

  constructor(scope: Construct, id: string, props: AsyncTargetsProps) {
    super(scope, id);
    const { scheduler } = props;
    const apps = props.applications ?? [];
    // Grants and rules cover the union; the executors keep each application to its own (shared/targets/access.ts).
    const machines = [
      ...new Set([...(props.stateMachines ?? []), ...apps.flatMap((app) => app.stateMachines ?? [])]),
    ];
    const tasks = [...new Set([...(props.ecsTasks ?? []), ...apps.flatMap((app) => app.ecsTasks ?? [])])];
    if (machines.length === 0 && tasks.length === 0) {
      throw new Error(
        `AsyncTargets "${id}" props: stateMachines and ecsTasks are both empty: name what the jobs start`,
      );
    }
    const stack = Stack.of(this);
    this.governAccess(id, props);

    // ── the events function ───────────────────────────────────────────────────────────────────────
    this.dlq = new sqs.Queue(this, 'Dlq', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    const routing = stack.toJsonString(
      Object.fromEntries(
        Object.values(scheduler.pools).map((pool) => [
          pool.name,
          { queueUrl: pool.queue.queueUrl, dlqUrl: pool.dlq.queueUrl },
        ]),
      ),
    );
    const fn = new PunctualFunction(this, 'Events', {
      code: prebuiltCode('aws-events', props.scheduler.sourceMaps),
      description: 'punctual: ends stepfunctions/ecs runs from their AWS state change events',
      timeout: Duration.seconds(30),
      memorySize: 256,
      environment: {
        [ENV.table]: scheduler.table.tableName,
        [ENV.shards]: String(scheduler.config.shards),
        [ENV.retentionDays]: String(scheduler.config.retentionDays),
        [ENV.pools]: routing,
        [ENV.bus]: scheduler.eventBus.eventBusName,
      },
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      logLevel: props.logLevel ?? lambda.ApplicationLogLevel.INFO,
      sourceMaps: props.scheduler.sourceMaps,
    });
    this.eventsFunction = fn.function;
    // A report writes the run (and the job when the run ends), retries go to the pool's queue and a final
    // failure to its DLQ (shared/runs/lifecycle.ts), and the run's end is an event on the bus.
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: DYNAMO_READ_WRITE,
        resources: [
          scheduler.table.tableArn,
          ...TABLE_KEYS.indexes.map((index) => `${scheduler.table.tableArn}/index/${index.name}`),
        ],
      }),
    );
    if (scheduler.table.encryptionKey) {
      scheduler.table.encryptionKey.grantEncryptDecrypt(fn.role);
      acknowledgeKeyGrant(fn.role);
    }
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: Object.values(scheduler.pools).flatMap((pool) => [pool.queue.queueArn, pool.dlq.queueArn]),
      }),
    );
    scheduler.eventBus.grantPutEventsTo(fn.role);
    // EventBridge invokes asynchronously: Lambda retries twice, then the event goes to the DLQ.
    fn.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(this.dlq),
    });
    const target = new eventTargets.LambdaFunction(fn.function, {
      retryAttempts: 8,
      maxEventAge: Duration.hours(6),
      deadLetterQueue: this.dlq,
    });

    const tickStatements: iam.PolicyStatement[] = [];
    const executorStatements: iam.PolicyStatement[] = [];

    // ── Step Functions ────────────────────────────────────────────────────────────────────────────
    if (machines.length > 0) {
      const machineArns = machines.map((machine) => machine.stateMachineArn);
      this.stateMachineRule = new events.Rule(this, 'ExecutionStatusRule', {
        description: 'punctual: ends stepfunctions runs when their execution ends',
        eventPattern: {
          source: [SFN_SOURCE],
          detailType: [SFN_DETAIL_TYPE],
          detail: {
            stateMachineArn: machineArns,
            name: events.Match.prefix(EXECUTION_PREFIX),
            status: END_STATUSES,
          },
        },
      });
      this.stateMachineRule.addTarget(target);
      for (const pool of Object.values(scheduler.pools)) {
        pool.executor.addToRolePolicy(
          new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: machineArns }),
        );
      }
      // Executions are named at run time (shared/targets/names.ts): the executors may describe one whose
      // name their StartExecution found taken (is it this attempt's?); the tick may describe them, and stop
      // one that ran past maxRunDuration, named punctual-… only.
      const punctualExecutions = stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `*:${EXECUTION_PREFIX}*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      // An executor also stops the execution of a run that a later slot replaces (overlap replace).
      executorStatements.push(
        new iam.PolicyStatement({
          actions: ['states:DescribeExecution', 'states:StopExecution'],
          resources: [punctualExecutions],
        }),
      );
      tickStatements.push(
        new iam.PolicyStatement({
          actions: ['states:DescribeExecution', 'states:StopExecution'],
          resources: [punctualExecutions],
        }),
      );
    }

    // ── ECS ───────────────────────────────────────────────────────────────────────────────────────
    if (tasks.length > 0) {
      const clusterArns = [...new Set(tasks.map((task) => task.cluster.clusterArn))];
      this.ecsRule = new events.Rule(this, 'TaskStateRule', {
        description: 'punctual: ends ecs runs when their task stops',
        eventPattern: {
          source: [ECS_SOURCE],
          detailType: [ECS_DETAIL_TYPE],
          detail: {
            clusterArn: clusterArns,
            lastStatus: ['STOPPED'],
            startedBy: events.Match.prefix(STARTED_BY_PREFIX),
          },
        },
      });
      this.ecsRule.addTarget(target);
      const network = props.ecsNetwork;
      const declared: EcsNetworkPolicy = {
        subnets: (network?.subnets ?? []).map((subnet) => subnet.subnetId),
        securityGroups: (network?.securityGroups ?? []).map((group) => group.securityGroupId),
        allowPublicIp: network?.allowPublicIp ?? false,
      };
      checkDeclaredJobsNetwork(id, scheduler, declared);
      // The client checks a put's ecs network against the same declaration (the stack's EcsNetwork output).
      if (scheduler.ecsNetworkOutput) scheduler.ecsNetworkOutput.value = stack.toJsonString(declared);
      for (const pool of Object.values(scheduler.pools)) {
        pool.executor.addEnvironment(ENV.ecsNetwork, stack.toJsonString(declared));
        for (const task of tasks) {
          pool.executor.addToRolePolicy(
            new iam.PolicyStatement({
              actions: ['ecs:RunTask'],
              resources: [task.taskDefinition.taskDefinitionArn],
              conditions: { ArnEquals: { 'ecs:cluster': task.cluster.clusterArn } },
            }),
          );
        }
        // RunTask hands the task's roles to ECS: only these roles, and only to ECS tasks.
        const roles = tasks.flatMap((task) => [
          task.taskDefinition.taskRole.roleArn,
          ...(task.taskDefinition.executionRole ? [task.taskDefinition.executionRole.roleArn] : []),
        ]);
        pool.executor.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['iam:PassRole'],
            resources: [...new Set(roles)],
            conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
          }),
        );
      }
      // The sweep's fallback: ListTasks (by startedBy) and DescribeTasks, and StopTask of a task that ran
      // past maxRunDuration, on these clusters only.
      // The executors the same, to stop the task of a run that a later slot replaces (overlap replace).
      const onTheseClusters = { ArnEquals: { 'ecs:cluster': clusterArns } };
      const findAndStop = () => [
        new iam.PolicyStatement({
          actions: ['ecs:ListTasks'],
          resources: ['*'],
          conditions: onTheseClusters,
        }),
        new iam.PolicyStatement({
          actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
          resources: [stack.formatArn({ service: 'ecs', resource: 'task', resourceName: '*' })],
          conditions: onTheseClusters,
        }),
      ];
      tickStatements.push(...findAndStop());
      executorStatements.push(...findAndStop());
    }

    // The tick's look at AWS, in a policy of this construct attached to the roles of every function that
    // sweeps: the tick and, with tickGroups > 1, the worker that sweeps groups 1…n−1.
    const tickRoles = [scheduler.tickFunction, scheduler.tickWorkerFunction].flatMap((f) =>
      f ? [f.role] : [],
    );
    if (tickRoles.some((role) => !role))
      throw new Error(`AsyncTargets "${id}": the Scheduler's tick function has no role`);
    this.tickPolicy = new iam.Policy(this, 'TickPolicy', {
      statements: tickStatements,
      roles: tickRoles as iam.IRole[],
    });
    if (executorStatements.length > 0) {
      this.executorPolicy = new iam.Policy(this, 'ExecutorPolicy', {
        statements: executorStatements,
        roles: Object.values(scheduler.pools).map((pool) => pool.executor.role as iam.IRole),
      });
      for (const resource of [
        `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:*:${EXECUTION_PREFIX}*`,
        '*',
        'arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/*',
      ]) {
        ack(this.executorPolicy, `AwsSolutions-IAM5[Resource::${resource}]`, ASYNC_TARGETS_WILDCARD_REASON);
      }
    }

    // ── silence is impossible: an event that could not be applied raises the Scheduler's alarm ───
    const alarm = new cloudwatch.Alarm(this, 'DlqAlarm', {
      alarmDescription:
        'punctual: a stepfunctions/ecs state change event could not be applied (see the AsyncTargets DLQ); the sweep will still settle the run from DescribeExecution/DescribeTasks',
      metric: this.dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(scheduler.alarmTopic));

    this.acknowledge(fn);
    for (const resource of [
      'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:*:punctual-*',
      '*',
      'arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/*',
    ]) {
      ack(this.tickPolicy, `AwsSolutions-IAM5[Resource::${resource}]`, ASYNC_TARGETS_WILDCARD_REASON);
    }
  }

  /**
   * Adds the state machines and tasks to the Scheduler's per-application target access (when it declares
   * applications): the executors' and the client's `stateMachines` / `ecsTasks` lists, and checks the
   * declared stepfunctions and ecs jobs against them.
   */
  private governAccess(id: string, props: AsyncTargetsProps): void {
    const { scheduler } = props;
    const apps = props.applications ?? [];
    const policy = scheduler.targetAccessPolicy;
    const known = scheduler.knownTargetAccess;
    if (!policy || !known) {
      if (apps.length > 0)
        throw new Error(
          `AsyncTargets "${id}" props: applications: the Scheduler declares no applications; declare each ` +
            "jobIdPrefix in the Scheduler's applications first",
        );
      return;
    }
    const prefixes = policy.applications.map((app) => app.jobIdPrefix);
    apps.forEach((app, index) => {
      if (!prefixes.includes(app.jobIdPrefix))
        throw new Error(
          `AsyncTargets "${id}" props: applications[${index}].jobIdPrefix ${JSON.stringify(app.jobIdPrefix)}: ` +
            `is not one of the Scheduler's applications (${prefixes.map((p) => JSON.stringify(p)).join(', ')})`,
        );
      if (apps.findIndex((other) => other.jobIdPrefix === app.jobIdPrefix) !== index)
        throw new Error(
          `AsyncTargets "${id}" props: applications[${index}].jobIdPrefix ${JSON.stringify(app.jobIdPrefix)}: is given twice`,
        );
    });
    const arns = (entry: { stateMachines?: sfn.IStateMachine[]; ecsTasks?: AsyncEcsTask[] }) => ({
      stateMachines: (entry.stateMachines ?? []).map((machine) => machine.stateMachineArn),
      ecsTasks: (entry.ecsTasks ?? []).map((task) => ({
        cluster: task.cluster.clusterArn,
        taskDefinition: task.taskDefinition.taskDefinitionArn,
      })),
    });
    const knownOf = (
      entry: { stateMachines?: sfn.IStateMachine[]; ecsTasks?: AsyncEcsTask[] },
      path: string,
    ): Pick<KnownAccessList, 'stateMachines' | 'ecsTasks'> => ({
      stateMachines: (entry.stateMachines ?? []).map((machine, i) =>
        knownEntry(
          machine,
          [machine.stateMachineArn],
          'stateMachineName',
          `${path}.stateMachines[${i}] (${machine.node.path})`,
          this,
        ),
      ),
      ecsTasks: (entry.ecsTasks ?? []).map((task, i): KnownEntry<EcsTaskAccess> => {
        const where = `${path}.ecsTasks[${i}]`;
        const cluster = knownEntry(
          task.cluster,
          [task.cluster.clusterArn, task.cluster.clusterName],
          'clusterName',
          `${where}.cluster (${task.cluster.node.path})`,
          this,
        );
        const family = (task.taskDefinition as { family?: string }).family;
        const taskDefinition = knownEntry(
          task.taskDefinition,
          [task.taskDefinition.taskDefinitionArn, family],
          'family',
          `${where}.taskDefinition (${task.taskDefinition.node.path})`,
          this,
        );
        if ('unknown' in cluster) return cluster;
        if ('unknown' in taskDefinition) return taskDefinition;
        return { known: { cluster: cluster.known, taskDefinition: taskDefinition.known } };
      }),
    });
    // The lists are the Scheduler's one policy: a second AsyncTargets would replace the first one's
    // (its grants would stay on the role while the executor refused its machines and tasks).
    if (policy.shared.stateMachines !== undefined)
      throw new Error(
        `AsyncTargets "${id}": the Scheduler declares applications and another AsyncTargets already gave ` +
          'their stepfunctions and ecs targets; declare every state machine and task in one AsyncTargets',
      );
    const none = { stateMachines: [], ecsTasks: [] };
    Object.assign(policy.shared, arns(props));
    Object.assign(known.shared, knownOf(props, 'AsyncTargets.props'));
    policy.applications.forEach((app, i) => {
      const index = apps.findIndex((entry) => entry.jobIdPrefix === app.jobIdPrefix);
      const entry = apps[index];
      Object.assign(app.access, entry ? arns(entry) : none);
      const knownApp = known.applications[i];
      if (knownApp)
        Object.assign(knownApp.access, entry ? knownOf(entry, `AsyncTargets.applications[${index}]`) : none);
    });
    checkDeclaredJobsAccess(`AsyncTargets "${id}"`, this, scheduler.jobs, known, ['stepfunctions', 'ecs']);
  }

  private acknowledge(fn: PunctualFunction): void {
    const runtime =
      'Pinned to nodejs22.x like every punctual function: the runtime the bundles are built and tested for.';
    ack(fn, 'AwsSolutions-L1', runtime);
    ack(fn, 'Serverless-LambdaLatestVersion', runtime);
    ack(
      fn,
      'Serverless-LambdaTracing',
      'Not traced, like the other punctual functions: runs are recorded in DynamoDB with their attempts.',
    );
    ack(
      fn,
      'Serverless-LambdaDLQ',
      "Invoked asynchronously by EventBridge: failed invocations go to this construct's DLQ through an on-failure " +
        'destination, which keeps the error context a DeadLetterConfig drops; both would deliver failures twice.',
    );
    ack(
      this.dlq,
      'AwsSolutions-SQS3',
      "This queue is a DLQ (the rules' target DLQ and the function's on-failure destination); cdk-nag only " +
        'recognizes DLQs named in a redrive policy.',
    );
    ack(
      this.dlq,
      'Serverless-SQSRedrivePolicy',
      'This queue is a dead-letter queue; it has an alarm and keeps messages 14 days.',
    );
  }
}
