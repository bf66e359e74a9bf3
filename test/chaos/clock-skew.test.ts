/**
 * Two ticks whose clocks are 5 s ahead and 5 s behind real time, over one table and its queues, both
 * polling the pool: overlapping claims and early messages are harmless.
 */
import { expect, inject, it } from 'vitest';
import { clockSkew } from '../../chaos/realtime.js';
import { printResult } from '../../chaos/scenarios.js';

it('chaos: two ticks with clocks ±5 s apart over one table: every slot has one fate, none starts twice', async () => {
  const result = await clockSkew({ endpoints: inject('endpoints'), scale: 'test' });
  printResult(result, (line) => console.log(line));

  expect(result.withoutFate).toEqual([]);
  expect(result.startedTwice).toEqual([]);
});
