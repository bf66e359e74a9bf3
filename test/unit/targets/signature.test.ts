/**
 * Signature v2 (docs/security.md "Verifying a signed request"): what the executor signs, checked by
 * `verifySignature` and by the receiver examples of the docs page themselves (the Node block imported as
 * written, the Python block run with python3), against requests the http target really sent.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpTarget } from '../../../shared/jobs/types.js';
import { builtinHandlers } from '../../../shared/targets/handlers.js';
import { signBody, signRequest, verifySignature } from '../../../shared/targets/http.js';
import { invokeTarget } from '../../../shared/targets/invoke.js';
import { LOCAL_TARGET_POLICY, TargetGuard } from '../../../shared/targets/policy.js';
import { secretResolver } from '../../../shared/targets/secrets.js';
import type { RunContext, TargetClients } from '../../../shared/targets/types.js';
import { root } from '../docs/pages.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const SECRET = 'hook-secret-v2';
const NOW = Date.parse('2026-03-01T02:00:01.000Z');
const received: Received[] = [];
let server: Server;
let base: string;

const ctx: RunContext = {
  jobId: 'nightly-report',
  runId: 'nightly-report@2026-03-01T02:00:00.000Z',
  scheduledAt: '2026-03-01T02:00:00.000Z',
  attempt: 1,
  manual: false,
  payload: { note: 'naïve €' },
};

function clients(): TargetClients {
  const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  return {
    lambda: new LambdaClient(config),
    sqs: new SQSClient(config),
    eventBridge: new EventBridgeClient(config),
    now: () => NOW,
    secrets: secretResolver({ hook: () => SECRET }),
  };
}

function send(t: Partial<HttpTarget> & { url: string }, context: RunContext = ctx) {
  return invokeTarget({ type: 'http', method: 'POST', timeout: 5000, hmacSecret: 'hook', ...t }, context, {
    clients: clients(),
    handlers: builtinHandlers(),
    signal: new AbortController().signal,
    policy: new TargetGuard({ ...LOCAL_TARGET_POLICY, maxRedirects: 2 }),
  });
}

/** The request as the receiver rebuilds it: its own origin + the request target it received. */
function asSigned(r: Received, origin = base) {
  return {
    method: r.method,
    url: `${origin}${r.url}`,
    timestamp: r.headers['x-punctual-timestamp'] as string,
    body: r.body.toString('utf8'),
  };
}

