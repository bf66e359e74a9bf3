/**
 * The `http` target: one request carrying the run context as JSON, optionally signed with HMAC-SHA256.
 *
 * Signature scheme v2 (when the target sets `hmacSecret`, a secret the operator declared), for receivers to
 * verify (docs/security.md "Verifying a signed request", with examples in Node and Python):
 *
 *   x-punctual-timestamp:    <unix seconds when the request was signed>
 *   x-punctual-signature-v2: sha256=<hex HMAC-SHA256(secret, "v2\n<timestamp>\n<METHOD>\n<url>\n<raw body>")>
 *
 * `<url>` is the URL the request went to without its fragment: origin + path + query string
 * (`https://hooks.example/run?x=1`), i.e. the receiver's public origin followed by the request target it
 * received. A signature binds the request's method and URL, so a captured request cannot be replayed to
 * another URL of a receiver sharing the secret, nor a GET (empty body) to another path. A receiver:
 *   1. reads the raw body bytes as sent (before any JSON parsing, which would change whitespace);
 *   2. rebuilds the signed string from its own configured origin (never the Host header, which the sender
 *      chooses) and recomputes the HMAC, compared in constant time (`verifySignature` below does both);
 *   3. rejects a timestamp more than 5 minutes from its own clock (`verifySignature` does by default);
 *   4. dedupes on `idempotency-key` (the run id, also in `x-punctual-run-id`; the attempt number is in
 *      `x-punctual-attempt`): delivery is at least once (README, "Delivery is at least once").
 *
 * Signature v1 (`x-punctual-signature: sha256=<hex HMAC(secret, "<timestamp>.<raw body>")>`, deprecated) is
 * still sent beside v2 in this release, so that receivers verifying it keep working while they move to v2;
 * the next release drops it.
 *
 * With `completion: async` the completion token is also in `x-punctual-completion-token` (a GET has no body
 * to carry the run context in).
 *
 * Where a request may go is the operator's target policy (./policy.ts, docs/security.md): the URL is
 * checked before anything is sent, every address its host resolves to is checked inside the connection's
 * DNS lookup, and each redirect hop (none by default) is checked the same way.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { HttpTarget } from '../jobs/types.js';
import { describeError, idempotencyKey, runMessage, SNIPPET_CHARS } from './common.js';
import { TargetGuard, TargetPolicyRefusal } from './policy.js';
import { NO_SECRETS, type SecretResolver, secretRefs } from './secrets.js';
import type { RunContext, TargetClients, TargetResult } from './types.js';
import { TargetError } from './types.js';

/** Signature v1 (deprecated, sent beside v2 for one release): HMAC over `<timestamp>.<body>` only. */
export const SIGNATURE_HEADER = 'x-punctual-signature';
/** Signature v2: HMAC over the timestamp, the method, the URL and the body. */
export const SIGNATURE_V2_HEADER = 'x-punctual-signature-v2';
export const TIMESTAMP_HEADER = 'x-punctual-timestamp';
export const RUN_ID_HEADER = 'x-punctual-run-id';
export const ATTEMPT_HEADER = 'x-punctual-attempt';
/** The attempt's completion token, with `completion: async` (also in the body of a POST). */
export const COMPLETION_TOKEN_HEADER = 'x-punctual-completion-token';
/** The run id, under the name idempotent APIs read (Stripe's, the IETF httpapi draft's `Idempotency-Key`). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** How far a signature's timestamp may be from the receiver's clock, by default: 5 minutes. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * The `x-punctual-signature` value (v1, deprecated) for a body signed at `timestamp` (unix seconds).
 * @deprecated v1 covers neither the method nor the URL; use `signRequest` (v2).
 */
