import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { HandlerTarget } from '../../../shared/jobs/types.js';
import {
  builtinHandlers,
  defaultHandlers,
  HandlerRegistry,
  registerHandler,
  stableHash,
} from '../../../shared/targets/handlers.js';
import { invokeTarget } from '../../../shared/targets/invoke.js';
import { type RunContext, type TargetClients, TargetError } from '../../../shared/targets/types.js';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const clients: TargetClients = {
  lambda: new LambdaClient(config),
  sqs: new SQSClient(config),
  eventBridge: new EventBridgeClient(config),
};

function context(overrides: Partial<RunContext> = {}): RunContext {
  return {
    jobId: 'demo',
    runId: 'demo@2026-03-01T02:00:00.000Z',
    scheduledAt: '2026-03-01T02:00:00.000Z',
    attempt: 1,
    manual: false,
    payload: undefined,
    ...overrides,
  };
}

function run(
  name: string,
  overrides: Partial<RunContext> = {},
  options: { handlers?: HandlerRegistry; signal?: AbortSignal; timeout?: number } = {},
) {
  const target: HandlerTarget = { type: 'handler', name, timeout: options.timeout ?? 5000 };
  return invokeTarget(target, context(overrides), {
    clients,
    handlers: options.handlers ?? builtinHandlers({ write: () => undefined }),
    signal: options.signal ?? new AbortController().signal,
  });
}

async function failure(promise: Promise<unknown>): Promise<TargetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TargetError);
  return error as TargetError;
}

describe('HandlerRegistry', () => {
  it('finds a registered handler by name and lists names sorted', () => {
    // prepare
    const registry = new HandlerRegistry();
    const fn = () => 'done';

    // act
    registry.register('zeta', fn).register('alpha', fn);

    // assert
    expect(registry.get('zeta')).toBe(fn);
    expect(registry.get('missing')).toBeUndefined();
    expect(registry.names()).toEqual(['alpha', 'zeta']);
  });

  it('refuses a second handler under the same name unless replace is asked', () => {
    // prepare
    const registry = builtinHandlers();
    const mine = () => 'mine';

    // act
    const duplicate = () => registry.register('log', mine);
    registry.register('noop', mine, { replace: true });

    // assert
    expect(duplicate).toThrow(/handler "log" is already registered/);
    expect(registry.get('noop')).toBe(mine);
  });

  it('registerHandler adds to the default registry the executor uses', async () => {
    // prepare
    registerHandler('handlers-test-refresh', (ctx) => `refreshed ${ctx.jobId}`);

    // act
    const result = await run('handlers-test-refresh', {}, { handlers: defaultHandlers });

    // assert
    expect(result.detail).toBe('refreshed demo');
    expect(defaultHandlers.names()).toEqual(
      expect.arrayContaining(['noop', 'log', 'sleep', 'fail', 'flaky']),
    );
  });
});

describe('handler target', () => {
  it('fails as not retryable when the name is not registered, listing the registered ones', async () => {
    // act
    const error = await failure(run('nope'));

    // assert
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('handler "nope" is not registered');
    expect(error.message).toContain('fail, flaky, log, noop, sleep');
  });

  it('reports what the handler returned as the detail', async () => {
    // prepare
    const handlers = new HandlerRegistry().register('count', () => ({ rows: 3 }));

    // act
    const result = await run('count', {}, { handlers });

    // assert
    expect(result).toEqual({ detail: '{"rows":3}' });
  });

  it('wraps an ordinary exception as a retryable failure that keeps the cause', async () => {
    // prepare
    const boom = new Error('disk full');
    const handlers = new HandlerRegistry().register('boom', () => {
      throw boom;
    });

    // act
    const error = await failure(run('boom', {}, { handlers }));

    // assert
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('handler boom: Error: disk full');
    expect(error.cause).toBe(boom);
  });

  it('times out at the deadline even when the handler ignores the signal', async () => {
    // prepare
    const handlers = new HandlerRegistry().register('stuck', () => new Promise(() => undefined));

    // act
    const error = await failure(run('stuck', {}, { handlers, signal: AbortSignal.timeout(30), timeout: 30 }));

    // assert
    expect(error.timedOut).toBe(true);
    expect(error.message).toBe('timed out after 30ms (handler stuck)');
  });

  it('does not start the handler when the deadline has already passed', async () => {
    // prepare
    let started = false;
    const handlers = new HandlerRegistry().register('tracked', () => {
      started = true;
    });
    const controller = new AbortController();
    controller.abort();

    // act
    const error = await failure(run('tracked', {}, { handlers, signal: controller.signal }));

    // assert
    expect(error.timedOut).toBe(true);
    expect(started).toBe(false);
  });
});

