/**
 * Issue 18, reproduction 1 (SSRF): a loopback HTTP server stands in for the metadata endpoint. Under the
 * stack's default policy a literal inward URL, a name that resolves inward and a redirect inward are all
 * refused, and not one request reaches the server. Names resolve through an injected resolver: no network.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadTargetPolicyFile } from '../../cli/commands/dev.js';
import type { LocalRuntime } from '../../local/runtime.js';
import type { HttpTarget } from '../../shared/jobs/types.js';
import { builtinHandlers } from '../../shared/targets/handlers.js';
import { invokeTarget } from '../../shared/targets/invoke.js';
import {
  LOCAL_TARGET_POLICY,
  parseTargetPolicy,
  type Resolver,
  STACK_TARGET_POLICY,
  TargetGuard,
  type TargetPolicy,
} from '../../shared/targets/policy.js';
import { secretResolver } from '../../shared/targets/secrets.js';
import { type RunContext, type TargetClients, TargetError } from '../../shared/targets/types.js';
import { job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

const CREDENTIALS = '{"AccessKeyId":"ASIA…","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG","Token":"…"}';

interface Hit {
  server: 'metadata' | 'redirector' | 'service';
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const hits: Hit[] = [];
const servers: Server[] = [];
let metadataPort = 0;
let redirectorPort = 0;
let servicePort = 0;
/** Where the redirector sends `/go`: set by each test. */
let redirectTo = '';

function listen(
  name: Hit['server'],
  respond: (path: string, res: import('node:http').ServerResponse) => void,
) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      hits.push({
        server: name,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      respond((req.url ?? '/').split('?')[0]!, res);
    });
  });
  servers.push(server);
  return new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

/** Names as an attacker would register them: each resolves to loopback, or to a public address and loopback. */
const DNS: Record<string, string[]> = {
  'metadata-standin.example': ['127.0.0.1'],
  'localtest.me': ['127.0.0.1', '::1'],
  'rebind.example': ['93.184.215.14', '127.0.0.1'],
  'mapped.example': ['::ffff:127.0.0.1'],
  // Allow-listed in some tests: the operator's own services.
  'hooks.example.com': ['127.0.0.1'],
  'billing.internal': ['127.0.0.1'],
};
const lookups: string[] = [];
const resolve: Resolver = async (hostname) => {
  lookups.push(hostname);
  const addresses = DNS[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

function guard(policy?: TargetPolicy): TargetGuard {
  return new TargetGuard(policy ? parseTargetPolicy(policy, STACK_TARGET_POLICY) : STACK_TARGET_POLICY, {
    resolve,
  });
}

const ctx: RunContext = {
  jobId: 'probe',
  runId: 'probe@2026-12-01T00:00:00.000Z',
  scheduledAt: '2026-12-01T00:00:00.000Z',
  attempt: 1,
  manual: false,
  payload: null,
};

function invoke(url: string, policy: TargetGuard, overrides: Partial<HttpTarget> = {}) {
  const target: HttpTarget = { type: 'http', url, method: 'POST', timeout: 5000, ...overrides };
  return invokeTarget(target, ctx, {
    clients: { secrets: secretResolver({ hook: () => 's3cret' }) } as unknown as TargetClients,
    handlers: builtinHandlers(),
    signal: AbortSignal.timeout(5000),
    policy,
  });
}

async function refusal(promise: Promise<unknown>): Promise<TargetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TargetError);
  return error as TargetError;
}

function hitsOf(server: Hit['server']): Hit[] {
  return hits.filter((hit) => hit.server === server);
}

beforeAll(async () => {
  metadataPort = await listen('metadata', (_path, res) => {
    // What IMDS or the container credentials endpoint would answer; a non-2xx to test the body path too.
    res.writeHead(500, { 'content-type': 'application/json' }).end(CREDENTIALS);
  });
  redirectorPort = await listen('redirector', (path, res) => {
    if (path === '/go') res.writeHead(307, { location: redirectTo }).end('moved');
    else res.writeHead(404).end('not here');
  });
  servicePort = await listen('service', (path, res) => {
    if (path === '/ok') res.writeHead(204).end();
    else res.writeHead(503, { 'content-type': 'text/plain' }).end(`billing down: ${'z'.repeat(1000)}`);
  });
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }
});

