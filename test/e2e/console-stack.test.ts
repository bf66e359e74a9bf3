/**
 * `punctual console --stack NAME` against a "deployed stack" that is the local runtime's table and queues:
 * the CLI resolves the stack through CloudFormation's DescribeStacks (answered here by a stand-in at
 * --endpoint-url, with the outputs a Scheduler stack has) and then reads DynamoDB and SQS at the same
 * endpoint (forwarded to DynamoDB Local and the SQS emulator). The connection code is the CLI's own: the
 * same `resolveTarget` → `connectStack` path as `punctual --stack NAME status`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { escapeHtml } from '../../console/html.js';
import type { LocalRuntime } from '../../local/runtime.js';
import { getPage } from '../support/console.js';
import { BIN } from '../support/dev.js';
import { job, put, testRuntime } from '../support/runtime.js';

const TOPIC = 'arn:aws:sns:us-east-1:000000000000:Punctual-AlarmTopic';

/** Two of the stack's alarms as CloudWatch describes them: one quiet, one raised. */
const ALARMS = [
  {
    AlarmName: 'Punctual-Scheduler-TickStopped',
    StateValue: 'OK',
    StateReason: 'Threshold Crossed: no datapoints were received',
    StateUpdatedTimestamp: Date.parse('2026-12-07T09:00:00Z') / 1000,
    AlarmActions: [TOPIC],
  },
  {
    AlarmName: 'Punctual-Scheduler-DlqNotEmpty',
    StateValue: 'ALARM',
    StateReason: 'Threshold Crossed: 1 datapoint [3.0] was greater than the threshold (0.0).',
    StateUpdatedTimestamp: Date.parse('2026-12-07T10:15:00Z') / 1000,
    AlarmActions: [TOPIC],
  },
];

/**
 * CloudFormation's DescribeStacks (query protocol, XML) for `stack` and CloudWatch's DescribeAlarms; everything
 * else forwarded by target.
 */
function stackEndpoint(
  stack: string,
  outputs: Record<string, string>,
  endpoints: { dynamo: string; sqs: string },
) {
  const describe = `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${stack}</StackName><StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${stack}/1</StackId><CreationTime>2026-12-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${Object.entries(
    outputs,
  )
    .map(
      ([key, value]) =>
        `<member><OutputKey>${key}</OutputKey><OutputValue>${escapeHtml(value)}</OutputValue></member>`,
    )
    .join(
      '',
    )}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>`;
  const seen: string[] = [];
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const amzTarget = String(incoming.headers['x-amz-target'] ?? '');
      if (!amzTarget && body.toString().includes('Action=DescribeStacks')) {
        seen.push('cloudformation:DescribeStacks');
        outgoing.writeHead(200, { 'content-type': 'text/xml' }).end(describe);
        return;
      }
      if (amzTarget === 'GraniteServiceVersion20100801.DescribeAlarms') {
        // CloudWatch (JSON 1.0): the alarms that notify the topic asked for.
        const asked = JSON.parse(body.toString()) as { ActionPrefix?: string };
        seen.push(`cloudwatch:DescribeAlarms ${asked.ActionPrefix}`);
        outgoing
          .writeHead(200, { 'content-type': 'application/x-amz-json-1.0' })
          .end(JSON.stringify({ MetricAlarms: asked.ActionPrefix === outputs.AlarmTopicArn ? ALARMS : [] }));
        return;
      }
      const to = new URL(amzTarget.startsWith('DynamoDB') ? endpoints.dynamo : endpoints.sqs);
      seen.push(amzTarget);
      const forward = request(
        {
          host: to.hostname,
          port: to.port,
          path: incoming.url,
          method: incoming.method,
          headers: incoming.headers,
        },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forward.end(body);
    });
  });
  return { server, seen };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

describe('punctual console --stack', () => {
  let runtime: LocalRuntime;
  let endpoint: ReturnType<typeof stackEndpoint>;
  let child: ChildProcess;
  let url: string;
  let stderr = '';

  beforeAll(async () => {
    runtime = await testRuntime();
    const now = Date.now();
    await put(runtime, job('stack-report', { schedule: 'rate(1 hour)' }), now);
    await runtime.tick();
    await runtime.drain();
    const pools = Object.fromEntries(
      runtime.pools.map((pool) => [
        pool.name,
        { queueUrl: pool.queueUrl, dlqUrl: pool.dlqUrl, dlqArn: pool.dlqArn },
      ]),
    );
    endpoint = stackEndpoint(
      'Punctual',
      {
        TableName: runtime.state.tableName,
        Pools: JSON.stringify(pools),
        Shards: '4',
        RetentionDays: '30',
        AlarmTopicArn: TOPIC,
      },
      inject('endpoints'),
    );
    const port = await listen(endpoint.server);
    child = spawn(
      process.execPath,
      [
        BIN,
        'console',
        '--stack',
        'Punctual',
        '--region',
        'us-east-1',
        '--endpoint-url',
        `http://127.0.0.1:${port}`,
      ],
      {
        env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.once('exit', (code) => reject(new Error(`punctual console exited ${code}: ${stderr}`)));
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await new Promise((resolve) => endpoint?.server.close(resolve));
    await runtime?.stop();
  });

  it('prints a loopback URL with a token and says which stack it reads, read-only', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
    expect(stderr).toContain('stack Punctual (us-east-1), read-only');
  });

  it("serves the stack's jobs, read through its outputs, and its health", async () => {
    const login = await getPage(url);
    expect(login.status).toBe(303);
    const base = new URL(url).origin;
    const jobs = await getPage(`${base}/`, login.cookie);
    expect(jobs.status).toBe(200);
    expect(jobs.body).toContain('data-job="stack-report"');
    expect(jobs.body).toContain('stack Punctual (us-east-1)');
    const page = await getPage(`${base}/jobs/stack-report`, login.cookie);
    expect(page.body).toMatch(/class="cell fate-succeeded"/);
    const health = await getPage(`${base}/health`, login.cookie);
    expect(health.body).toContain('pool</th>');
    // The alarms notifying the stack's topic, the raised one first and among the problems.
    expect(endpoint.seen).toContain(`cloudwatch:DescribeAlarms ${TOPIC}`);
    expect(health.body).toMatch(
      /data-alarm="Punctual-Scheduler-DlqNotEmpty" data-state="ALARM">[\s\S]*data-alarm="Punctual-Scheduler-TickStopped" data-state="OK"/,
    );
    expect(health.body).toContain(
      'alarm Punctual-Scheduler-DlqNotEmpty is in ALARM since 2026-12-07 10:15:00Z: Threshold Crossed: 1 datapoint [3.0]',
    );
    expect(health.body).toContain('data-healthy="false"');
    expect(endpoint.seen).toContain('cloudformation:DescribeStacks');
    expect(endpoint.seen.some((call) => call.startsWith('DynamoDB_20120810.Query'))).toBe(true);
  });
});
