/**
 * The cdk-nag findings (AwsSolutions and Serverless packs) the Scheduler acknowledges, each on the
 * narrowest construct it applies to and with the reason it does not apply. cdk-nag 3 reads these
 * through CDK's `Validations.of(construct).acknowledge()` (its `NagSuppressions` is gone), walking up
 * from the flagged resource, so a finding on a resource inside a function is covered by acknowledging
 * the function's construct.
 *
 * Everything else is fixed rather than acknowledged: SSE and SSL-only on every queue and the topic,
 * a redrive DLQ on every pool queue, PITR and encryption on the table, explicit memory, timeout and
 * log retention on every function, no AWS managed policy and no wildcard resource on our roles.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

export interface NagSubjects {
  /** The tick's construct (function, role, log group). */
  readonly tick: IConstruct;
  /** The shard groups' tick worker, when the tick fans out. */
  readonly tickWorker?: IConstruct;
  /** Each executor's construct (function, role, log group, event source mapping). */
  readonly executors: readonly IConstruct[];
  /** The declared-jobs handler's construct, when there are declared jobs. */
  readonly deployJobs?: IConstruct;
  /** The Provider framework, when there are declared jobs, and the handler it invokes. */
  readonly provider?: { readonly construct: IConstruct; readonly onEventHandler: lambda.IFunction };
  /** DLQs that are DLQs without a redrive policy pointing at them (the tick's). */
  readonly tickDlq: IConstruct;
  /** The pools' redrive DLQs. */
  readonly poolDlqs: readonly IConstruct[];
  /** The completions queue's function and its redrive DLQ. */
  readonly completions?: { readonly consumer: IConstruct; readonly dlq: IConstruct };
  /** Roles given `grantEncryptDecrypt` on a customer managed key (table key, target queue keys). */
  readonly kmsRoles: readonly IConstruct[];
  /** The alarm topic's e-mail subscriptions. */
  readonly emailSubscriptions: readonly IConstruct[];
}

function ack(construct: IConstruct, id: string, reason: string): void {
  Validations.of(construct).acknowledge({ id, reason });
}

const RUNTIME_REASON =
  'Pinned to nodejs22.x: the runtime the functions are bundled for (esbuild target node22) and tested on. ' +
  'A newer runtime is adopted deliberately, once the test suite runs on it, not by a linter.';
const TRACING_REASON =
  'Not traced with X-Ray on purpose: every run is recorded in DynamoDB with its attempts, and the functions ' +
  'emit JSON logs, EMF metrics and lifecycle events; they do not use the X-Ray SDK, so active tracing would ' +
  'add cost without spans worth reading. Enable it with an Aspect if you need it.';

/**
 * The wildcard action families of `grantEncryptDecrypt` on a customer managed key, acknowledged on the role
 * given it: the Scheduler's functions, AsyncTargets' events function, a `grantManageJobs` grantee.
 */
export function acknowledgeKeyGrant(role: IConstruct): void {
  const reason =
    'kms:GenerateDataKey* and kms:ReEncrypt* are the action families a caller needs on a customer managed key ' +
    'to read and write data encrypted with it (CDK grantEncryptDecrypt); the resource is that one key.';
  ack(role, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason);
  ack(role, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason);
}