beforeEach(() => {
  hits.length = 0;
  lookups.length = 0;
});

describe('stack default policy: nothing reaches the metadata stand-in', () => {
  it.each([
    ['loopback', () => `https://127.0.0.1:${metadataPort}/latest/meta-data/iam/security-credentials/`],
    ['loopback', () => `https://2130706433:${metadataPort}/latest/meta-data/`],
    ['loopback', () => `https://0x7f000001:${metadataPort}/latest/meta-data/`],
    ['loopback', () => `https://127.1:${metadataPort}/`],
    ['loopback', () => `https://[::ffff:127.0.0.1]:${metadataPort}/`],
    ['loopback', () => `https://[::1]:${metadataPort}/`],
    ['unspecified', () => `https://0.0.0.0:${metadataPort}/`],
    ['private', () => `https://10.0.0.1:${metadataPort}/`],
    ['carrierGradeNat', () => `https://100.64.0.1:${metadataPort}/`],
    ['scheme', () => `http://127.0.0.1:${metadataPort}/`],
  ])('refuses a literal inward URL (rule: %s), final, naming the address', async (rule, url) => {
    // act
    const error = await refusal(invoke(url(), guard()));

    // assert
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`refused by the target policy (rule: ${rule})`);
    expect(hits).toHaveLength(0);
    expect(lookups).toHaveLength(0);
  });

  it.each([
    ['metadata-standin.example', 'metadata-standin.example resolves to 127.0.0.1, a loopback address'],
    ['localtest.me', 'localtest.me resolves to 127.0.0.1, a loopback address'],
    ['rebind.example', 'rebind.example resolves to 127.0.0.1, a loopback address'],
    ['mapped.example', 'mapped.example resolves to ::ffff:7f00:1 = 127.0.0.1, a loopback address'],
  ])('refuses %s, a name resolving inward, at connect time', async (host, reason) => {
    // act
    const error = await refusal(invoke(`https://${host}:${metadataPort}/latest/meta-data/`, guard()));

    // assert
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('refused by the target policy (rule: loopback)');
    expect(error.message).toContain(reason);
    expect(lookups).toEqual([host]);
    expect(hits).toHaveLength(0);
  });

  it('does not follow a redirect inward', async () => {
    // prepare: the first hop is the operator's own service, allowed by URL prefix
    redirectTo = `https://127.0.0.1:${metadataPort}/latest/meta-data/`;
    const policy = guard({ allow: { urlPrefixes: [`http://hooks.example.com:${redirectorPort}/`] } });

    // act
    const error = await refusal(invoke(`http://hooks.example.com:${redirectorPort}/go`, policy));

    // assert
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      `POST http://hooks.example.com:${redirectorPort}/go: refused by the target policy (rule: redirect): ` +
        `HTTP 307 redirect to https://127.0.0.1:${metadataPort}/latest/meta-data/ not followed (targetPolicy.maxRedirects: 0)`,
    );
    expect(hitsOf('redirector')).toHaveLength(1);
    expect(hitsOf('metadata')).toHaveLength(0);
  });

  it.each([
    ['loopback', () => `https://127.0.0.1:${metadataPort}/latest/meta-data/`],
    ['loopback', () => `https://metadata-standin.example:${metadataPort}/latest/meta-data/`],
    ['never', () => 'http://169.254.169.254/latest/meta-data/'],
    ['never', () => 'http://[fd00:ec2::254]/latest/meta-data/'],
    ['never', () => 'http://metadata.google.internal/computeMetadata/v1/'],
    ['scheme', () => `http://127.0.0.1:${metadataPort}/`],
  ])('checks each hop it may follow like the first (rule: %s)', async (rule, location) => {
    // prepare
    redirectTo = location();
    const policy = guard({
      maxRedirects: 3,
      allow: { urlPrefixes: [`http://hooks.example.com:${redirectorPort}/`] },
    });

    // act
    const error = await refusal(invoke(`http://hooks.example.com:${redirectorPort}/go`, policy));

    // assert
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`refused by the target policy (rule: ${rule})`);
    expect(hitsOf('metadata')).toHaveLength(0);
  });

  it('never lets an allow-list lift the metadata and link-local refusal', async () => {
    // prepare
    const policy = guard({
      schemes: ['http', 'https'],
      allow: { cidrs: ['0.0.0.0/0'], hosts: ['evil.example'] },
    });
    DNS['evil.example'] = ['169.254.169.254'];

    // act
    const literal = await refusal(invoke('http://169.254.169.254/latest/meta-data/', policy));
    const named = await refusal(invoke('http://evil.example/latest/meta-data/', policy));

    // assert
    expect(literal.message).toContain('(rule: never): 169.254.169.254, a cloud metadata');
    expect(named.message).toContain(
      '(rule: never): evil.example resolves to 169.254.169.254, a cloud metadata or credentials endpoint',
    );
    expect(literal.retryable || named.retryable).toBe(false);
  });
});

