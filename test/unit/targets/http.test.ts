import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../local/emulators.js';
import type { HttpTarget } from '../../../shared/jobs/types.js';
import { builtinHandlers } from '../../../shared/targets/handlers.js';
import { signBody, verifySignature } from '../../../shared/targets/http.js';
import { invokeTarget } from '../../../shared/targets/invoke.js';
import { LOCAL_TARGET_POLICY, TargetGuard } from '../../../shared/targets/policy.js';
import { secretResolver } from '../../../shared/targets/secrets.js';
import { type RunContext, type TargetClients, TargetError } from '../../../shared/targets/types.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const ERROR_BODY = `database down: ${'x'.repeat(1000)}`;
const NOW = Date.parse('2026-03-01T02:00:01.000Z');
const received: Received[] = [];
let server: Server;
let base: string;

function clients(overrides: Partial<TargetClients> = {}): TargetClients {
  const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  return {
    lambda: new LambdaClient(config),
    sqs: new SQSClient(config),
    eventBridge: new EventBridgeClient(config),
    now: () => NOW,
    ...overrides,
  };
}

const ctx: RunContext = {
  jobId: 'nightly-report',
  runId: 'nightly-report@2026-03-01T02:00:00.000Z',
  scheduledAt: '2026-03-01T02:00:00.000Z',
  attempt: 2,
  manual: false,
  payload: { region: 'eu' },
};

function target(path: string, overrides: Partial<HttpTarget> = {}): HttpTarget {
  return { type: 'http', url: `${base}${path}`, method: 'POST', timeout: 5000, ...overrides };
}

/** The server listens on loopback over http: `punctual dev`'s policy allows both (test/integration/ssrf.test.ts covers the stack's). */
const localPolicy = new TargetGuard(LOCAL_TARGET_POLICY);

function invoke(t: HttpTarget, options: { signal?: AbortSignal; clients?: TargetClients } = {}) {
  return invokeTarget(t, ctx, {
    clients: options.clients ?? clients(),
    handlers: builtinHandlers(),
    signal: options.signal ?? new AbortController().signal,
    policy: localPolicy,
  });
}