export function signBody(secret: string, timestamp: number | string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The URL as signed: origin, path and query string, without userinfo or fragment. */
export function signedUrl(url: string | URL): string {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  return `${parsed.origin}${parsed.pathname}${parsed.search}`;
}

/** What signature v2 covers. */
export interface SignedRequest {
  /** `GET`, `POST`, … (compared upper-case). */
  method: string;
  /** The URL the request was sent to: the receiver's public origin + the request target (`/run?x=1`). */
  url: string;
  /** The `x-punctual-timestamp` header. */
  timestamp: string | number | undefined;
  /** The raw body as received; `''` for a GET. */
  body: string;
}

/** The string v2 signs: `v2\n<timestamp>\n<METHOD>\n<url>\n<body>` (a parsed URL holds no newline). */
function signatureBase(request: SignedRequest): string {
  return `v2\n${request.timestamp}\n${request.method.toUpperCase()}\n${signedUrl(request.url)}\n${request.body}`;
}

/** The `x-punctual-signature-v2` value: `sha256=<hex HMAC-SHA256(secret, signature base)>`. */
export function signRequest(secret: string, request: SignedRequest): string {
  return `sha256=${createHmac('sha256', secret).update(signatureBase(request)).digest('hex')}`;
}

export interface VerifyOptions {
  /** The receiver's clock, ms since the epoch (default `Date.now()`): a timestamp further than `toleranceSeconds` away fails. */
  now?: number;
  /** Default 300 (5 minutes). */
  toleranceSeconds?: number;
}

function fresh(ts: string, options: VerifyOptions): boolean {
  const skew = Math.abs((options.now ?? Date.now()) / 1000 - Number(ts));
  return skew <= (options.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS);
}

function sameText(actual: string, expected: string): boolean {
  const a = Buffer.from(actual);
  const e = Buffer.from(expected);
  return a.length === e.length && timingSafeEqual(a, e);
}

/**
 * Checks a request punctual signed (v2): true when `signature` (the `x-punctual-signature-v2` header) is the
 * HMAC of the request's timestamp, method, URL and raw body under `secret`, compared in constant time, and
 * the timestamp is within 5 minutes (`options.toleranceSeconds`) of the receiver's clock (`options.now`,
 * default now). Build `url` from the receiver's own configured origin, not from the Host header.
 *
 * @example
 * const ok = verifySignature(secret, {
 *   method: req.method, url: new URL(req.url, 'https://hooks.example').href, body: rawBody,
 *   timestamp: req.headers['x-punctual-timestamp'],
 * }, req.headers['x-punctual-signature-v2']);
 * if (!ok) return res.writeHead(401).end();
 */
export function verifySignature(
  secret: string,
  request: SignedRequest,
  signature: string | undefined,
  options?: VerifyOptions,
): boolean;
/**
 * Checks a v1 signature (`x-punctual-signature` over `"<timestamp>.<body>"`), within the same tolerance.
 * @deprecated v1 binds neither the method nor the URL; verify `x-punctual-signature-v2` with the request form.
 */
export function verifySignature(
  secret: string,
  timestamp: string | number | undefined,
  body: string,
  header: string | undefined,
  options?: VerifyOptions,
): boolean;
export function verifySignature(
  secret: string,
  first: SignedRequest | string | number | undefined,
  second: string | undefined,
  third?: VerifyOptions | string | undefined,
  fourth?: VerifyOptions,
): boolean {
  const v2 = typeof first === 'object';
  const timestamp = v2 ? first.timestamp : first;
  const header = v2 ? second : (third as string | undefined);
  const options = (v2 ? (third as VerifyOptions | undefined) : fourth) ?? {};
  const ts = String(timestamp ?? '');
  if (!/^\d{1,12}$/.test(ts) || !header || !fresh(ts, options)) return false;
  if (!v2) return sameText(header, signBody(secret, ts, second ?? ''));
  if (!URL.canParse(first.url)) return false;
  return sameText(header, signRequest(secret, { ...first, timestamp: ts }));
}

/** `https://host/path`: no userinfo, no query string (either may carry a secret, and this ends up in run records). */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** `POST https://host/path` without the query string, which may carry a token and ends up in run records. */
export function describeRequest(target: HttpTarget): string {
  try {
    return `${target.method} ${describeUrl(new URL(target.url))}`;
  } catch {
    return `${target.method} ${target.url}`;
  }
}

/** Reads at most about `chars` characters of a body, then lets the rest go (a 5xx page can be large). */
async function readSnippet(response: IncomingMessage, chars: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  try {
    // UTF-8 takes at most 4 bytes a character, so 4 × chars bytes always hold `chars` characters.
    let bytes = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      bytes += chunk.byteLength;
      text += decoder.decode(chunk, { stream: true });
      if (bytes >= chars * 4) break;
    }
    text += decoder.decode();
  } finally {
    response.destroy();
  }
  return text.slice(0, chars);
}

