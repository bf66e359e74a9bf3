/**
 * Issue 18, per-application targetAccess: a job whose id starts with an application's jobIdPrefix may
 * reach that application's functions, queues and buses only, any other job the stack's targetAccess only
 * (the executors' role holds the union). The executor refuses the rest (final, nothing sent) and a client
 * that knows the deployment refuses it at put. On the emulators: two applications' queues.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadApplicationsFile } from '../../cli/commands/dev.js';
import type { Io } from '../../cli/format.js';
import { allCommands, createProgram } from '../../cli/program.js';
import { ENV } from '../../functions/commons/config.js';
import { localSqsClient } from '../../local/emulators.js';
import type { LocalRuntime } from '../../local/runtime.js';
import { PunctualClient } from '../../shared/client/client.js';
import { stateFilePath } from '../../shared/client/connection.js';
import { JobValidationError } from '../../shared/errors.js';
import type { Target } from '../../shared/jobs/types.js';
import {
  accessViolations,
  applicationPrefixViolations,
  parseTargetAccessPolicy,
  type TargetAccessPolicy,
} from '../../shared/targets/access.js';
import { job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function';
const policy: TargetAccessPolicy = {
  shared: { functions: [`${ARN}:ops`], queues: [], buses: [] },
  applications: [
    {
      jobIdPrefix: 'billing-',
      access: {
        functions: [`${ARN}:bill`, `${ARN}:bill-v:live`],
        queues: ['arn:aws:sqs:eu-west-1:123456789012:invoices'],
        buses: ['arn:aws:events:eu-west-1:123456789012:event-bus/billing'],
      },
    },
    {
      jobIdPrefix: 'reports-',
      access: { functions: [`${ARN}:payroll`], queues: [], buses: [] },
    },
  ],
};
const SFN_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine';
const lambda = (functionName: string) => ({ type: 'lambda', functionName, timeout: 1000 }) as Target;

describe('target access: the rule', () => {
  it("lets an application's job reach its own function by name, partial ARN or ARN", () => {
    // act + assert
    for (const name of ['bill', '123456789012:function:bill', `${ARN}:bill`, 'bill-v:live']) {
      expect(accessViolations(lambda(name), 'billing-run', policy), name).toEqual([]);
    }
  });

  it("refuses another application's function, another account's, or another qualifier, naming field, value and rule", () => {
    // act
    const payroll = accessViolations(lambda('payroll'), 'billing-run', policy);

    // assert
    expect(payroll).toEqual([
      {
        path: 'target.functionName',
        value: 'payroll',
        message: expect.stringMatching(
          /^job "billing-run" is application "billing-"'s \(jobIdPrefix\), whose targetAccess\.functions does not list it \(it allows: arn:aws:lambda:eu-west-1:123456789012:function:bill, .*\); the operator grants it in the Scheduler's applications\[\]\.targetAccess$/,
        ),
      },
    ]);
    expect(
      accessViolations(lambda('arn:aws:lambda:eu-west-1:999999999999:function:bill'), 'billing-run', policy),
    ).toHaveLength(1);
    expect(accessViolations(lambda('bill:live'), 'billing-run', policy)).toHaveLength(1);
    expect(accessViolations(lambda('bill'), 'reports-run', policy)).toHaveLength(1);
  });

  it("keeps a job of no application to the stack's targetAccess", () => {
    // act
    const refused = accessViolations(lambda('bill'), 'ops-cleanup', policy);

    // assert
    expect(accessViolations(lambda('ops'), 'ops-cleanup', policy)).toEqual([]);
    expect(refused[0]?.message).toMatch(
      /^job "ops-cleanup" starts with no application's jobIdPrefix \("billing-", "reports-"\), so the stack's targetAccess\.functions does not list it/,
    );
  });

  it('compares queues by account and name (URL or ARN) and buses by name or ARN', () => {
    // prepare
    const sqs = (queueUrl: string) => ({ type: 'sqs', queueUrl, timeout: 1 }) as Target;
    const bus = (eventBusName: string) =>
      ({
        type: 'eventbridge',
        eventBusName,
        source: 'billing.job',
        detailType: 'Tick',
        timeout: 1,
      }) as Target;

    // act + assert
    expect(
      accessViolations(sqs('https://sqs.eu-west-1.amazonaws.com/123456789012/invoices'), 'billing-a', policy),
    ).toEqual([]);
    expect(
      accessViolations(
        sqs('https://sqs.eu-west-1.amazonaws.com/999999999999/invoices'),
        'billing-a',
        policy,
      )[0]?.path,
    ).toBe('target.queueUrl');
    expect(accessViolations(bus('billing'), 'billing-a', policy)).toEqual([]);
    expect(accessViolations(bus('default'), 'billing-a', policy)[0]?.path).toBe('target.eventBusName');
  });

  it('leaves http and handler targets to the target policy', () => {
    // act + assert
    expect(
      accessViolations({ type: 'handler', name: 'noop', timeout: 1 } as Target, 'billing-a', policy),
    ).toEqual([]);
    expect(
      accessViolations(
        { type: 'http', url: 'https://a.example/', method: 'POST', timeout: 1 } as Target,
        'x',
        policy,
      ),
    ).toEqual([]);
  });

  it('governs stepfunctions and ecs targets where the lists have them (a stack with AsyncTargets)', () => {
    // prepare
    const SFN = 'arn:aws:states:eu-west-1:123456789012:stateMachine';
    const TASKS = 'arn:aws:ecs:eu-west-1:123456789012';
    const withAsync: TargetAccessPolicy = {
      shared: { functions: [], queues: [], buses: [], stateMachines: [`${SFN}:ops`], ecsTasks: [] },
      applications: [
        {
          jobIdPrefix: 'billing-',
          access: {
            functions: [],
            queues: [],
            buses: [],
            stateMachines: [`${SFN}:bill`],
            ecsTasks: [
              { cluster: `${TASKS}:cluster/jobs`, taskDefinition: `${TASKS}:task-definition/export:3` },
            ],
          },
        },
        {
          jobIdPrefix: 'reports-',
          access: { functions: [], queues: [], buses: [], stateMachines: [], ecsTasks: [] },
        },
      ],
    };
    const flow = (arn: string) =>
      ({ type: 'stepfunctions', stateMachineArn: arn, completion: 'async', timeout: 1 }) as Target;
    const task = (cluster: string, taskDefinition: string) =>
      ({
        type: 'ecs',
        cluster,
        taskDefinition,
        containerName: 'app',
        completion: 'async',
        timeout: 1,
      }) as Target;

    // act + assert: its own state machine, and its task by family, family:revision, ARN, cluster name or ARN
    expect(accessViolations(flow(`${SFN}:bill`), 'billing-a', withAsync)).toEqual([]);
    for (const [cluster, definition] of [
      ['jobs', 'export'],
      ['jobs', 'export:3'],
      [`${TASKS}:cluster/jobs`, `${TASKS}:task-definition/export:3`],
    ] as const) {
      expect(accessViolations(task(cluster, definition), 'billing-a', withAsync), definition).toEqual([]);
    }
    // Another application's, another revision, another cluster, another account: refused, naming the rule.
    const stolen = accessViolations(flow(`${SFN}:bill`), 'reports-a', withAsync);
    expect(stolen.map((v) => v.path)).toEqual(['target.stateMachineArn']);
    expect(stolen[0]?.message).toMatch(
      /job "reports-a" is application "reports-"'s \(jobIdPrefix\), whose targetAccess\.stateMachines does not list it \(it allows: none\); the operator grants it in the AsyncTargets' applications\[\]\.stateMachines/,
    );
    expect(accessViolations(flow(`${SFN}:ops`), 'billing-a', withAsync)[0]?.path).toBe(
      'target.stateMachineArn',
    );
    expect(accessViolations(flow(`${SFN}:bill`), 'nightly', withAsync)[0]?.message).toMatch(
      /so the stack's targetAccess\.stateMachines does not list it \(it allows: .*:ops\)/,
    );
    for (const [cluster, definition] of [
      ['jobs', 'export:4'],
      ['other', 'export'],
      ['arn:aws:ecs:eu-west-1:210987654321:cluster/jobs', 'export'],
    ] as const) {
      expect(accessViolations(task(cluster, definition), 'billing-a', withAsync)[0]?.path, cluster).toBe(
        'target.taskDefinition',
      );
    }
    expect(accessViolations(task('jobs', 'export'), 'reports-a', withAsync)[0]?.message).toMatch(
      /targetAccess\.ecsTasks does not list it \(it allows: none\)/,
    );
    // Without the lists (no AsyncTargets: the executors hold no grant for them), not governed here.
    expect(accessViolations(flow(`${SFN}:bill`), 'reports-a', policy)).toEqual([]);
    expect(parseTargetAccessPolicy(JSON.stringify(withAsync), 'X')).toEqual(withAsync);
    expect(() =>
      parseTargetAccessPolicy('{"applications":[],"shared":{"ecsTasks":[{"cluster":"jobs"}]}}', 'X'),
    ).toThrow('X.shared.ecsTasks[0]: must be { cluster, taskDefinition } (strings)');
  });

  it("reads the executor's PUNCTUAL_TARGET_ACCESS, and refuses a malformed one", () => {
    // act + assert
    expect(ENV.targetAccess).toBe('PUNCTUAL_TARGET_ACCESS');
    expect(parseTargetAccessPolicy(JSON.stringify(policy), ENV.targetAccess)).toEqual(policy);
    expect(parseTargetAccessPolicy(undefined, ENV.targetAccess)).toBeUndefined();
    expect(() => parseTargetAccessPolicy('{"applications":[{"jobIdPrefix":""}]}', 'X')).toThrow(
      'X.applications[0].jobIdPrefix: must be a non-empty string',
    );
  });

  it('refuses overlapping or malformed application prefixes', () => {
    // act
    const violations = applicationPrefixViolations(['billing-', 'billing-eu-', 'Reports']);

    // assert
    expect(violations.map((v) => `${v.path} ${v.value}`)).toEqual([
      'applications[0].jobIdPrefix billing-',
      'applications[2].jobIdPrefix Reports',
    ]);
    expect(violations[0]?.message).toMatch(/overlaps applications\[1\]\.jobIdPrefix "billing-eu-"/);
  });
});

describe('target access: through the executor and the client, on the emulators', () => {
  let runtime: LocalRuntime;
  let dir: string;
  const clock = new ManualClock(T0);
  const queues: Record<'invoices' | 'payroll', string> = { invoices: '', payroll: '' };
  // A Step Functions client that reaches nothing and counts its calls: the refusal must come before any.
  const sfnCalls: string[] = [];
  const sfn = new SFNClient({
    region: 'eu-west-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  sfn.middlewareStack.add(
    (next, context) => async (args) => {
      sfnCalls.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize' },
  );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'punctual-access-'));
    const sqs = localSqsClient(inject('endpoints').sqs);
    for (const name of Object.keys(queues) as (keyof typeof queues)[]) {
      const created = await sqs.send(
        new CreateQueueCommand({ QueueName: `${name}-${randomUUID().slice(0, 8)}` }),
      );
      queues[name] = created.QueueUrl ?? '';
    }
    sqs.destroy();
    runtime = await testRuntime({
      clock: clock.fn,
      tick: { lookaheadMs: 0 },
      stateFile: stateFilePath(dir),
      awsClients: { sfn },
      targetAccess: {
        shared: { functions: [], queues: [], buses: [] },
        applications: [
          {
            jobIdPrefix: 'billing-',
            access: {
              functions: [],
              queues: [queues.invoices],
              buses: [],
              stateMachines: [`${SFN_ARN}:bill`],
            },
          },
          {
            jobIdPrefix: 'reports-',
            access: {
              functions: [],
              queues: [queues.payroll],
              buses: [],
              stateMachines: [`${SFN_ARN}:reports`],
            },
          },
        ],
      },
    });
  });

  afterAll(async () => {
    await runtime?.stop();
    sfn.destroy();
  });

  async function messagesOn(queueUrl: string): Promise<string[]> {
    const received = await runtime.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    return (received.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}').jobId as string);
  }

  it("runs an application's job on its own queue, and fails one at another application's queue at once, sending nothing", async () => {
    // prepare: written as a table-wide writer would (no client check), so that the executor decides.
    const sqs = (queueUrl: string) => ({ type: 'sqs', queueUrl });
    const at = (id: string, queueUrl: string) =>
      job(id, { schedule: 'rate(1 hour)', target: sqs(queueUrl), retry: { maxAttempts: 3 } });
    await put(runtime, at('billing-invoice', queues.invoices), T0 - 1000);
    await put(runtime, at('billing-steal', queues.payroll), T0 - 1000);
    await put(runtime, at('ops-stray', queues.invoices), T0 - 1000);
    await runtime.tick();

    // act
    await runtime.drain();

    // assert
    const runs = Object.fromEntries((await runtime.allRuns()).map((run) => [run.jobId, run]));
    expect(runs['billing-invoice']?.status).toBe('succeeded');
    for (const id of ['billing-steal', 'ops-stray']) {
      expect(runs[id]?.status, id).toBe('failed');
      expect(runs[id]?.attempts, id).toHaveLength(1);
    }
    expect(runs['billing-steal']?.lastError).toContain(
      `sqs ${queues.payroll}: refused: target.queueUrl "${queues.payroll}": job "billing-steal" is application "billing-"'s (jobIdPrefix), whose targetAccess.queues does not list it (it allows: ${queues.invoices})`,
    );
    expect(runs['ops-stray']?.lastError).toMatch(/starts with no application's jobIdPrefix/);
    expect(await messagesOn(queues.payroll)).toEqual([]);
    expect(await messagesOn(queues.invoices)).toEqual(['billing-invoice']);
  });

  it("fails a job starting another application's state machine at once, starting nothing", async () => {
    // prepare: written as a table-wide writer would (no client check), so that the executor decides.
    const flow = job('billing-flow-steal', {
      schedule: 'rate(1 hour)',
      target: { type: 'stepfunctions', stateMachineArn: `${SFN_ARN}:reports` },
      retry: { maxAttempts: 3 },
    });
    await put(runtime, flow, T0 - 1000);
    await runtime.tick();

    // act
    await runtime.drain();

    // assert: one attempt, final; the refusal comes before any Step Functions call (none is reachable here)
    const run = (await runtime.allRuns()).find((r) => r.jobId === 'billing-flow-steal');
    expect(run?.status, JSON.stringify(run)).toBe('failed');
    expect(run?.attempts).toHaveLength(1);
    expect(sfnCalls).toEqual([]);
    expect(run?.lastError).toContain(
      `stepfunctions ${SFN_ARN}:reports: refused: target.stateMachineArn "${SFN_ARN}:reports": job "billing-flow-steal" is application "billing-"'s (jobIdPrefix), whose targetAccess.stateMachines does not list it (it allows: ${SFN_ARN}:bill)`,
    );
  });

  it("refuses at put, through the client that reads the runtime's state, a job reaching beyond its application", async () => {
    // prepare
    const client = await PunctualClient.local(dir, { clock: clock.fn, jobIdPrefix: 'billing-' });

    // act
    const refused = await client
      .putJob({
        id: 'billing-steal-2',
        schedule: 'rate(1 hour)',
        target: { type: 'sqs', queueUrl: queues.payroll },
      } as never)
      .catch((error: unknown) => error);
    const allowed = await client.putJob({
      id: 'billing-invoice-2',
      schedule: 'rate(1 hour)',
      target: { type: 'sqs', queueUrl: queues.invoices },
    } as never);

    // assert
    expect(refused).toBeInstanceOf(JobValidationError);
    expect((refused as Error).message).toMatch(
      /target\.queueUrl ".*payroll-[0-9a-f]+": job "billing-steal-2" is application "billing-"'s \(jobIdPrefix\), whose targetAccess\.queues does not list it/,
    );
    expect(allowed.created).toBe(true);
    const flow = await client
      .putJob({
        id: 'billing-flow-2',
        schedule: 'rate(1 hour)',
        target: { type: 'stepfunctions', stateMachineArn: `${SFN_ARN}:reports` },
      } as never)
      .catch((error: unknown) => error);
    expect(flow).toBeInstanceOf(JobValidationError);
    expect((flow as Error).message).toMatch(
      /target\.stateMachineArn ".*:reports": .*targetAccess\.stateMachines does not list it/,
    );
    client.close();
  });
});

describe('punctual dev --applications FILE', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'punctual-applications-'));
  });

  it('is in `punctual dev --help`', () => {
    // prepare
    let text = '';
    const io: Io = {
      out: (t) => (text += t),
      err: () => {},
      isTTY: false,
      color: false,
      columns: 200,
      env: {},
      cwd: '.',
    };
    const dev = allCommands(createProgram(io, { exitCode: 0 }, { helpWidth: 200 })).find(
      (command) => command.name() === 'dev',
    );

    // act
    dev?.outputHelp();

    // assert
    expect(text).toMatch(
      /--applications <file> +what each application's jobs may reach \(JSON or YAML, the construct's applications shape/,
    );
  });

  it("reads the construct's shape (YAML or JSON, a list or { targetAccess, applications })", async () => {
    // prepare
    const yaml = join(dir, 'applications.yaml');
    await writeFile(
      yaml,
      [
        '- jobIdPrefix: billing-',
        '  targetAccess:',
        '    queues: [http://127.0.0.1:9324/000000000000/invoices]',
        '    stateMachines: [arn:aws:states:eu-west-1:123456789012:stateMachine:bill]',
        '- jobIdPrefix: reports-',
        '  targetAccess: { functions: [payroll] }',
      ].join('\n'),
    );
    const json = join(dir, 'applications.json');
    await writeFile(
      json,
      JSON.stringify({ targetAccess: { buses: ['default'] }, applications: [{ jobIdPrefix: 'billing-' }] }),
    );

    // act
    const fromYaml = await loadApplicationsFile(yaml);
    const fromJson = await loadApplicationsFile(json);

    // assert: stateMachines named by one list are governed on every list (none where not named)
    expect(fromYaml).toEqual({
      shared: { functions: [], queues: [], buses: [], stateMachines: [] },
      applications: [
        {
          jobIdPrefix: 'billing-',
          access: {
            functions: [],
            queues: ['http://127.0.0.1:9324/000000000000/invoices'],
            buses: [],
            stateMachines: ['arn:aws:states:eu-west-1:123456789012:stateMachine:bill'],
          },
        },
        {
          jobIdPrefix: 'reports-',
          access: { functions: ['payroll'], queues: [], buses: [], stateMachines: [] },
        },
      ],
    });
    expect(fromJson).toEqual({
      shared: { functions: [], queues: [], buses: ['default'] },
      applications: [{ jobIdPrefix: 'billing-', access: { functions: [], queues: [], buses: [] } }],
    });
  });

  it('refuses a malformed file, naming each field, value and rule', async () => {
    // prepare
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      [
        '- jobIdPrefix: billing-',
        '  targetAccess: { functions: ["*"], topics: [x] }',
        '- jobIdPrefix: billing-eu-',
        '  targetAccess: { ecsTasks: [{ cluster: jobs }] }',
      ].join('\n'),
    );

    // act
    const error = await loadApplicationsFile(bad).catch((e: unknown) => e);
    const missing = await loadApplicationsFile(join(dir, 'none.yaml')).catch((e: unknown) => e);

    // assert
    expect(error).toBeInstanceOf(JobValidationError);
    const message = (error as Error).message;
    expect(message).toContain(`invalid applications file ${JSON.stringify(bad)}:`);
    expect(message).toContain('applications[0].targetAccess.functions[0] "*": must name one resource');
    expect(message).toContain('applications[0].targetAccess.topics: is not a field');
    expect(message).toContain(
      'applications[1].targetAccess.ecsTasks[0]: must be { cluster, taskDefinition }',
    );
    expect(message).toMatch(
      /applications\[0\]\.jobIdPrefix "billing-": overlaps applications\[1\]\.jobIdPrefix "billing-eu-"/,
    );
    expect((missing as Error).message).toMatch(/^cannot read applications file /);
  });

  it('makes the local executors and clients enforce it, as on a stack', async () => {
    // prepare: the file, as `punctual dev --applications` reads it, given to the runtime as runDev does
    const sqs = localSqsClient(inject('endpoints').sqs);
    const created = await sqs.send(
      new CreateQueueCommand({ QueueName: `ledger-${randomUUID().slice(0, 8)}` }),
    );
    sqs.destroy();
    const ledger = created.QueueUrl ?? '';
    const file = join(dir, 'local.yaml');
    await writeFile(file, `- jobIdPrefix: billing-\n  targetAccess: { queues: [${ledger}] }\n`);
    const stateDir = await mkdtemp(join(tmpdir(), 'punctual-applications-state-'));
    const clock = new ManualClock(T0);
    const runtime = await testRuntime({
      clock: clock.fn,
      tick: { lookaheadMs: 0 },
      stateFile: stateFilePath(stateDir),
      targetAccess: await loadApplicationsFile(file),
    });
    try {
      const target = { type: 'sqs', queueUrl: ledger };
      await put(runtime, job('billing-ledger', { schedule: 'rate(1 hour)', target }), T0 - 1000);
      await put(runtime, job('ops-ledger', { schedule: 'rate(1 hour)', target }), T0 - 1000);
      await runtime.tick();

      // act
      await runtime.drain();
      const client = await PunctualClient.local(stateDir, { clock: clock.fn });
      const refused = await client
        .putJob({ id: 'ops-ledger-2', schedule: 'rate(1 hour)', target } as never)
        .catch((e: unknown) => e);
      client.close();

      // assert
      const runs = Object.fromEntries((await runtime.allRuns()).map((run) => [run.jobId, run]));
      expect(runs['billing-ledger']?.status).toBe('succeeded');
      expect(runs['ops-ledger']?.status).toBe('failed');
      expect(runs['ops-ledger']?.lastError).toMatch(
        /job "ops-ledger" starts with no application's jobIdPrefix \("billing-"\), so the stack's targetAccess\.queues does not list it \(it allows: none\)/,
      );
      expect(refused).toBeInstanceOf(JobValidationError);
    } finally {
      await runtime.stop();
    }
  });
});
