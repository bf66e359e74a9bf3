/**
 * The idempotency key on every delivery (issue 20, feature 7), end to end through the local runtime: an
 * http job whose receiver fails the first attempt and accepts the second. Both requests carry the same
 * `idempotency-key` (the run id) and their own attempt number, which is what lets a receiver drop a
 * delivery it has already applied (README, "Delivery is at least once"). The sqs target's key is in
 * targets-sqs.test.ts.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { job, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let server: Server;
let port: number;
const received: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  // Fails the first request it gets, accepts every later one.
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(req.headers);
      res.writeHead(received.length === 1 ? 503 : 200).end(received.length === 1 ? 'busy' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('the idempotency key of an http delivery', () => {
  let runtime: LocalRuntime | undefined;
  afterAll(async () => {
    await runtime?.stop();
  });

  it('is the run id on every attempt of a run, beside the attempt number', async () => {
    // prepare
    const clock = new ManualClock(T0);
    runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
    await put(
      runtime,
      job('keyed', {
        schedule: 'rate(1 hour)',
        target: { type: 'http', url: `http://127.0.0.1:${port}/hook` },
        retry: { maxAttempts: 2, backoff: '1s' },
      }),
      T0,
    );

    // act: attempt 1 is refused (503), the retry (sent with a 1 s delay) is accepted
    await runtime.tick();
    expect(await runtime.drain()).toEqual(['retrying']);
    clock.advance(2_000);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await runtime.drain()).toEqual(['succeeded']);

    // assert
    const runId = 'keyed@2026-12-01T00:00:00.000Z';
    expect(received.map((headers) => headers['idempotency-key'])).toEqual([runId, runId]);
    expect(received.map((headers) => headers['x-punctual-attempt'])).toEqual(['1', '2']);
    expect(received.map((headers) => headers['x-punctual-run-id'])).toEqual([runId, runId]);
    const run = await runtime.store.getRun(runId);
    expect(run).toMatchObject({ status: 'succeeded', attempt: 2 });
  });
});
