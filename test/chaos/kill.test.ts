/**
 * kill -9 of a runtime process (tick, executors and its in-memory SQS emulator) at random moments,
 * restarted on the same table: the messages in flight are lost with it, and the sweep must still give
 * every slot a fate. `npm run chaos` also kills the `punctual dev` CLI itself on a --data-dir.
 */
import { expect, inject, it } from 'vitest';
import { killRuntime } from '../../chaos/realtime.js';
import { printResult } from '../../chaos/scenarios.js';

it('chaos: kill -9 of the runtime at random moments, restarted: every slot gets a fate, none starts twice', async () => {
  const result = await killRuntime({ endpoints: inject('endpoints'), scale: 'test', seed: 7 });
  printResult(result, (line) => console.log(line));

  expect(result.withoutFate).toEqual([]);
  expect(result.startedTwice).toEqual([]);
  // Real time: the window, then the killed executors' leases (3 s + the 30 s margin) must pass.
}, 240_000);