describe('allow-lists: the private services an operator does want', () => {
  it('reaches a service allowed by CIDR', async () => {
    // prepare
    const policy = guard({ schemes: ['http', 'https'], allow: { cidrs: ['127.0.0.0/8'] } });

    // act
    const result = await invoke(`http://127.0.0.1:${servicePort}/ok`, policy);

    // assert
    expect(result).toEqual({ detail: 'HTTP 204' });
    expect(hitsOf('service')).toHaveLength(1);
  });

  it('reaches a service allowed by host name, wherever the name resolves', async () => {
    // prepare
    const policy = guard({ schemes: ['http'], allow: { hosts: ['billing.internal'] } });

    // act
    const result = await invoke(`http://billing.internal:${servicePort}/ok`, policy);

    // assert
    expect(result).toEqual({ detail: 'HTTP 204' });
    expect(lookups).toEqual(['billing.internal']);
    expect(hitsOf('service')[0]?.headers.host).toBe(`billing.internal:${servicePort}`);
  });

  it('reaches a service allowed by URL prefix, and only below that prefix', async () => {
    // prepare
    const policy = guard({ allow: { urlPrefixes: [`http://billing.internal:${servicePort}/hooks/`] } });

    // act
    const below = await refusal(invoke(`http://billing.internal:${servicePort}/hooks/x`, policy));
    const beside = await refusal(invoke(`http://billing.internal:${servicePort}/admin`, policy));

    // assert: the first is the service's own 503; the second never left
    expect(below.message).toContain('HTTP 503');
    expect(beside.message).toContain('refused by the target policy (rule: scheme)');
    expect(hitsOf('service').map((hit) => hit.url)).toEqual(['/hooks/x']);
  });

  it('keeps a bounded body of an allowed destination, naming the final URL without query or userinfo', async () => {
    // prepare
    redirectTo = `http://billing.internal:${servicePort}/hooks/fail?token=s3cr3t`;
    const policy = guard({
      schemes: ['http'],
      maxRedirects: 1,
      allow: { hosts: ['hooks.example.com', 'billing.internal'] },
    });

    // act
    const error = await refusal(invoke(`http://hooks.example.com:${redirectorPort}/go?sig=abc`, policy));

    // assert
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(
      `POST http://hooks.example.com:${redirectorPort}/go → http://billing.internal:${servicePort}/hooks/fail: ` +
        `HTTP 503: billing down: ${'z'.repeat(300 - 'billing down: '.length)}`,
    );
    expect(error.message).not.toContain('s3cr3t');
  });

  it('follows an allowed redirect, dropping credentials when the origin changes', async () => {
    // prepare
    redirectTo = `http://billing.internal:${servicePort}/ok`;
    const policy = guard({
      schemes: ['http'],
      maxRedirects: 2,
      allow: { hosts: ['hooks.example.com', 'billing.internal'] },
    });
    const headers = { authorization: 'Bearer t0k3n', 'x-api-key': 'k3y', cookie: 'sid=1', 'x-trace': 'kept' };

    // act
    const result = await invoke(`http://hooks.example.com:${redirectorPort}/go`, policy, {
      headers,
      hmacSecret: 'hook',
    });

    // assert
    expect(result).toEqual({ detail: 'HTTP 204' });
    const [first, final] = [hitsOf('redirector')[0]!, hitsOf('service')[0]!];
    expect(first.headers.authorization).toBe('Bearer t0k3n');
    expect(first.headers['x-punctual-signature']).toMatch(/^sha256=/);
    expect(first.headers['x-punctual-signature-v2']).toMatch(/^sha256=/);
    expect(final.method).toBe('POST'); // 307 keeps the method and the body
    expect(final.body).toBe(first.body);
    for (const name of [
      'authorization',
      'x-api-key',
      'cookie',
      'x-punctual-signature',
      'x-punctual-signature-v2',
      'x-punctual-timestamp',
    ]) {
      expect(final.headers[name]).toBeUndefined();
    }
    expect(final.headers['x-trace']).toBe('kept');
    expect(final.headers['x-punctual-run-id']).toBe(ctx.runId);
  });
});

