/**
 * The `http` target: one request carrying the run context as JSON, optionally signed with HMAC-SHA256.
 *
 * Signature scheme (when the target sets `hmacSecretEnv`), for receivers to verify:
 *
 *   x-punctual-timestamp: <unix seconds when the request was signed>
 *   x-punctual-signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *
 * The body of a GET is empty, so its signature covers `"<timestamp>."`. A receiver:
 *   1. reads the raw body bytes as sent (before any JSON parsing, which would change whitespace);
 *   2. recomputes the HMAC over `timestamp + "." + body` with the shared secret and compares it in
 *      constant time (`verifySignature` below does both);
 *   3. rejects a timestamp more than a few minutes from its own clock, so that a captured request cannot be
 *      replayed later (`verifySignature(…, { now })` checks this, 300 s by default);
 *   4. dedupes on `x-punctual-run-id` (+ `x-punctual-attempt`): delivery is at least once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { HttpTarget } from '../jobs/types.js';
import { describeError, runMessage, SNIPPET_CHARS } from './common.js';
import type { RunContext, TargetClients, TargetResult } from './types.js';
import { TargetError } from './types.js';

export const SIGNATURE_HEADER = 'x-punctual-signature';
export const TIMESTAMP_HEADER = 'x-punctual-timestamp';
export const RUN_ID_HEADER = 'x-punctual-run-id';
export const ATTEMPT_HEADER = 'x-punctual-attempt';

/** The `x-punctual-signature` value for a body signed at `timestamp` (unix seconds). */
export function signBody(secret: string, timestamp: number | string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface VerifyOptions {
  /** The receiver's clock, ms since the epoch; when given, a timestamp further than `toleranceSeconds` away fails. */
  now?: number;
  /** Default 300. */
  toleranceSeconds?: number;
}

/**
 * Checks a request punctual signed: true when `header` (the `x-punctual-signature` value) is the HMAC of
 * `"<timestamp>.<body>"` under `secret`, compared in constant time, and (with `options.now`) the timestamp
 * is fresh. `body` must be the raw body as received.
 *
 * @example
 * const ok = verifySignature(process.env.HOOK_SECRET!, req.headers['x-punctual-timestamp'], rawBody,
 *   req.headers['x-punctual-signature'], { now: Date.now() });
 * if (!ok) return res.writeHead(401).end();
 */
export function verifySignature(
  secret: string,
  timestamp: string | number | undefined,
  body: string,
  header: string | undefined,
  options: VerifyOptions = {},
): boolean {
  const ts = String(timestamp ?? '');
  if (!/^\d{1,12}$/.test(ts) || !header) return false;
  if (options.now !== undefined) {
    const skew = Math.abs(options.now / 1000 - Number(ts));
    if (skew > (options.toleranceSeconds ?? 300)) return false;
  }
  const expected = Buffer.from(signBody(secret, ts, body));
  const actual = Buffer.from(header);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** `POST https://host/path` without the query string, which may carry a token and ends up in run records. */
export function describeRequest(target: HttpTarget): string {
  try {
    const url = new URL(target.url);
    return `${target.method} ${url.origin}${url.pathname}`;
  } catch {
    return `${target.method} ${target.url}`;
  }
}

/** Reads at most about `chars` characters of a body, then lets the rest go (a 5xx page can be large). */
async function readSnippet(response: Response, chars: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    // UTF-8 takes at most 4 bytes a character, so 4 × chars bytes always hold `chars` characters.
    let bytes = 0;
    while (bytes < chars * 4) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      text += decoder.decode(value, { stream: true });
    }
    text += decoder.decode();
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text.slice(0, chars);
}

/** 408 (request timeout) and 429 (too many requests) are the 4xx a later attempt can cure. */
function retryableStatus(status: number): boolean {
  return status < 400 || status >= 500 || status === 408 || status === 429;
}

export interface HttpDeps {
  clients: TargetClients;
  signal: AbortSignal;
}

export async function invokeHttp(target: HttpTarget, ctx: RunContext, deps: HttpDeps): Promise<TargetResult> {
  const what = describeRequest(target);
  if (!URL.canParse(target.url)) {
    throw new TargetError(`${what}: "${target.url}" is not a valid URL`, false);
  }
  const body = target.method === 'GET' ? undefined : runMessage(ctx);

  // Later `set`s win, so a job's own headers can replace content-type or user-agent but never the run
  // headers or the signature (Headers is case-insensitive, a plain object would send both spellings).
  const headers = new Headers();
  if (body !== undefined) headers.set('content-type', 'application/json');
  headers.set('user-agent', 'punctual');
  for (const [name, value] of Object.entries(target.headers ?? {})) headers.set(name, value);
  headers.set(RUN_ID_HEADER, ctx.runId);
  headers.set(ATTEMPT_HEADER, String(ctx.attempt));

  if (target.hmacSecretEnv) {
    const env = deps.clients.env ?? process.env;
    const secret = env[target.hmacSecretEnv];
    if (!secret) {
      throw new TargetError(
        `${what}: the HMAC secret variable ${target.hmacSecretEnv} (hmacSecretEnv) is not set or empty; ` +
          "set it in the executor's environment (or the shell running `punctual dev`)",
        false,
      );
    }
    const timestamp = Math.floor((deps.clients.now ?? Date.now)() / 1000);
    headers.set(TIMESTAMP_HEADER, String(timestamp));
    headers.set(SIGNATURE_HEADER, signBody(secret, timestamp, body ?? ''));
  }

  const doFetch = deps.clients.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(target.url, { method: target.method, headers, body, signal: deps.signal });
  } catch (error) {
    if (deps.signal.aborted) throw error; // invokeTarget turns it into the timeout error
    // Connection refused, DNS failure, TLS error: the endpoint may be back for the next attempt.
    throw new TargetError(`${what}: ${describeError(error)}`, true, { cause: error });
  }

  if (response.ok) {
    await response.body?.cancel().catch(() => undefined);
    return { detail: `HTTP ${response.status}` };
  }
  const snippet = await readSnippet(response, SNIPPET_CHARS).catch(() => '');
  throw new TargetError(
    `${what}: HTTP ${response.status}${snippet ? `: ${snippet}` : ''}`,
    retryableStatus(response.status),
  );
}
