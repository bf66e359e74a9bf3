/**
 * An executor that dies mid-run: the target has started, and nothing the executor would write afterwards
 * (outcome, retry, DeleteMessage) reaches DynamoDB or SQS. The run's lease expires and the sweep retries
 * it (or records failed(lost)); the redelivered message is absorbed.
 */
import { expect, inject, it } from 'vitest';
import { printResult, sdkScenarios } from '../../chaos/scenarios.js';

it('chaos: runs whose executor died are retried or recorded failed(lost); none starts an attempt twice', async () => {
  const result = await sdkScenarios['executor-death']!({
    endpoints: inject('endpoints'),
    scale: 'test',
    seed: 42,
  });
  printResult(result, (line) => console.log(line));

  expect(result.injected.blackout).toBeGreaterThan(0);
  expect(result.withoutFate).toEqual([]);
  expect(result.startedTwice).toEqual([]);
});
