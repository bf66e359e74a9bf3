/**
 * The punctual console: a small HTTP server on 127.0.0.1 that renders the pages of console/pages.ts from
 * a `PunctualClient` (the same client, and so the same connection code, as the CLI).
 *
 * Security, as Jupyter does it: a random token in the printed URL (taken from `?token=` once, then kept
 * in an HttpOnly, SameSite=Strict cookie); the `Host` header must name this console (a DNS-rebinding page
 * whose name resolves to 127.0.0.1 sends its own); a request that carries an `Origin` must come from this
 * console, and a POST must carry one (no cross-site form posts). Actions (POST) only with `allowActions`.
 * Every refusal answers 403 with the reason.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { PunctualClient } from '../shared/client/index.js';
import { JobNotFoundError, PunctualError, RunNotFoundError } from '../shared/errors.js';
import { errorMessage, mapLimit } from '../shared/util.js';
import { escapeHtml, type Html, type LayoutOptions, layout } from './html.js';
import {
  calendarsPage,
  dlqPage,
  healthPage,
  type JobFilters,
  jobHref,
  jobPage,
  jobsPage,
  runHref,
  runPage,
  WINDOWS,
  type WindowName,
  windowRuns,
} from './pages.js';

export interface ConsoleOptions {
  client: PunctualClient;
  /** Allow the actions (trigger, pause, resume, replay, bulk replay, redrive, purge). Default: read-only. */
  allowActions?: boolean;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** The token of the URL; a random one by default (tests pass their own). */
  token?: string;
  /** The clock (epoch ms) pages read `now` from. */
  clock?: () => number;
}

export interface ConsoleServer {
  /** `http://127.0.0.1:PORT/?token=…`: the URL to open. */
  url: string;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const MAX_BODY = 64 * 1024;

/** The console's own assets and uPlot's (copied beside them into dist/console/assets by the build). */
const ASSETS: Record<string, { type: string; file: () => string }> = {
  'console.css': { type: 'text/css', file: () => ownAsset('console.css') },
  'console.js': { type: 'text/javascript', file: () => ownAsset('console.js') },
  'uPlot.min.css': { type: 'text/css', file: () => uplotAsset('uPlot.min.css') },
  'uPlot.iife.min.js': { type: 'text/javascript', file: () => uplotAsset('uPlot.iife.min.js') },
};

function ownAsset(name: string): string {
  return fileURLToPath(new URL(`./assets/${name}`, import.meta.url));
}

/** In the package, uPlot ships in dist/console/assets; in the repository it is read from node_modules. */
async function readAsset(name: string): Promise<Buffer> {
  const asset = ASSETS[name];
  if (!asset) throw new Error(`no asset ${name}`);
  try {
    return await readFile(ownAsset(name));
  } catch {
    return readFile(asset.file());
  }
}

function uplotAsset(name: string): string {
  return createRequire(import.meta.url).resolve(`uplot/dist/${name}`);
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookies(request: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) out.set(part.slice(0, at).trim(), decodeURIComponent(part.slice(at + 1).trim()));
  }
  return out;
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const type = request.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded'))
    throw new Refusal(
      415,
      `content-type ${JSON.stringify(type)}: a form post (application/x-www-form-urlencoded) is expected`,
    );
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Refusal(413, `the form is larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Starts the console; resolves once it listens. */
export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const { client } = options;
  const allowActions = options.allowActions ?? false;
  const token = options.token ?? randomBytes(24).toString('base64url');
  const clock = options.clock ?? Date.now;
  const target = (await client.deployment()).label;
  const flashes = new Map<string, { ok: boolean; text: string }>();
  let port = 0;
  const cookieName = () => `punctual_console_${port}`;
  const hosts = () => [`127.0.0.1:${port}`, `localhost:${port}`];

  /** Refuses what did not come from this console's own pages (see the module comment). */
  const check = (request: IncomingMessage, url: URL): 'ok' | 'redirect' => {
    const host = request.headers.host ?? '';
    if (!hosts().includes(host))
      throw new Refusal(
        403,
        `Host ${JSON.stringify(host)} is not this console (${hosts().join(' or ')}): refused, as a DNS-rebinding page would send it`,
      );
    const origin = request.headers.origin;
    const origins = hosts().map((h) => `http://${h}`);
    if (origin !== undefined && !origins.includes(origin))
      throw new Refusal(
        403,
        `Origin ${JSON.stringify(origin)} is not this console (${origins.join(' or ')}): cross-site requests are refused`,
      );
    if (request.method === 'POST' && origin === undefined)
      throw new Refusal(
        403,
        'a POST must carry the Origin header of this console; refused (no cross-site form posts)',
      );
    const given = url.searchParams.get('token');
    if (given !== null) {
      if (!sameToken(given, token))
        throw new Refusal(
          403,
          'the token in the URL is not this console’s: open the URL the console printed',
        );
      return request.method === 'GET' ? 'redirect' : 'ok';
    }
    const held = cookies(request).get(cookieName());
    if (held === undefined || !sameToken(held, token))
      throw new Refusal(403, 'no valid token: open the URL the console printed (it ends with ?token=…)');
    return 'ok';
  };

