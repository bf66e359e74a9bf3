/**
 * Secrets by name (issue 18): a declared secret's value reaches the request it is for and nowhere else.
 * Through the local runtime, a signed http job with a secret header whose receiver fails it with an error
 * page quoting the request's headers (so the values come back in the answer): neither value is in a job
 * item, a run record, an SQS message, a DLQ body, a log line or the CLI's output. A put naming an
 * undeclared secret is refused with its field before anything is written.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSecretsFile, parseSecretFlags, parseSecretsFile } from '../../cli/commands/dev.js';
import type { Io } from '../../cli/format.js';
import { main } from '../../cli/run.js';
import type { LocalRuntime } from '../../local/runtime.js';
import { PunctualClient } from '../../shared/client/client.js';
import { stateFilePath } from '../../shared/client/connection.js';
import { JobValidationError, PunctualError } from '../../shared/errors.js';
import { ManualClock, T0, testRuntime } from '../support/runtime.js';

const HMAC_VALUE = 'hmac-value-7f3a9c1e5b2d';
const BEARER_VALUE = 'bearer-value-04e8d6a2c9f1';
const VALUES = [HMAC_VALUE, BEARER_VALUE];

let server: Server;
let port: number;

beforeAll(async () => {
  // A receiver that fails every request with a page quoting what it was sent, headers included.
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`rejected: ${JSON.stringify(req.headers)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function captureIo(cwd: string): Io & { text: () => string } {
  let text = '';
  return {
    out: (t) => {
      text += t;
    },
    err: (t) => {
      text += t;
    },
    isTTY: false,
    color: false,
    columns: 200,
    env: {},
    cwd,
    text: () => text,
  };
}

function leaks(text: string): string[] {
  return VALUES.filter((value) => text.includes(value) || text.includes(value.slice(0, 12)));
}

describe('a declared secret', () => {
  let runtime: LocalRuntime;
  let client: PunctualClient;
  let dir: string;
  const logLines: string[] = [];
  const clock = new ManualClock(T0);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'punctual-secrets-'));
    const env = { HOOK_SECRET: HMAC_VALUE };
    const sources = parseSecretsFile(
      `# test secrets\nhook=$HOOK_SECRET\napi-token='${BEARER_VALUE}'\n`,
      'f',
      env,
    );
    const line = (level: string) => (message: string, extra?: Record<string, unknown>) =>
      logLines.push(`${level} ${message} ${JSON.stringify(extra ?? {})}`);
    runtime = await testRuntime({
      clock: clock.fn,
      tick: { lookaheadMs: 0 },
      stateFile: stateFilePath(dir),
      secrets: parseSecretFlags([], env, sources),
      log: { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') },
    });
    client = await PunctualClient.local(dir, { clock: clock.fn });
  });

  afterAll(async () => {
    client?.close();
    await runtime?.stop();
  });

  it('is refused at put when undeclared, naming the field and the declared names', async () => {
    // act
    const put = client.putJob({
      id: 'other-tenant',
      schedule: 'rate(1 hour)',
      target: { type: 'http', url: `http://127.0.0.1:${port}/x`, hmacSecret: 'tenant-a-hook' },
    });

    // assert
    await expect(put).rejects.toThrow(JobValidationError);
    await expect(put).rejects.toThrow(
      /target\.hmacSecret "tenant-a-hook": is not a declared secret; this deployment declares api-token, hook/,
    );
    expect((await client.deployment()).secretNames).toEqual(['api-token', 'hook']);
    await expect(client.getJob('other-tenant')).rejects.toThrow(/not found|no job/i);
  });

  it('appears in no job item, run record, SQS message, DLQ body, log line or CLI output', async () => {
    // prepare
    await client.putJob({
      id: 'signed',
      schedule: 'rate(1 hour)',
      target: {
        type: 'http',
        url: `http://127.0.0.1:${port}/hook?tenant=7`,
        hmacSecret: 'hook',
        headers: { authorization: { secret: 'api-token', prefix: 'Bearer ' } },
      },
      retry: { maxAttempts: 2, backoff: '1s' },
    });
    await runtime.tick();
    const pool = runtime.pools[0]!;
    // Left visible (the emulator may hand a visible message out more than once a receive: one per id).
    const peek = async (queueUrl: string) => {
      const { Messages = [] } = await runtime.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
      );
      return [...new Map(Messages.map((m) => [m.MessageId, m])).values()];
    };
    const sent = await peek(pool.queueUrl);

    // act: attempt 1 fails, the retry (sent with a delay) fails too and goes to the DLQ
    await runtime.drain();
    clock.advance(2_000);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const retried = await peek(pool.queueUrl);
    await runtime.drain();
    const dlq = await peek(pool.dlqUrl);
    const { Items = [] } = await runtime.dynamo.send(new ScanCommand({ TableName: runtime.state.tableName }));
    const run = (await runtime.allRuns()).find((r) => r.jobId === 'signed');
    const cli: string[] = [];
    for (const args of [
      ['jobs', 'get', 'signed', '--json'],
      ['jobs', 'get', 'signed'],
      ['jobs', 'list', '--json'],
      ['runs', 'list', 'signed', '--json'],
      ['runs', 'show', run?.runId ?? '', '--json'],
      ['runs', 'show', run?.runId ?? ''],
      ['dlq', 'list', '--json'],
      ['status', '--json'],
    ]) {
      const io = captureIo(dir);
      await main([...args, '--local', dir], io);
      cli.push(io.text());
    }

    // assert: the run failed with the receiver's answer quoted, the values scrubbed from it
    expect(run).toMatchObject({ status: 'failed', attempt: 2 });
    expect(run?.lastError).toContain('HTTP 500: rejected:');
    expect(run?.lastError).toContain('Bearer [secret api-token]');
    expect(sent.length + retried.length).toBeGreaterThanOrEqual(2);
    expect(dlq).toHaveLength(1);
    expect(cli.join('\n')).toContain('signed');
    expect(logLines.length).toBeGreaterThan(0);
    expect({
      items: leaks(JSON.stringify(Items)),
      messages: leaks(JSON.stringify([...sent, ...retried])),
      dlq: leaks(JSON.stringify(dlq)),
      logs: leaks(logLines.join('\n')),
      cli: leaks(cli.join('\n')),
    }).toEqual({ items: [], messages: [], dlq: [], logs: [], cli: [] });
  });
});

describe('--secrets-file', () => {
  it('reads NAME=$ENV_VAR and NAME=value lines, skipping comments and blank lines', async () => {
    // act
    const sources = parseSecretsFile(
      ['# a comment', '', 'hook=$HOOK', 'braced=$' + '{HOOK}', 'plain=v4lue', 'quoted="with spaces"'].join(
        '\n',
      ),
      'secrets.env',
      { HOOK: 'from-env' },
    );
    const resolver = parseSecretFlags([], {}, sources);

    // assert
    expect(resolver.names).toEqual(['hook', 'braced', 'plain', 'quoted']);
    expect(await Promise.all(resolver.names.map((name) => resolver.get(name)))).toEqual([
      'from-env',
      'from-env',
      'v4lue',
      'with spaces',
    ]);
  });

  it('names the file, the line and the secret when a line is wrong, never a value', () => {
    const attempt = (text: string) => () => parseSecretsFile(text, 'secrets.env', {});

    expect(attempt('hook=$AWS_SECRET_ACCESS_KEY')).toThrow(
      'secrets.env:1: secret hook names AWS_SECRET_ACCESS_KEY, an AWS_* variable',
    );
    expect(attempt('ok=1\nno equals sign here s3cr3t')).toThrow(
      /secrets\.env:2: write NAME=\$ENV_VAR or NAME=value/,
    );
    expect(attempt('ok=1\nno equals sign here s3cr3t')).not.toThrow(/s3cr3t/);
    expect(attempt('a=1\na=2')).toThrow('secrets.env:2: secret a is declared twice');
    expect(attempt('AWS_KEY=x')).toThrow(/secrets\.env:1: the name "AWS_KEY" names an AWS_\* variable/);
    expect(attempt('empty=')).toThrow('secrets.env:1: secret empty has an empty value');
    expect(() => parseSecretFlags(['a=B'], {}, parseSecretsFile('a=1', 'f'))).toThrow(PunctualError);
  });

  it('warns when others can read the file', async () => {
    // prepare
    const dir = await mkdtemp(join(tmpdir(), 'punctual-secrets-file-'));
    await writeFile(join(dir, 'open.env'), 'hook=x\n', { mode: 0o644 });
    await writeFile(join(dir, 'closed.env'), 'hook=x\n', { mode: 0o600 });
    const open = captureIo(dir);
    const closed = captureIo(dir);

    // act
    await loadSecretsFile(open, 'open.env');
    await loadSecretsFile(closed, 'closed.env');

    // assert
    expect(open.text()).toContain(
      'warning: --secrets-file open.env can be read by others (chmod 600 open.env)',
    );
    expect(closed.text()).toBe('');
  });
});
