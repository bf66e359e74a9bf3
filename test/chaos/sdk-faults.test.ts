/**
 * Fault injection at the AWS SDK (chaos/faults.ts): throttling, timeouts and connection resets (before
 * the call, and after it was applied with the response lost), and SendMessageBatch entries that fail on
 * their own. Each scenario runs a bounded schedule on the local runtime under the fault, settles with the
 * faults off, and counts: every slot must have a terminal run record, and no attempt may start twice.
 * `npm run chaos` runs the same scenarios larger.
 */
import { describe, expect, inject, it } from 'vitest';
import { printResult, type ScenarioResult, sdkScenarios } from '../../chaos/scenarios.js';

async function scenario(name: keyof typeof sdkScenarios): Promise<ScenarioResult> {
  const result = await sdkScenarios[name]!({ endpoints: inject('endpoints'), scale: 'test', seed: 42 });
  printResult(result, (line) => console.log(line));
  return result;
}

describe('chaos: faults of the AWS SDK calls', () => {
  it('throttling: every slot gets a fate and no run starts twice', async () => {
    const result = await scenario('throttling');

    expect(result.injected.throttle).toBeGreaterThan(0);
    expect(result.withoutFate).toEqual([]);
    expect(result.startedTwice).toEqual([]);
  });

  it('SendMessageBatch partial failures: the unsent slots are sent again, each run starts once', async () => {
    const result = await scenario('partial-batch');

    expect(result.injected['partial-batch']).toBeGreaterThan(0);
    expect(result.withoutFate).toEqual([]);
    expect(result.startedTwice).toEqual([]);
  });

  it('timeouts before and after the call was applied: every slot gets a fate, no run starts twice', async () => {
    const result = await scenario('timeouts');

    expect(result.injected['timeout-after']).toBeGreaterThan(0);
    expect(result.withoutFate).toEqual([]);
    expect(result.startedTwice).toEqual([]);
  });

  it('connection resets before and after the call was applied: every slot gets a fate, no run starts twice', async () => {
    const result = await scenario('resets');

    expect(result.injected['reset-after']).toBeGreaterThan(0);
    expect(result.withoutFate).toEqual([]);
    expect(result.startedTwice).toEqual([]);
  });
});