  /** What a page view cost: read capacity before it, and when it started. */
  let meter = { rcu: 0, started: 0 };
  const page = async (
    response: ServerResponse,
    title: string,
    section: LayoutOptions['section'],
    url: URL,
    body: Html,
    charts = false,
  ) => {
    const flashId = url.searchParams.get('flash');
    const flash = flashId ? flashes.get(flashId) : undefined;
    if (flashId) flashes.delete(flashId);
    const cost = {
      rcu: (await client.consumedReadCapacity()) - meter.rcu,
      ms: performance.now() - meter.started,
    };
    send(
      response,
      200,
      'text/html; charset=utf-8',
      layout({ title, target, allowActions, section, flash, charts, cost }, body).text,
    );
  };

  /** After an action: back to `location`, with its outcome shown once. */
  const done = (response: ServerResponse, location: string, ok: boolean, text: string) => {
    const id = randomBytes(8).toString('hex');
    flashes.set(id, { ok, text });
    if (flashes.size > 100) flashes.delete(flashes.keys().next().value as string);
    response
      .writeHead(303, { location: `${location}${location.includes('?') ? '&' : '?'}flash=${id}` })
      .end();
  };

  const get = async (response: ServerResponse, url: URL, parts: string[]) => {
    const [first, second] = parts;
    if (parts.length === 0) {
      const filters: JobFilters = {
        ...(url.searchParams.get('q') ? { q: url.searchParams.get('q')! } : {}),
        ...(url.searchParams.get('pool') ? { pool: url.searchParams.get('pool')! } : {}),
        ...(url.searchParams.get('status') ? { status: url.searchParams.get('status')! } : {}),
        ...(url.searchParams.get('paused') ? { paused: url.searchParams.get('paused')! } : {}),
        ...(url.searchParams.get('overdue') ? { overdue: true } : {}),
        ...(url.searchParams.get('tag') ? { tag: url.searchParams.get('tag')! } : {}),
      };
      return page(response, 'Jobs', 'jobs', url, await jobsPage(client, filters));
    }
    if (first === 'jobs' && second && parts.length === 2) {
      const name = url.searchParams.get('window') ?? 'hour';
      if (!(name in WINDOWS))
        throw new Refusal(400, `window ${JSON.stringify(name)}: one of ${Object.keys(WINDOWS).join(', ')}`);
      const body = await jobPage(client, second, { window: name as WindowName, now: clock(), allowActions });
      return page(response, second, 'jobs', url, body, true);
    }
    if (first === 'runs' && second && parts.length === 2)
      return page(response, second, 'jobs', url, await runPage(client, second, allowActions));
    if (first === 'dlq' && parts.length === 1)
      return page(response, 'DLQ', 'dlq', url, await dlqPage(client, allowActions));
    if (first === 'calendars' && parts.length === 1)
      return page(response, 'Calendars', 'calendars', url, await calendarsPage(client));
    if (first === 'health' && parts.length === 1)
      return page(response, 'Health', 'health', url, await healthPage(client));
    throw new Refusal(404, `no page ${url.pathname}`);
  };