/** 408 (request timeout) and 429 (too many requests) are the 4xx a later attempt can cure. */
function retryableStatus(status: number): boolean {
  return status < 400 || status >= 500 || status === 408 || status === 429;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Headers that carry credentials, dropped when a redirect changes the origin (as browsers drop
 * `authorization`, and more): the job meant them for the host it named, not for wherever that host points.
 */
const CREDENTIAL_HEADER =
  /^(authorization|proxy-authorization|cookie|x-api-key|x-punctual-signature(-v2)?|x-punctual-timestamp)$|-(token|key|secret|signature(-v2)?|auth|credentials?)$/;

const DEFAULT_GUARD = new TargetGuard();

export interface HttpDeps {
  clients: TargetClients;
  signal: AbortSignal;
  /** The operator's target policy; the stack default (https, public addresses, no redirects) when omitted. */
  policy?: TargetGuard;
}

function familyOf(options: LookupOptions): 0 | 4 | 6 {
  const family = options.family as number | string | undefined;
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

/**
 * The `lookup` a connection resolves its host with: the guard's resolver, then every address checked
 * against the policy before the socket may connect to one of them. A refusal travels out as the
 * request's error. (`net.connect` calls no lookup for a literal address: `checkUrl` refused those already.)
 */
function guardedLookup(guard: TargetGuard, destinationAllowed: boolean): LookupFunction {
  return (hostname, options, callback) => {
    const done = callback as (
      error: Error | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void;
    guard.resolve(hostname).then(
      (resolved) => {
        const family = familyOf(options);
        const addresses = family ? resolved.filter((a) => a.family === family) : resolved;
        let error: Error | undefined;
        if (addresses.length === 0) {
          error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
            code: 'ENOTFOUND',
            hostname,
          });
        } else {
          try {
            // Every address, not only the first: with happy eyeballs the socket may try any of them.
            for (const { address } of addresses) guard.checkAddress(address, hostname, destinationAllowed);
          } catch (refusal) {
            error = refusal as Error;
          }
        }
        if (error) done(error, '', 0);
        else if (options.all) done(null, addresses);
        else done(null, addresses[0]!.address, addresses[0]!.family);
      },
      (error: Error) => done(error, '', 0),
    );
  };
}

interface Outgoing {
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** One request on a connection of its own; resolves with the response head. */
function send(
  url: URL,
  outgoing: Outgoing,
  guard: TargetGuard,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const options: RequestOptions = {
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    ...(url.port ? { port: Number(url.port) } : {}),
    path: `${url.pathname}${url.search}`,
    method: outgoing.method,
    headers: outgoing.headers,
    signal,
    // A fresh connection for every request, so that the address it reaches is the one its lookup has just
    // checked: a pooled keep-alive socket would skip the lookup (and a policy that allows a URL prefix
    // must not lend its socket to another path of the same host).
    agent: false,
    lookup: guardedLookup(guard, guard.destinationAllowed(url)),
  };
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options, resolve);
    request.on('error', reject);
    request.end(outgoing.body);
  });
}

/** `text` with every secret value sent replaced by `[secret NAME]`. */
function withoutSecrets(text: string, sent: readonly { name: string; value: string }[]): string {
  let out = text;
  for (const { name, value } of sent) if (value.length >= 4) out = out.split(value).join(`[secret ${name}]`);
  return out;
}

/** A policy refusal: final, since every attempt would meet the same policy. */
function refused(where: string, refusal: TargetPolicyRefusal): TargetError {
  return new TargetError(`${where}: ${refusal.message}`, false, { cause: refusal });
}

/**
 * Every secret the target names must be declared; one that is not fails the run at once (no attempt
 * would find it) and nothing is read or sent. The message names the field, never a value, and not the
 * declared names (which are the operator's).
 */
function checkDeclared(target: HttpTarget, secrets: SecretResolver, what: string): void {
  for (const { path, name } of secretRefs(target)) {
    if (!secrets.has(name)) {
      throw new TargetError(
        `${what}: ${path} "${name}" is not a secret declared for this deployment ` +
          "(the construct's secrets prop; punctual dev --secret NAME=ENV_VAR); nothing was sent",
        false,
      );
    }
  }
}

/** A declared secret's value. A failed read may be transient (throttling, a network error): retryable. */
async function read(secrets: SecretResolver, name: string, what: string): Promise<string> {
  try {
    return await secrets.get(name);
  } catch (error) {
    throw new TargetError(`${what}: secret "${name}" could not be read: ${describeError(error)}`, true, {
      cause: error,
    });
  }
}

