/**
 * The console's test fixture: a local runtime on the run's emulators with a manual clock, its state file
 * in a directory of its own (as `punctual dev` writes it), a `PunctualClient.local()` on it and the
 * console served from that client: what `punctual dev` does, with time in the test's hands.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConsoleServer, startConsole } from '../../console/server.js';
import type { LocalRuntime } from '../../local/runtime.js';
import { PunctualClient } from '../../shared/client/client.js';
import { stateFilePath } from '../../shared/client/connection.js';
import { job, ManualClock, put, T0, testRuntime } from './runtime.js';

export interface ConsoleFixture {
  runtime: LocalRuntime;
  clock: ManualClock;
  client: PunctualClient;
  server: ConsoleServer;
  stop(): Promise<void>;
}

export async function consoleFixture(options: { allowActions?: boolean } = {}): Promise<ConsoleFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'punctual-console-'));
  const clock = new ManualClock(T0);
  const runtime = await testRuntime({
    clock: clock.fn,
    tick: { lookaheadMs: 0 },
    stateFile: stateFilePath(dir),
  });
  const client = await PunctualClient.local(dir, { clock: clock.fn });
  const server = await startConsole({
    client,
    clock: clock.fn,
    allowActions: options.allowActions ?? false,
  });
  return {
    runtime,
    clock,
    client,
    server,
    stop: async () => {
      await server.close();
      client.close();
      await runtime.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Job `gappy` (rate(1 minute), catch-up skip) runs its first two slots; then the tick stops for seven
 * minutes: the tick after it records the slots 00:02 … 00:08 missed(catch-up-skip). The clock ends at
 * 00:08:45.
 */
export async function tickGap(fixture: ConsoleFixture): Promise<void> {
  const { runtime, clock } = fixture;
  await put(runtime, job('gappy', { schedule: 'rate(1 minute)', catchUp: 'skip' }), T0);
  for (const minute of [0, 1]) {
    clock.set(T0 + minute * 60_000);
    await runtime.tick();
    await runtime.drain();
  }
  clock.set(T0 + 8 * 60_000 + 30_000);
  await runtime.tick();
  clock.set(T0 + 8 * 60_000 + 45_000);
}

/**
 * Job `batch` (rate(1 minute), handler `flaky` at 50 %, one attempt): ten slots, each run's fate fixed by a
 * hash of its run id, so some fail and some succeed. The clock ends at 00:10:30.
 */
export async function mixedOutcomes(fixture: ConsoleFixture): Promise<void> {
  const { runtime, clock } = fixture;
  await put(
    runtime,
    job('batch', {
      schedule: 'rate(1 minute)',
      target: { type: 'handler', name: 'flaky' },
      payload: { failPercent: 50 },
      retry: { maxAttempts: 1 },
    }),
    T0,
  );
  for (let minute = 0; minute < 10; minute++) {
    clock.set(T0 + minute * 60_000);
    await runtime.tick();
    await runtime.drain();
  }
  clock.set(T0 + 10 * 60_000 + 30_000);
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request to the console (fetch would not let a test set `Host`). */
export function ask(
  server: ConsoleServer,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: options.method ?? 'GET',
        headers: { host: `127.0.0.1:${server.port}`, ...options.headers },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The cookie that `?token=` sets, for the requests after it. */
export function tokenCookie(server: ConsoleServer): string {
  return `punctual_console_${server.port}=${server.token}`;
}

/** GET `url` (a console URL) with `cookie`; the cookie a `?token=` answer sets comes back as `cookie`. */
export function getPage(
  url: string,
  cookie?: string,
): Promise<{ status: number; body: string; cookie?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: cookie ? { cookie } : {} }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body,
          ...(response.headers['set-cookie']
            ? { cookie: response.headers['set-cookie'][0]!.split(';')[0]! }
            : {}),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