describe('builtin handlers', () => {
  it('noop succeeds without detail', async () => {
    // act
    const result = await run('noop');

    // assert
    expect(result).toEqual({});
  });

  it('log writes one JSON line holding the run context', async () => {
    // prepare
    const lines: string[] = [];
    const handlers = builtinHandlers({ write: (line) => lines.push(line) });

    // act
    await run('log', { attempt: 2, payload: { note: 'hi' } }, { handlers });

    // assert
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(lines[0]?.trim()).not.toContain('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      jobId: 'demo',
      runId: 'demo@2026-03-01T02:00:00.000Z',
      scheduledAt: '2026-03-01T02:00:00.000Z',
      attempt: 2,
      manual: false,
      payload: { note: 'hi' },
    });
  });

  it('sleep waits payload.ms', async () => {
    // prepare
    const started = performance.now();

    // act
    const result = await run('sleep', { payload: { ms: 40 } });

    // assert
    expect(result.detail).toBe('slept 40ms');
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
  });

  it('sleep with deterministic bounds sleeps as long for the same run id, within the bounds', async () => {
    // prepare
    const payload = { minMs: 5, maxMs: 30, deterministic: true };
    const expected = 5 + (stableHash('demo@2026-03-01T02:00:00.000Z') % 26);

    // act
    const first = await run('sleep', { payload });
    const replay = await run('sleep', { payload, attempt: 2 });

    // assert
    expect(first.detail).toBe(`slept ${expected}ms`);
    expect(replay.detail).toBe(first.detail);
  });

  it('sleep with bounds draws a random duration between them', async () => {
    // prepare
    const handlers = builtinHandlers({ random: () => 0.5 });

    // act
    const result = await run('sleep', { payload: { minMs: 10, maxMs: 20 } }, { handlers });

    // assert
    expect(result.detail).toBe('slept 15ms');
  });

  it('sleep stops when the deadline aborts', async () => {
    // prepare
    const started = performance.now();

    // act
    const error = await failure(
      run('sleep', { payload: { ms: 10_000 } }, { signal: AbortSignal.timeout(30) }),
    );

    // assert
    expect(error.timedOut).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('sleep refuses a payload without a duration, naming the fields', async () => {
    // act
    const missing = await failure(run('sleep', { payload: {} }));
    const negative = await failure(run('sleep', { payload: { ms: -1 } }));

    // assert
    expect(missing.retryable).toBe(false);
    expect(missing.message).toContain('payload.ms');
    expect(negative.message).toBe('handler sleep: payload.ms -1: must be a number ≥ 0');
  });

  it('fail throws payload.message as a retryable failure', async () => {
    // act
    const error = await failure(run('fail', { payload: { message: 'upstream said no' } }));

    // assert
    expect(error.message).toBe('upstream said no');
    expect(error.retryable).toBe(true);
  });

  it('fail with succeedOnAttempt fails before that attempt and succeeds from it on', async () => {
    // prepare
    const payload = { message: 'not yet', succeedOnAttempt: 3 };

    // act
    const second = await failure(run('fail', { payload, attempt: 2 }));
    const third = await run('fail', { payload, attempt: 3 });
    const fourth = await run('fail', { payload, attempt: 4 });

    // assert
    expect(second.message).toBe('not yet');
    expect(third.detail).toBe('succeeded on attempt 3');
    expect(fourth.detail).toBe('succeeded on attempt 4');
  });

  it('fail with retryable false fails the run for good', async () => {
    // act
    const error = await failure(run('fail', { payload: { retryable: false } }));

    // assert
    expect(error.retryable).toBe(false);
  });

  it('flaky fails exactly when the run id hash mod 100 is below failPercent', async () => {
    // prepare
    const runId = 'demo@2026-03-01T02:00:00.000Z';
    const bucket = stableHash(runId) % 100;

    // act
    const atBucket = await run('flaky', { runId, payload: { failPercent: bucket } });
    const aboveBucket = await failure(run('flaky', { runId, payload: { failPercent: bucket + 1 } }));
    const never = await run('flaky', { runId, payload: { failPercent: 0 } });
    const always = await failure(run('flaky', { runId, payload: { failPercent: 100 } }));

    // assert
    expect(atBucket.detail).toContain(`bucket ${bucket}`);
    expect(aboveBucket.retryable).toBe(true);
    expect(never.detail).toContain('passed');
    expect(always.message).toContain('failed');
  });

  it('flaky gives every attempt of a run the same outcome unless perAttempt is set', async () => {
    // prepare
    const attempts = Array.from({ length: 20 }, (_, i) => i + 1);
    const outcome = (payload: object, attempt: number) =>
      run('flaky', { attempt, payload }).then(
        () => 'passed',
        () => 'failed',
      );

    // act
    const perRun = new Set(await Promise.all(attempts.map((a) => outcome({ failPercent: 50 }, a))));
    const perAttempt = new Set(
      await Promise.all(attempts.map((a) => outcome({ failPercent: 50, perAttempt: true }, a))),
    );

    // assert
    expect(perRun.size).toBe(1);
    expect(perAttempt).toEqual(new Set(['passed', 'failed']));
  });
});