/** A fenced block of docs/security.md, found by its first line. */
function docBlock(firstLine: string): string {
  const page = readFileSync(join(root, 'docs/security.md'), 'utf8');
  const block = page
    .split('```')
    .map((part) => part.replace(/^[a-z]*\n/, ''))
    .find((part) => part.startsWith(firstLine));
  if (!block) throw new Error(`docs/security.md has no code block starting ${firstLine}`);
  return block;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = req.url ?? '/';
      received.push({ method: req.method ?? '', url, headers: req.headers, body: Buffer.concat(chunks) });
      if (url.startsWith('/moved')) res.writeHead(307, { location: '/hook?after=redirect' }).end();
      else res.writeHead(204).end();
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

describe('signature v2', () => {
  it('covers the method, the URL and the body: a signed request verifies only where it was sent', async () => {
    // act
    await send({ url: `${base}/hook?tenant=7#frag` });

    // assert
    const request = received[0]!;
    const signature = request.headers['x-punctual-signature-v2'] as string;
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    const signed = asSigned(request);
    expect(signed.url).toBe(`${base}/hook?tenant=7`);
    expect(verifySignature(SECRET, signed, signature, { now: NOW })).toBe(true);
    expect(
      verifySignature(SECRET, { ...signed, url: `${base}/other?tenant=7` }, signature, { now: NOW }),
    ).toBe(false);
    expect(
      verifySignature(SECRET, { ...signed, url: `${base}/hook?tenant=8` }, signature, { now: NOW }),
    ).toBe(false);
    expect(verifySignature(SECRET, { ...signed, method: 'PUT' }, signature, { now: NOW })).toBe(false);
    expect(verifySignature(SECRET, { ...signed, body: `${signed.body} ` }, signature, { now: NOW })).toBe(
      false,
    );
    expect(verifySignature('other', signed, signature, { now: NOW })).toBe(false);
  });

  it('binds a GET to its URL, which v1 ("<timestamp>." for every GET) did not', async () => {
    // act
    await send({ url: `${base}/a`, method: 'GET' });
    await send({ url: `${base}/b`, method: 'GET' });

    // assert
    const [a, b] = received as [Received, Received];
    const replayed = { ...asSigned(b), timestamp: a.headers['x-punctual-timestamp'] as string };
    // a's v1 signature is valid for b: the replay v2 refuses
    expect(a.headers['x-punctual-signature']).toBe(signBody(SECRET, replayed.timestamp, ''));
    expect(
      verifySignature(SECRET, replayed, a.headers['x-punctual-signature-v2'] as string, { now: NOW }),
    ).toBe(false);
    expect(
      verifySignature(SECRET, asSigned(a), a.headers['x-punctual-signature-v2'] as string, { now: NOW }),
    ).toBe(true);
  });

  it('signs a same-origin redirect hop again for its own URL', async () => {
    // act
    await send({ url: `${base}/moved` });

    // assert
    const hop = received[1]!;
    expect(hop.url).toBe('/hook?after=redirect');
    expect(
      verifySignature(SECRET, asSigned(hop), hop.headers['x-punctual-signature-v2'] as string, { now: NOW }),
    ).toBe(true);
  });

  it('keeps v1 verifiable for one release (deprecated), within the same tolerance', async () => {
    // act
    await send({ url: `${base}/hook` });

    // assert
    const { headers, body } = received[0]!;
    const timestamp = headers['x-punctual-timestamp'] as string;
    const v1 = headers['x-punctual-signature'] as string;
    expect(verifySignature(SECRET, timestamp, body.toString(), v1, { now: NOW })).toBe(true);
    // Without `now` the receiver's clock is the default: a request signed on 2026-03-01 is stale today.
    expect(verifySignature(SECRET, timestamp, body.toString(), v1)).toBe(false);
  });

  it('enforces a 5-minute tolerance by default (the receiver clock when no `now` is given)', () => {
    // prepare
    const timestamp = Math.floor(Date.now() / 1000);
    const request = { method: 'POST', url: 'https://hooks.example/run', timestamp, body: '{}' };
    const signature = signRequest(SECRET, request);
    const stale = { ...request, timestamp: timestamp - 301 };

    // act + assert
    expect(verifySignature(SECRET, request, signature)).toBe(true);
    expect(verifySignature(SECRET, stale, signRequest(SECRET, stale))).toBe(false);
    expect(verifySignature(SECRET, stale, signRequest(SECRET, stale), { toleranceSeconds: 600 })).toBe(true);
    expect(verifySignature(SECRET, { ...request, timestamp: 'now' }, signature)).toBe(false);
    expect(verifySignature(SECRET, { ...request, url: 'not a url' }, signature)).toBe(false);
    expect(verifySignature(SECRET, request, undefined)).toBe(false);
  });

  it('gives an async GET its completion token in a header', async () => {
    // act
    await send(
      { url: `${base}/hook`, method: 'GET', completion: 'async' },
      { ...ctx, completionToken: 't'.repeat(43) },
    );

    // assert
    expect(received[0]!.headers['x-punctual-completion-token']).toBe('t'.repeat(43));
    expect(received[0]!.body.byteLength).toBe(0);
  });
});

describe("docs/security.md's receiver examples", () => {
  it('the Node example verifies what the executor signed, and refuses a replay to another URL', async () => {
    // prepare
    const dir = mkdtempSync(join(tmpdir(), 'punctual-verify-'));
    const file = join(dir, 'verify-punctual.mjs');
    writeFileSync(file, docBlock('// verify-punctual.mjs'));
    const { verifyPunctual } = (await import(pathToFileURL(file).href)) as {
      verifyPunctual: (secret: string, request: object, now?: number) => boolean;
    };
    await send({ url: `${base}/hook?tenant=7` });
    await send({ url: `${base}/hook`, method: 'GET' });

    // act
    const verdicts = received.flatMap((r) => [
      verifyPunctual(
        SECRET,
        { method: r.method, url: `${base}${r.url}`, headers: r.headers, body: r.body },
        NOW,
      ),
      verifyPunctual(
        SECRET,
        { method: r.method, url: `${base}/elsewhere`, headers: r.headers, body: r.body },
        NOW,
      ),
      verifyPunctual(SECRET, { method: r.method, url: `${base}${r.url}`, headers: r.headers, body: r.body }),
    ]);

    // assert: valid where sent, refused elsewhere, refused as stale by today's clock
    expect(verdicts).toEqual([true, false, false, true, false, false]);
  });

  it('the Python example verifies the same requests', async () => {
    // prepare
    const dir = mkdtempSync(join(tmpdir(), 'punctual-verify-'));
    writeFileSync(join(dir, 'verify_punctual.py'), docBlock('# verify_punctual.py'));
    await send({ url: `${base}/hook?tenant=7` });
    await send({ url: `${base}/hook`, method: 'GET' });
    const cases = received.flatMap((r) =>
      [`${base}${r.url}`, `${base}/elsewhere`].map((url) => ({
        method: r.method,
        url,
        headers: r.headers,
        body: r.body.toString('base64'),
      })),
    );
    const driver = [
      'import base64, json, sys',
      'from verify_punctual import verify_punctual',
      'cases = json.load(sys.stdin)',
      `print(json.dumps([verify_punctual(${JSON.stringify(SECRET)}.encode(), c["method"], c["url"], c["headers"], base64.b64decode(c["body"]), now=${NOW / 1000}) for c in cases]))`,
    ].join('\n');

    // act
    const out = execFileSync('python3', ['-c', driver], { cwd: dir, input: JSON.stringify(cases) });

    // assert
    expect(JSON.parse(out.toString())).toEqual([true, false, true, false]);
  });
});