export async function invokeHttp(target: HttpTarget, ctx: RunContext, deps: HttpDeps): Promise<TargetResult> {
  const what = describeRequest(target);
  if (!URL.canParse(target.url)) {
    throw new TargetError(`${what}: "${target.url}" is not a valid URL`, false);
  }
  const guard = deps.policy ?? DEFAULT_GUARD;
  let url = new URL(target.url);
  try {
    guard.checkUrl(url);
  } catch (error) {
    if (error instanceof TargetPolicyRefusal) throw refused(what, error);
    throw error;
  }
  if (url.username || url.password) {
    throw new TargetError(
      `${what}: the URL carries user:password@; send credentials in a header instead`,
      false,
    );
  }
  const body = target.method === 'GET' ? undefined : runMessage(ctx);
  const secrets = deps.clients.secrets ?? NO_SECRETS;
  const hmacSecret = target.hmacSecret ?? target.hmacSecretEnv;
  checkDeclared(target, secrets, what);

  // Later `set`s win, so a job's own headers can replace content-type or user-agent but never the run
  // headers or the signature (Headers is case-insensitive, a plain object would send both spellings).
  const headers = new Headers();
  if (body !== undefined) headers.set('content-type', 'application/json');
  headers.set('user-agent', 'punctual');
  // The values read, so that an answer echoing one (a receiver quoting the request in its error page)
  // does not carry it into the run record, the DLQ and the CLI.
  const sent: { name: string; value: string }[] = [];
  for (const [name, value] of Object.entries(target.headers ?? {})) {
    // Validation refuses x-punctual-* and idempotency-key; a forged stored definition must not set them either.
    if (/^x-punctual-|^idempotency-key$/i.test(name)) continue;
    if (typeof value === 'string') {
      headers.set(name, value);
      continue;
    }
    const secret = await read(secrets, value.secret, what);
    sent.push({ name: value.secret, value: secret });
    headers.set(name, `${value.prefix ?? ''}${secret}`);
  }
  headers.set(IDEMPOTENCY_HEADER, idempotencyKey(ctx));
  headers.set(RUN_ID_HEADER, ctx.runId);
  headers.set(ATTEMPT_HEADER, String(ctx.attempt));

  if (ctx.completionToken !== undefined) headers.set(COMPLETION_TOKEN_HEADER, ctx.completionToken);
  // The secret stays here, never in the headers: each hop is signed for what it sends (below).
  let signingSecret = hmacSecret ? await read(secrets, hmacSecret, what) : undefined;
  if (hmacSecret && signingSecret) sent.push({ name: hmacSecret, value: signingSecret });
  const timestamp = Math.floor((deps.clients.now ?? Date.now)() / 1000);
  if (body !== undefined) headers.set('content-length', String(Buffer.byteLength(body)));

  const outgoing: Outgoing = { method: target.method, headers: Object.fromEntries(headers), body };
  let where = what;
  for (let hop = 0; ; hop++) {
    if (signingSecret) {
      // v2 binds the method and the URL of this hop; v1 (deprecated) only the body.
      const signed = { method: outgoing.method, url: url.href, timestamp, body: outgoing.body ?? '' };
      outgoing.headers[TIMESTAMP_HEADER] = String(timestamp);
      outgoing.headers[SIGNATURE_V2_HEADER] = signRequest(signingSecret, signed);
      outgoing.headers[SIGNATURE_HEADER] = signBody(signingSecret, timestamp, signed.body);
    }
    let response: IncomingMessage;
    try {
      response = await send(url, outgoing, guard, deps.signal);
    } catch (error) {
      if (error instanceof TargetPolicyRefusal) throw refused(where, error);
      if (deps.signal.aborted) throw error; // invokeTarget turns it into the timeout error
      // Connection refused, DNS failure, TLS error: the endpoint may be back for the next attempt.
      throw new TargetError(`${where}: ${describeError(error)}`, true, { cause: error });
    }
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (REDIRECT_STATUSES.has(status) && location !== undefined) {
      // A redirect's body is never read: it is the next hop, not the destination, that may answer.
      response.destroy();
      const next = URL.canParse(location, url.href) ? new URL(location, url) : undefined;
      if (!next || (next.protocol !== 'http:' && next.protocol !== 'https:')) {
        throw new TargetError(`${where}: HTTP ${status} redirect to an invalid or non-http Location`, false);
      }
      try {
        guard.checkRedirect(hop + 1, status, describeUrl(next));
        guard.checkUrl(next);
      } catch (error) {
        if (error instanceof TargetPolicyRefusal) throw refused(where, error);
        throw error;
      }
      if (next.origin !== url.origin) {
        for (const name of Object.keys(outgoing.headers)) {
          if (CREDENTIAL_HEADER.test(name)) delete outgoing.headers[name];
        }
        signingSecret = undefined; // another origin gets no signature either
      }
      // What fetch does: 303 (and 301/302 after a POST) continue as a GET without a body; 307/308 keep both.
      if (status === 303 || ((status === 301 || status === 302) && outgoing.method === 'POST')) {
        outgoing.method = 'GET';
        outgoing.body = undefined;
        for (const name of ['content-type', 'content-length']) {
          delete outgoing.headers[name];
        }
      }
      url = next;
      where = `${what} → ${describeUrl(url)}`;
      continue;
    }
    if (status >= 200 && status < 300) {
      response.destroy();
      return { detail: `HTTP ${status}` };
    }
    // Only a destination the policy allowed answers here (a refused one was never connected to), so its
    // body, bounded, may go into the run record.
    // Read past the quoted length by the longest secret, so that one starting inside it is whole when scrubbed.
    const longest = Math.max(0, ...sent.map(({ value }) => value.length));
    const snippet = withoutSecrets(
      await readSnippet(response, SNIPPET_CHARS + longest).catch(() => ''),
      sent,
    ).slice(0, SNIPPET_CHARS);
    throw new TargetError(
      `${where}: HTTP ${status}${snippet ? `: ${snippet}` : ''}`,
      retryableStatus(status),
    );
  }
}
