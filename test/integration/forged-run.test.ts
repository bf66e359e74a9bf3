/**
 * The executor validates what it reads from a run record (issue 18): whoever may write a job's items (a
 * grantee of grantManageJobs) could rewrite a claimed run's definition copy. A record whose definition
 * raises its retry budget beyond the limits, or differs from the definition item it names (another
 * target), is failed without being started.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { runKey } from '../../shared/store/model.js';
import { countingHandlers, ManualClock, put, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

describe('a forged run record', () => {
  for (const [name, payload, expression, values, error] of [
    [
      'a retry budget beyond the limits',
      undefined,
      'SET #d.retry.maxAttempts = :n',
      { ':n': 100_000 },
      /not started: the run record's definition is not a valid job definition \(retry\.maxAttempts 100000/,
    ],
    [
      'another target (job with a definition item)',
      { big: 'x' },
      'SET #d.target.#n = :h, jobVersion = :v',
      { ':h': 'other', ':v': 99 },
      /not started: the run record's definition differs from definition item/,
    ],
  ] as const) {
    it(`is failed, not started: ${name}`, async () => {
      // prepare
      const clock = new ManualClock(T0);
      const { starts, handlers } = countingHandlers();
      handlers.register('other', () => {
        starts.set('other', (starts.get('other') ?? 0) + 1);
      });
      runtime = await testRuntime({ clock: clock.fn, handlers, tick: { lookaheadMs: 0 } });
      await put(
        runtime,
        {
          id: 'victim',
          schedule: 'rate(1 hour)',
          target: { type: 'handler', name: 'count' },
          ...(payload ? { payload } : {}),
        },
        clock.now,
      );
      await runtime.tick();
      const [run] = await runtime.allRuns();
      const names: Record<string, string> = { '#d': 'definition' };
      if (expression.includes('#n')) names['#n'] = 'name';
      await runtime.store.doc.send(
        new UpdateCommand({
          TableName: runtime.state.tableName,
          Key: runKey(run!.runId),
          UpdateExpression: expression,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );

      // act
      await runtime.drain();

      // assert
      const [after] = await runtime.allRuns();
      expect(after).toMatchObject({ status: 'failed' });
      expect(after?.lastError).toMatch(error);
      expect(starts.size).toBe(0);
    });
  }

  it('leaves an honest run alone', async () => {
    const clock = new ManualClock(T0);
    const { starts, handlers } = countingHandlers();
    runtime = await testRuntime({ clock: clock.fn, handlers, tick: { lookaheadMs: 0 } });
    await put(
      runtime,
      {
        id: 'honest',
        schedule: 'rate(1 hour)',
        target: { type: 'handler', name: 'count' },
        payload: { a: 1 },
      },
      clock.now,
    );
    await runtime.tick();

    await runtime.drain();

    expect((await runtime.allRuns())[0]).toMatchObject({ status: 'succeeded' });
    expect(starts.size).toBe(1);
  });
});
