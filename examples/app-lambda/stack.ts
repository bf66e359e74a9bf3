/**
 * The CDK side of the app-lambda example: the Scheduler, the reminder function the jobs invoke, and the
 * application function (handler.ts) that creates the jobs, granted with `grantManageJobs`.
 *
 * In your app, import from the package: `import { Scheduler } from 'punctual/cdk'`.
 */
import { type App, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Scheduler } from '../../cdk/scheduler.js';

export class TrialRemindersStack extends Stack {
  readonly scheduler: Scheduler;
  readonly signup: NodejsFunction;

  constructor(scope: App, id: string, props: StackProps = {}) {
    super(scope, id, props);

    // What a reminder runs: here an inline stub; in an app, the function that sends the e-mail.
    const reminder = new lambda.Function(this, 'SendReminder', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async (run) => console.log(JSON.stringify(run));'),
      timeout: Duration.seconds(30),
    });

    this.scheduler = new Scheduler(this, 'Scheduler', {
      // The executors may invoke the reminder function, and nothing else.
      targetAccess: { functions: [reminder] },
    });

    this.signup = new NodejsFunction(this, 'TrialStarted', {
      entry: new URL('./handler.ts', import.meta.url).pathname,
      runtime: lambda.Runtime.NODEJS_22_X,
      timeout: Duration.seconds(10),
      environment: {
        PUNCTUAL_TABLE_NAME: this.scheduler.table.tableName,
        PUNCTUAL_QUEUES: this.toJsonString(
          Object.fromEntries(
            Object.entries(this.scheduler.pools).map(([name, pool]) => [name, pool.queue.queueUrl]),
          ),
        ),
        PUNCTUAL_SHARDS: String(this.scheduler.config.shards),
        REMINDER_FUNCTION: reminder.functionName,
      },
    });
    // Table actions for put/get/list/pause/…, SendMessage on the pools' queues (not their DLQs).
    this.scheduler.grantManageJobs(this.signup);
  }
}