/** Resolves with the TargetError the promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<TargetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TargetError);
  return error as TargetError;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = req.url ?? '/';
      received.push({
        method: req.method ?? '',
        url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const path = url.split('?')[0];
      if (path === '/ok') res.writeHead(204).end();
      else if (path === '/error') res.writeHead(500, { 'content-type': 'text/plain' }).end(ERROR_BODY);
      else if (path === '/missing') res.writeHead(404).end('no such hook');
      else if (path === '/throttled') res.writeHead(429).end('slow down');
      else if (path === '/slow') {
        // Never answers: only the caller's deadline ends the request.
      } else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received.length = 0;
});

describe('http target: delivery', () => {
  it('POSTs the run context as JSON with the run headers (idempotency key, run id, attempt) and reports the status', async () => {
    // prepare
    const t = target('/ok');

    // act
    const result = await invoke(t);

    // assert
    expect(result).toEqual({ detail: 'HTTP 204' });
    expect(received).toHaveLength(1);
    const request = received[0]!;
    expect(request.method).toBe('POST');
    expect(JSON.parse(request.body)).toEqual({
      jobId: 'nightly-report',
      runId: 'nightly-report@2026-03-01T02:00:00.000Z',
      idempotencyKey: 'nightly-report@2026-03-01T02:00:00.000Z',
      scheduledAt: '2026-03-01T02:00:00.000Z',
      attempt: 2,
      manual: false,
      payload: { region: 'eu' },
    });
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['user-agent']).toBe('punctual');
    expect(request.headers['idempotency-key']).toBe(ctx.runId);
    expect(request.headers['x-punctual-run-id']).toBe(ctx.runId);
    expect(request.headers['x-punctual-attempt']).toBe('2');
    expect(request.headers['x-punctual-signature']).toBeUndefined();
  });

  it('sends a GET without a body or content-type', async () => {
    // prepare
    const t = target('/ok', { method: 'GET' });

    // act
    const result = await invoke(t);

    // assert
    expect(result.detail).toBe('HTTP 204');
    expect(received[0]?.method).toBe('GET');
    expect(received[0]?.body).toBe('');
    expect(received[0]?.headers['content-type']).toBeUndefined();
    expect(received[0]?.headers['x-punctual-run-id']).toBe(ctx.runId);
  });

  it("sends the job's headers but never lets them replace the run id or the idempotency key", async () => {
    // prepare
    const t = target('/ok', {
      headers: { Authorization: 'Bearer abc', 'X-Punctual-Run-Id': 'spoofed', 'Idempotency-Key': 'spoofed' },
    });

    // act
    await invoke(t);

    // assert
    expect(received[0]?.headers['authorization']).toBe('Bearer abc');
    expect(received[0]?.headers['x-punctual-run-id']).toBe(ctx.runId);
    expect(received[0]?.headers['idempotency-key']).toBe(ctx.runId);
  });
});

describe('http target: failures', () => {
  it('fails a 500 as retryable, quoting the first 300 characters of the body', async () => {
    // act
    const error = await failure(invoke(target('/error')));

    // assert
    expect(error.retryable).toBe(true);
    expect(error.timedOut).toBe(false);
    expect(error.message).toContain('HTTP 500');
    expect(error.message).toContain(ERROR_BODY.slice(0, 300));
    expect(error.message).not.toContain(ERROR_BODY.slice(0, 301));
  });

  it('fails a 404 as not retryable, without quoting the query string', async () => {
    // act
    const error = await failure(invoke(target('/missing?token=s3cr3t')));

    // assert
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(`POST ${base}/missing: HTTP 404: no such hook`);
  });

  it('fails a 429 as retryable', async () => {
    // act
    const error = await failure(invoke(target('/throttled')));

    // assert
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('HTTP 429: slow down');
  });

  it('fails a refused connection as retryable', async () => {
    // prepare
    const closedPort = await freePort();

    // act
    const error = await failure(invoke(target('/ok', { url: `http://127.0.0.1:${closedPort}/hook` })));

    // assert
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('stops at the deadline and reports a timeout', async () => {
    // prepare
    const t = target('/slow', { timeout: 150 });
    const started = performance.now();

    // act
    const error = await failure(invoke(t, { signal: AbortSignal.timeout(150) }));

    // assert
    expect(error.timedOut).toBe(true);
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^timed out after 150ms \(http POST /);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('http target: HMAC signature', () => {
  it('still sends v1 ("<timestamp>.<body>", deprecated) beside v2 so that v1 receivers keep working', async () => {
    // prepare
    const t = target('/ok', { hmacSecret: 'hook' });
    const withSecret = clients({ secrets: secretResolver({ hook: () => 's3cret' }) });

    // act
    await invoke(t, { clients: withSecret });

    // assert
    const { headers, body } = received[0]!;
    const timestamp = headers['x-punctual-timestamp'] as string;
    const signature = headers['x-punctual-signature'] as string;
    expect(timestamp).toBe(String(NOW / 1000));
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature('s3cret', timestamp, body, signature, { now: NOW + 10_000 })).toBe(true);
    expect(verifySignature('wrong', timestamp, body, signature, { now: NOW })).toBe(false);
    expect(verifySignature('s3cret', timestamp, `${body} `, signature, { now: NOW })).toBe(false);
  });

  it('signs a GET (v2: its method and URL, over the empty body)', async () => {
    // prepare
    const t = target('/ok?x=1', { method: 'GET', hmacSecret: 'hook' });

    // act
    await invoke(t, { clients: clients({ secrets: secretResolver({ hook: () => 's3cret' }) }) });

    // assert
    const { headers, url } = received[0]!;
    const signed = {
      method: 'GET',
      url: `${base}${url}`,
      timestamp: headers['x-punctual-timestamp'] as string,
      body: '',
    };
    expect(
      verifySignature('s3cret', signed, headers['x-punctual-signature-v2'] as string, { now: NOW }),
    ).toBe(true);
  });

  it('signs with a deprecated hmacSecretEnv that names a declared secret', async () => {
    // prepare
    const t = target('/ok', { hmacSecretEnv: 'hook' });

    // act
    await invoke(t, { clients: clients({ secrets: secretResolver({ hook: () => 's3cret' }) }) });

    // assert
    const { headers, body, url } = received[0]!;
    const signed = {
      method: 'POST',
      url: `${base}${url}`,
      timestamp: headers['x-punctual-timestamp'] as string,
      body,
    };
    expect(
      verifySignature('s3cret', signed, headers['x-punctual-signature-v2'] as string, { now: NOW }),
    ).toBe(true);
  });

  it('fails finally, sending nothing, when the secret is not declared (never read from the environment)', async () => {
    // prepare
    process.env.PUNCTUAL_UNIT_HOOK = 'from-env';
    const t = target('/ok', { hmacSecret: 'PUNCTUAL_UNIT_HOOK' });

    // act
    const error = await failure(
      invoke(t, { clients: clients({ secrets: secretResolver({ other: () => 'x' }) }) }),
    );
    delete process.env.PUNCTUAL_UNIT_HOOK;

    // assert
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(
      'hmacSecret "PUNCTUAL_UNIT_HOOK" is not a secret declared for this deployment',
    );
    expect(error.message).not.toContain('other');
    expect(received).toHaveLength(0);
  });

  it('retries when a declared secret cannot be read, naming the secret and not its value', async () => {
    // prepare
    const t = target('/ok', { hmacSecret: 'hook' });
    const failing = secretResolver({
      hook: () => Promise.reject(new Error('ThrottlingException: Rate exceeded')),
    });

    // act
    const error = await failure(invoke(t, { clients: clients({ secrets: failing }) }));

    // assert
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('secret "hook" could not be read: Error: ThrottlingException');
    expect(received).toHaveLength(0);
  });
});

describe('http target: secret-valued headers', () => {
  it('sends prefix + the declared value, and drops x-punctual-* headers a forged definition sets', async () => {
    // prepare
    const t = target('/ok', {
      headers: {
        authorization: { secret: 'api', prefix: 'Bearer ' },
        'x-api-key': { secret: 'key' },
        'x-punctual-run-id': 'forged',
      },
    });
    const secrets = secretResolver({ api: () => 'tok-1', key: () => 'k-2' });

    // act
    await invoke(t, { clients: clients({ secrets }) });

    // assert
    const { headers } = received[0]!;
    expect(headers.authorization).toBe('Bearer tok-1');
    expect(headers['x-api-key']).toBe('k-2');
    expect(headers['x-punctual-run-id']).toBe(ctx.runId);
  });

  it('fails finally when a header names an undeclared secret', async () => {
    // prepare
    const t = target('/ok', { headers: { authorization: { secret: 'missing' } } });

    // act
    const error = await failure(invoke(t, { clients: clients() }));

    // assert
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('target.headers.authorization "missing" is not a secret declared');
    expect(received).toHaveLength(0);
  });
});

describe('verifySignature', () => {
  const body = '{"runId":"a@b"}';
  const timestamp = 1_772_330_401;
  const header = signBody('k', timestamp, body);

  it('rejects a timestamp outside the tolerance of the receiver clock', () => {
    // act
    const fresh = verifySignature('k', String(timestamp), body, header, { now: (timestamp + 299) * 1000 });
    const stale = verifySignature('k', String(timestamp), body, header, { now: (timestamp + 301) * 1000 });

    // assert
    expect(fresh).toBe(true);
    expect(stale).toBe(false);
  });

  it('rejects a missing or malformed header or timestamp', () => {
    // act + assert
    expect(verifySignature('k', String(timestamp), body, undefined)).toBe(false);
    expect(verifySignature('k', String(timestamp), body, 'sha256=00')).toBe(false);
    expect(verifySignature('k', 'yesterday', body, header)).toBe(false);
    expect(verifySignature('k', undefined, body, header)).toBe(false);
  });
});
