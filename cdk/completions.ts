/**
 * The completions queue and its function (docs/jobs.md "Runs that outlive a Lambda"): a worker that was handed
 * a run by a target with `completion: async` reports `heartbeat`, `complete` or `fail` by sending
 * `{ runId, token, type, output | error }` to the queue; it needs nothing but `sqs:SendMessage` on it
 * (`Scheduler.grantReportCompletion`). The function applies each report with a conditional write on the
 * run (functions/completions.ts) and, like an executor, retries a failed attempt through its pool's queue
 * or fails the run to its pool's DLQ.
 */
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../functions/commons/config.js';
import { MAX_RECEIVE_COUNT, VISIBILITY_FACTOR } from '../shared/queue/policy.js';
import { PunctualFunction, prebuiltCode } from './functions.js';

/** The completions function's timeout: a report is a read and one or two conditional writes. */
export const COMPLETIONS_TIMEOUT = Duration.seconds(30);
/** Reports applied at once at most: each is a few table writes, so a small cap keeps its share modest. */
export const COMPLETIONS_CONCURRENCY = 5;

export interface CompletionsProps {
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: lambda.ApplicationLogLevel;
  readonly sourceMaps: boolean;
  /** Gives the function's role what the run lifecycle writes need on the table. */
  readonly grantTable: (role: iam.Role) => void;
  /** The pools' queues (a retry's message) and DLQs (a failed run's copy). */
  readonly sendTo: string[];
  /** The lifecycle events of runs that end through a report. */
  readonly grantPutEvents: (role: iam.Role) => void;
}

export class Completions extends Construct {
  readonly queue: sqs.Queue;
  readonly dlq: sqs.Queue;
  readonly consumer: PunctualFunction;

  constructor(scope: Construct, id: string, props: CompletionsProps) {
    super(scope, id);
    this.dlq = new sqs.Queue(this, 'Dlq', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      // AWS: at least 6 × the function timeout (as the pool queues).
      visibilityTimeout: Duration.seconds(COMPLETIONS_TIMEOUT.toSeconds() * VISIBILITY_FACTOR),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // A report that keeps failing rests here after 5 receives; one that is not a completion message is
      // copied here by the function without its token (functions/completions.ts).
      deadLetterQueue: { queue: this.dlq, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    this.consumer = new PunctualFunction(this, 'Function', {
      code: prebuiltCode('completions', props.sourceMaps),
      description: 'punctual completions: applies heartbeat/complete/fail reports of asynchronous runs',
      timeout: COMPLETIONS_TIMEOUT,
      memorySize: 256,
      environment: props.environment,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      sourceMaps: props.sourceMaps,
    });
    props.grantTable(this.consumer.role);
    // Its own DLQ too: a report that is not a completion message is kept there without its token.
    this.consumer.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [...props.sendTo, this.dlq.queueArn],
      }),
    );
    this.consumer.function.addEnvironment(ENV.completionsDlq, this.dlq.queueUrl);
    props.grantPutEvents(this.consumer.role);
    this.consumer.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        // Required for partial batch responses (Powertools BatchProcessor): only the failed reports return.
        reportBatchItemFailures: true,
        maxConcurrency: COMPLETIONS_CONCURRENCY,
      }),
    );
  }

  /** `sqs:SendMessage` on the completions queue, and nothing else. */
  grantReport(grantee: iam.IGrantable): iam.Grant {
    // Not grantSendMessages, which adds GetQueueAttributes and GetQueueUrl: a worker is given the URL.
    // The queue is SQS-managed encrypted (SSE-SQS): sending needs no KMS permission.
    return iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.queue.queueArn],
      resource: this.queue,
    });
  }
}
