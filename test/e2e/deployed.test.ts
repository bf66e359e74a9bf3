/**
 * The deployed configuration, run (issue 9, item 6): the example app (examples/app, which uses punctual as a
 * package: `punctual/cdk`, `punctual/handlers`) is synthesized; each function's environment is read from the
 * template; the table and the queues it names are created on DynamoDB Local and the SQS emulator; the asset
 * files the template deploys are imported as Lambda would import them; a `Create` event goes through the
 * deploy-jobs custom resource handler; then the tick and the executor run and the declared jobs succeed.
 *
 * It fails when a bundle cannot load (ESM/CommonJS, a missing dependency), when the construct and a handler
 * spell an environment variable differently, or when the consumer's handlers are not in the executor.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateQueueCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../../cdk/functions.js';
import { ReportsStack } from '../../examples/app/stack.js';
import { poolRouting } from '../../functions/commons/config.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localDynamoClient, localSqsClient } from '../../local/emulators.js';
import { triggerJob } from '../../shared/ops/jobs.js';
import { SqsDispatcher } from '../../shared/queue/dispatcher.js';
import { silentLog } from '../../shared/runs/lifecycle.js';
import { RecordingSignals } from '../../shared/signals.js';
import type { RunItem } from '../../shared/store/model.js';
import { Store } from '../../shared/store/store.js';
import { ensureTable } from '../../shared/store/table.js';

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
type LambdaHandler = (event: unknown, context: unknown) => Promise<unknown>;

const ACCOUNT = '000000000000';
const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** A Lambda context as the runtime passes it (middy and Powertools read these fields). */
function lambdaContext(functionName: string) {
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: `req-${Math.random().toString(36).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
  };
}

/** The physical names given to the template's resources, and CloudFormation's Ref / Fn::GetAtt / Fn::Join over them. */
class Physical {
  readonly refs = new Map<string, string>();
  readonly arns = new Map<string, string>();

  resolve(value: unknown): unknown {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if ('Ref' in record) {
        const id = record.Ref as string;
        if (id === 'AWS::Region') return LOCAL_REGION;
        if (id === 'AWS::AccountId') return ACCOUNT;
        if (id === 'AWS::Partition') return 'aws';
        if (id === 'AWS::URLSuffix') return 'amazonaws.com';
        const ref = this.refs.get(id);
        if (ref === undefined) throw new Error(`test: no physical name for Ref ${id}`);
        return ref;
      }
      if ('Fn::GetAtt' in record) {
        const [id, attribute] = record['Fn::GetAtt'] as [string, string];
        const arn = attribute === 'Arn' ? this.arns.get(id) : undefined;
        if (arn === undefined) throw new Error(`test: no value for Fn::GetAtt ${id}.${attribute}`);
        return arn;
      }
      if ('Fn::Join' in record) {
        const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
        return parts.map((part) => String(this.resolve(part))).join(separator);
      }
      return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, this.resolve(item)]));
    }
    return value;
  }
}

/** Receives the webhook the example's handler posts to, and stands in for EventBridge's PutEvents. */
function startReceiver(): Promise<{ server: Server; url: string; reports: unknown[]; events: unknown[] }> {
  const reports: unknown[] = [];
  const events: unknown[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      if (request.url === '/reports') {
        reports.push(JSON.parse(body));
        response.writeHead(204).end();
        return;
      }
      // EventBridge PutEvents (AWS JSON 1.1): every entry accepted.
      const entries = (JSON.parse(body) as { Entries?: unknown[] }).Entries ?? [];
      events.push(...entries);
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({ FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) }),
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}`, reports, events });
    }),
  );
}