describe("through the executor: a refusal is the run's final failure", () => {
  let runtime: LocalRuntime | undefined;

  afterEach(async () => {
    await runtime?.stop();
    runtime = undefined;
  });

  async function runOnce(url: string, policy: typeof STACK_TARGET_POLICY) {
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 }, targetPolicy: policy });
    const target = { type: 'http', url, timeout: '5s' };
    await put(
      runtime,
      job('probe', { schedule: 'rate(1 hour)', target, retry: { maxAttempts: 3 } }),
      T0 - 1000,
    );
    await runtime.tick();
    const outcomes = await runtime.drain();
    const [run] = await runtime.allRuns();
    return { outcomes, run: run! };
  }

  it('fails at the first attempt under the stack default, without a retry, the stand-in untouched', async () => {
    // act
    const { run } = await runOnce(`https://127.0.0.1:${metadataPort}/latest/meta-data/`, STACK_TARGET_POLICY);

    // assert
    expect(run.status).toBe('failed');
    expect(run.attempts).toHaveLength(1);
    expect(run.lastError).toContain(
      'refused by the target policy (rule: loopback): 127.0.0.1, a loopback address',
    );
    expect(run.lastError).not.toContain('SecretAccessKey');
    expect(hits).toHaveLength(0);
  });

  it("reaches loopback under punctual dev's default, where its echo server and workers live", async () => {
    // act
    const { run } = await runOnce(`http://127.0.0.1:${servicePort}/ok`, LOCAL_TARGET_POLICY);

    // assert
    expect(run.status).toBe('succeeded');
    expect(hitsOf('service')).toHaveLength(1);
  });
});

describe('punctual dev --target-policy FILE', () => {
  it('reads YAML over the local default, and refuses what it cannot allow', async () => {
    // prepare
    const dir = await mkdtemp(join(tmpdir(), 'punctual-policy-'));
    const good = join(dir, 'policy.yaml');
    const bad = join(dir, 'bad.json');
    await writeFile(good, 'maxRedirects: 1\nallow:\n  hosts: [billing.internal]\n');
    await writeFile(bad, '{"allow": {"cidrs": ["169.254.169.254/32"]}}');

    // act
    const policy = await loadTargetPolicyFile(good);
    const refused = await loadTargetPolicyFile(bad).then(
      () => undefined,
      (error: Error) => error,
    );

    // assert
    expect(policy).toEqual({
      ...LOCAL_TARGET_POLICY,
      maxRedirects: 1,
      allow: { ...LOCAL_TARGET_POLICY.allow, hosts: ['billing.internal'] },
    });
    expect(refused?.message).toContain(`invalid target policy file ${JSON.stringify(bad)}:`);
    expect(refused?.message).toContain('allow.cidrs[0] "169.254.169.254/32": starts in a cloud metadata');
  });
});