export function acknowledgeFindings(subjects: NagSubjects): void {
  const ticks = [subjects.tick, ...(subjects.tickWorker ? [subjects.tickWorker] : [])];
  for (const fn of [
    ...ticks,
    ...subjects.executors,
    ...(subjects.deployJobs ? [subjects.deployJobs] : []),
    ...(subjects.completions ? [subjects.completions.consumer] : []),
  ]) {
    ack(fn, 'AwsSolutions-L1', RUNTIME_REASON);
    ack(fn, 'Serverless-LambdaLatestVersion', RUNTIME_REASON);
    ack(fn, 'Serverless-LambdaTracing', TRACING_REASON);
  }

  for (const fn of ticks) {
    ack(
      fn,
      'Serverless-LambdaDLQ',
      'The tick (and its shard-group worker) is invoked asynchronously, by EventBridge (and by the tick); its ' +
        'failed invocations go to the tick DLQ through an on-failure destination (EventInvokeConfig), which ' +
        'keeps the error context a DeadLetterConfig drops. Configuring both would deliver every failure twice.',
    );
  }
  for (const executor of subjects.executors) {
    ack(
      executor,
      'Serverless-LambdaDLQ',
      'The executor is invoked synchronously by its SQS event source mapping; a function DLQ applies only to ' +
        "asynchronous invocations. Messages that keep failing go to the pool queue's redrive DLQ (maxReceiveCount 5).",
    );
    ack(
      executor,
      'Serverless-LambdaEventSourceMappingDestination',
      'SQS event source mappings take no on-failure destination (that is for stream and Kafka sources); the ' +
        "pool queue's redrive policy sends messages that keep failing to its DLQ, which has an alarm.",
    );
  }
  if (subjects.completions) {
    ack(
      subjects.completions.consumer,
      'Serverless-LambdaDLQ',
      "Invoked synchronously by the completions queue's event source mapping; a function DLQ applies only to " +
        "asynchronous invocations. A report that keeps failing goes to the completions queue's redrive DLQ.",
    );
    ack(
      subjects.completions.consumer,
      'Serverless-LambdaEventSourceMappingDestination',
      "SQS event source mappings take no on-failure destination; the completions queue's redrive policy sends " +
        'reports that keep failing to its DLQ.',
    );
  }
  if (subjects.deployJobs) {
    ack(
      subjects.deployJobs,
      'Serverless-LambdaDLQ',
      'Invoked synchronously by the custom resource Provider framework; a failure is reported to ' +
        'CloudFormation, which fails and rolls back the deployment. There is no asynchronous event to keep.',
    );
  }

  if (subjects.provider) {
    const { construct, onEventHandler } = subjects.provider;
    const handler = onEventHandler.node.defaultChild as { logicalId: string } | undefined;
    const logicalId = handler ? Stack.of(construct).resolve(handler.logicalId) : undefined;
    ack(
      construct,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "The role of the CDK Provider framework's relay function (CDK-managed), which only writes its own logs " +
        'and invokes the deploy-jobs handler; our own functions use roles without managed policies.',
    );
    if (logicalId) {
      ack(
        construct,
        `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        'Granted by the CDK Provider framework: lambda:InvokeFunction on the versions and aliases of the one ' +
          'deploy-jobs function (`<arn>:*`), not on any other function.',
      );
    }
    ack(
      construct,
      'Serverless-LambdaDLQ',
      "The Provider framework's relay function is invoked by CloudFormation, which handles its failures (the deployment fails and rolls back).",
    );
    ack(
      construct,
      'Serverless-LambdaDefaultMemorySize',
      "The Provider framework's relay function is CDK-managed; its default memory is enough to relay one request.",
    );
    ack(construct, 'Serverless-LambdaTracing', TRACING_REASON);
  }

  ack(
    subjects.tickDlq,
    'AwsSolutions-SQS3',
    "This queue is a DLQ: the tick rule's target DLQ and the tick functions' on-failure destination. cdk-nag " +
      'only recognizes DLQs named in a redrive policy.',
  );
  for (const dlq of [
    subjects.tickDlq,
    ...subjects.poolDlqs,
    ...(subjects.completions ? [subjects.completions.dlq] : []),
  ]) {
    ack(
      dlq,
      'Serverless-SQSRedrivePolicy',
      'This queue is a dead-letter queue; a DLQ of a DLQ would only move the problem. It has an alarm and keeps messages 14 days.',
    );
  }

  for (const role of subjects.kmsRoles) acknowledgeKeyGrant(role);
  for (const subscription of subjects.emailSubscriptions) {
    ack(
      subscription,
      'Serverless-SNSRedrivePolicy',
      'An e-mail subscription to the alarm topic: an undeliverable alarm e-mail has nothing to redrive, and the ' +
        'alarm state stays visible in CloudWatch.',
    );
  }
}