describe('the deployed configuration, run', () => {
  const endpoints = inject('endpoints');
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let template: Template;
  let outdir: string;
  let assets: { files: Record<string, { source: { path: string } }> };
  let sqs: SQSClient;
  const physical = new Physical();
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    receiver = await startReceiver();
    const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
      context: Record<string, unknown>;
    };
    const app = new App({ context: cdkJson.context });
    new ReportsStack(app, 'Reports', { reportUrl: `${receiver.url}/reports` });
    const assembly = app.synth();
    outdir = assembly.directory;
    const stackArtifact = assembly.getStackByName('Reports');
    template = stackArtifact.template as Template;
    const manifest = stackArtifact.dependencies.find((artifact) => artifact.id.endsWith('.assets'));
    assets = JSON.parse(readFileSync(join(outdir, `${manifest!.id}.json`), 'utf8')) as typeof assets;

    // The table and every queue the template declares, under names of our own.
    const dynamo = localDynamoClient(endpoints.dynamo);
    sqs = localSqsClient(endpoints.sqs);
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Type === 'AWS::DynamoDB::Table') {
        const name = `deployed-${suffix}`;
        await ensureTable(dynamo, name);
        physical.refs.set(id, name);
        physical.arns.set(id, `arn:aws:dynamodb:${LOCAL_REGION}:${ACCOUNT}:table/${name}`);
      } else if (resource.Type === 'AWS::SQS::Queue') {
        const name = `${id.slice(0, 50)}-${suffix}`;
        const created = await sqs.send(new CreateQueueCommand({ QueueName: name }));
        physical.refs.set(id, created.QueueUrl!);
        physical.arns.set(id, `arn:aws:sqs:${LOCAL_REGION}:${ACCOUNT}:${name}`);
      } else if (resource.Type === 'AWS::Lambda::Function') {
        physical.refs.set(id, `${id}-${suffix}`);
        physical.arns.set(id, `arn:aws:lambda:${LOCAL_REGION}:${ACCOUNT}:function:${id}-${suffix}`);
      } else if (resource.Type === 'AWS::Events::EventBus') {
        physical.refs.set(id, `bus-${suffix}`);
        physical.arns.set(id, `arn:aws:events:${LOCAL_REGION}:${ACCOUNT}:event-bus/bus-${suffix}`);
      }
    }
  });

  afterAll(async () => {
    process.env = savedEnv;
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  /** The template's function whose description starts with `prefix`: its environment and its bundle. */
  function lambdaFunction(prefix: string) {
    const matches = Object.entries(template.Resources).filter(
      ([, resource]) =>
        resource.Type === 'AWS::Lambda::Function' &&
        String(resource.Properties.Description ?? '').startsWith(prefix),
    );
    expect(matches).toHaveLength(1);
    const [id, resource] = matches[0]!;
    // The asset manifest maps the S3 key the template deploys to the directory that is zipped for it.
    const key = String((resource.Properties.Code as { S3Key: string }).S3Key).replace(/\.zip$/, '');
    const assetPath = assets.files[key]?.source.path;
    expect(assetPath).toBeDefined();
    const handler = String(resource.Properties.Handler);
    const [file, exported] = handler.split('.') as [string, string];
    const variables = (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    return {
      id,
      environment: physical.resolve(variables) as Record<string, string>,
      file: join(outdir, assetPath!, `${file}.mjs`),
      exported,
    };
  }

  /**
   * Imports a function's bundle as Lambda does, in this process, with the function's environment (plus the
   * emulators' endpoints and local credentials, which Lambda gets from the platform). Each function gets its
   * own module instance (the query string), as each Lambda has its own process.
   */
  async function load(fn: ReturnType<typeof lambdaFunction>): Promise<LambdaHandler> {
    process.env = {
      ...savedEnv,
      ...fn.environment,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamo,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_EVENTBRIDGE: receiver.url,
      POWERTOOLS_DEV: 'false',
    };
    const module = (await import(`${pathToFileURL(fn.file).href}?function=${fn.id}`)) as Record<
      string,
      unknown
    >;
    const handler = module[fn.exported];
    expect(typeof handler).toBe('function');
    return handler as LambdaHandler;
  }

  it('writes the declared jobs, ticks them and runs them, the consumer handler included', async () => {
    // Deploy: CloudFormation's Create event, with the custom resource's properties as the template has them.
    const deployJobs = lambdaFunction('punctual: writes the jobs declared');
    const [resourceId, resource] = Object.entries(template.Resources).find(
      ([, r]) => r.Type === 'Custom::PunctualJobs',
    )!;
    const properties = physical.resolve(resource.Properties) as Record<string, unknown>;
    const deploy = await load(deployJobs);
    const created = (await deploy(
      {
        RequestType: 'Create',
        ServiceToken: properties.ServiceToken,
        ResponseURL: 'https://cloudformation-custom-resource-response.invalid/',
        StackId: `arn:aws:cloudformation:${LOCAL_REGION}:${ACCOUNT}:stack/Reports/1`,
        RequestId: 'create-1',
        LogicalResourceId: resourceId,
        ResourceType: 'Custom::PunctualJobs',
        ResourceProperties: properties,
      },
      lambdaContext('deploy-jobs'),
    )) as { Data: Record<string, number> };
    expect(created.Data).toEqual({ Created: 2, Updated: 0, Unchanged: 0, Deleted: 0, LeftDeleted: 0 });

    // Tick: the heartbeat's first slot is its creation, so it is due now and sent to the default pool.
    const tick = await load(lambdaFunction('punctual tick'));
    const report = (await tick({}, lambdaContext('tick'))) as { errors: unknown[] };
    expect(report.errors).toEqual([]);

    // The daily report's next slot is a weekday morning: run it now as `punctual jobs trigger` does.
    const executorFn = lambdaFunction('punctual executor of pool "default"');
    const env = executorFn.environment;
    expect(env.PUNCTUAL_POOL).toBe('default');
    const pools = JSON.parse(env.PUNCTUAL_POOLS!) as Record<string, { queueUrl: string; dlqUrl: string }>;
    const store = new Store(localDynamoClient(endpoints.dynamo), {
      tableName: env.PUNCTUAL_TABLE!,
      shards: Number(env.PUNCTUAL_SHARDS),
    });
    await triggerJob(
      {
        store,
        dispatcher: new SqsDispatcher(sqs),
        signals: new RecordingSignals(),
        pools: poolRouting(pools),
        log: silentLog,
      },
      'daily-report-platform',
      Date.now(),
    );

    // Execute: what the queue delivers goes to the executor bundle as the SQS event source would send it.
    const executor = await load(executorFn);
    const finished = new Map<string, RunItem>();
    for (let round = 0; round < 20 && finished.size < 2; round += 1) {
      const received = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: pools.default!.queueUrl,
          MaxNumberOfMessages: 1,
          WaitTimeSeconds: 2,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      for (const message of received.Messages ?? []) {
        const event: SQSEvent = {
          Records: [
            {
              messageId: message.MessageId!,
              receiptHandle: message.ReceiptHandle!,
              body: message.Body!,
              attributes: {
                ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
                SentTimestamp: String(Date.now()),
                SenderId: ACCOUNT,
                ApproximateFirstReceiveTimestamp: String(Date.now()),
              },
              messageAttributes: {},
              md5OfBody: message.MD5OfBody!,
              eventSource: 'aws:sqs',
              eventSourceARN: physical.arns.values().next().value ?? '',
              awsRegion: LOCAL_REGION,
            },
          ],
        };
        const response = (await executor(event, lambdaContext('executor'))) as {
          batchItemFailures: unknown[];
        };
        expect(response.batchItemFailures).toEqual([]);
      }
      for (const jobId of ['heartbeat', 'daily-report-platform']) {
        const [run] = (await store.queryRuns(jobId, { limit: 1 })).items;
        if (run && ['succeeded', 'failed'].includes(run.status)) finished.set(jobId, run);
      }
    }

    expect(finished.get('heartbeat')?.status).toBe('succeeded');
    expect(finished.get('daily-report-platform')?.status).toBe('succeeded');
    // The consumer's handler ran in the executor bundle: it posted the report, keyed by the run id.
    expect(receiver.reports).toEqual([
      {
        text: expect.stringMatching(/^Daily report for platform, \d{4}-\d{2}-\d{2}$/),
        runId: finished.get('daily-report-platform')!.runId,
      },
    ]);
    // And the lifecycle events went to the bus the construct named (the app turns success events on).
    expect(receiver.events.length).toBeGreaterThan(0);
    expect(
      receiver.events.some((entry) => (entry as { DetailType?: string }).DetailType === 'Run Succeeded'),
    ).toBe(true);
    expect(
      receiver.events.every((entry) => (entry as { EventBusName?: string }).EventBusName === `bus-${suffix}`),
    ).toBe(true);
  });
});