  const post = async (request: IncomingMessage, response: ServerResponse, url: URL, parts: string[]) => {
    if (!allowActions)
      throw new Refusal(
        403,
        'this console is read-only: start it with --allow-actions to trigger, pause, resume, replay, redrive and purge',
      );
    const form = await readForm(request);
    const [first, second, action] = parts;
    if (first === 'jobs' && second && parts.length === 3) {
      const back = jobHref(second);
      if (action === 'trigger') {
        const run = await client.triggerJob(second);
        return done(response, back, true, `triggered: run ${run.runId}`);
      }
      if (action === 'pause') {
        const note = form.get('note')?.trim();
        if (!note) throw new Refusal(400, 'note "": say why the job is paused (it is shown in jobs list)');
        await client.pauseJob(second, { note });
        return done(response, back, true, `paused: ${note}`);
      }
      if (action === 'resume') {
        const replay = form.get('replay') === '1';
        await client.resumeJob(second, { replay });
        return done(
          response,
          back,
          true,
          `resumed${replay ? ', the slots that passed while paused handed to catch-up' : ''}`,
        );
      }
      if (action === 'bulk-replay')
        return done(response, back, true, await bulkReplay(client, second, form, clock()));
    }
    if (first === 'runs' && second && action === 'replay' && parts.length === 3) {
      const run = await client.replayRun(second);
      return done(response, runHref(second), true, `replayed: run ${run.runId} is ${run.status} again`);
    }
    if (first === 'dlq' && second === 'redrive' && parts.length === 2) {
      const pool = form.get('pool') || undefined;
      const results = await client.redriveDlq(pool ? { pool } : {});
      const moved = results
        .map(
          (r) =>
            `pool ${r.pool} ${r.status}, ${r.moved} of ${r.toMove} moved${r.failureReason ? ` (${r.failureReason})` : ''}`,
        )
        .join('; ');
      return done(response, '/dlq', true, `redrive: ${moved}`);
    }
    if (first === 'dlq' && second === 'purge' && parts.length === 2) {
      if (form.get('confirm') !== '1')
        throw new Refusal(
          400,
          'confirm: tick the box: purged messages are gone, their runs stay failed and can no longer be redriven',
        );
      const pool = form.get('pool') || undefined;
      const jobId = form.get('job') || undefined;
      const results = await client.purgeDlq({ ...(pool ? { pool } : {}), ...(jobId ? { jobId } : {}) });
      const text = results
        .map(
          (r) =>
            `pool ${r.pool}: ${r.entries.length} deleted${r.kept ? `, ${r.kept} of other jobs kept` : ''}`,
        )
        .join('; ');
      return done(response, '/dlq', true, `purge${jobId ? ` of job ${jobId}'s messages` : ''}: ${text}`);
    }
    throw new Refusal(404, `no action ${url.pathname}`);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', `http://${HOST}:${port}`);
    try {
      if (request.method !== 'GET' && request.method !== 'POST' && request.method !== 'HEAD')
        throw new Refusal(405, `method ${request.method} is not allowed`);
      if (check(request, url) === 'redirect') {
        url.searchParams.delete('token');
        response
          .writeHead(303, {
            'set-cookie': `${cookieName()}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
            location: `${url.pathname}${url.search}`,
          })
          .end();
        return;
      }
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      if (parts[0] === 'assets' && parts.length === 2 && request.method !== 'POST') {
        const asset = ASSETS[parts[1]!];
        if (!asset) throw new Refusal(404, `no asset ${parts[1]}`);
        const body = await readAsset(parts[1]!);
        response
          .writeHead(200, { 'content-type': asset.type, 'cache-control': 'private, max-age=3600' })
          .end(body);
        return;
      }
      if (request.method === 'POST') await post(request, response, url, parts);
      else {
        meter = { rcu: await client.consumedReadCapacity(), started: performance.now() };
        await get(response, url, parts);
      }
    } catch (error) {
      const status =
        error instanceof Refusal
          ? error.status
          : error instanceof JobNotFoundError || error instanceof RunNotFoundError
            ? 404
            : error instanceof PunctualError
              ? 400
              : 500;
      const message = errorMessage(error);
      if (response.headersSent) {
        response.end();
        return;
      }
      if (request.method === 'POST' && !(error instanceof Refusal) && status !== 500) {
        // An action the deployment refused (not replayable, not found): shown on the page it came from.
        const back = new URL(request.headers.referer ?? '/', url).pathname;
        return done(response, back, false, message);
      }
      send(
        response,
        status,
        'text/html; charset=utf-8',
        `<!doctype html><meta charset="utf-8"><title>${status}</title><link rel="stylesheet" href="/assets/console.css"><main><h1>${status}</h1><p class="refusal">${escapeHtml(message)}</p><p><a href="/">jobs</a></p></main>`,
      );
    }
  };

  const server: Server = createServer((request, response) => {
    void handle(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new PunctualError(
              `console port ${options.port}: already in use on ${HOST}; pick another with --console-port`,
            )
          : error,
      ),
    );
    server.listen(options.port ?? 0, HOST, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://${HOST}:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response
    .writeHead(status, {
      'content-type': type,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'content-security-policy':
        "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
      'referrer-policy': 'same-origin',
    })
    .end(body);
}

const BULK_STATUSES = new Set(['failed', 'missed']);

/**
 * Replays the failed and/or missed runs of a job whose slot is in the form's window [from, to) (each with
 * `replayRun`), and with `backfill` runs the window's slots that have no record (`backfill`).
 */
async function bulkReplay(
  client: PunctualClient,
  jobId: string,
  form: URLSearchParams,
  now: number,
): Promise<string> {
  const from = Date.parse(form.get('from') ?? '');
  const to = Date.parse(form.get('to') ?? '');
  if (!Number.isFinite(from) || !Number.isFinite(to) || !(from < to))
    throw new Refusal(
      400,
      `window from ${JSON.stringify(form.get('from'))} to ${JSON.stringify(form.get('to'))}: give two ISO times, from before to`,
    );
  const statuses = form.getAll('status');
  for (const status of statuses)
    if (!BULK_STATUSES.has(status))
      throw new Refusal(400, `status ${JSON.stringify(status)}: bulk replay takes failed or missed`);
  const backfill = form.get('backfill') === '1';
  if (!statuses.length && !backfill) throw new Refusal(400, 'status: tick failed or missed (or backfill)');
  const { runs } = await windowRuns(client, jobId, from, to);
  const chosen = runs.filter((run) => statuses.includes(run.status));
  const errors: string[] = [];
  let replayed = 0;
  await mapLimit(chosen, 8, async (run) => {
    try {
      await client.replayRun(run.runId);
      replayed += 1;
    } catch (error) {
      errors.push(`${run.runId}: ${errorMessage(error)}`);
    }
  });
  let text = `replayed ${replayed} of ${chosen.length} ${statuses.join(' and ') || ''} run(s) of ${new Date(from).toISOString()} → ${new Date(to).toISOString()}`;
  if (backfill) {
    const result = await client.backfill(jobId, { from, to: Math.min(to, now) });
    text += `; backfill: ${result.created} run(s) created for slots with no record, ${result.existing} kept`;
  }
  if (errors.length) text += `; not replayed: ${errors.join('; ')}`;
  return text;
}
