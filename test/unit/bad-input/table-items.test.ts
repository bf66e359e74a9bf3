/**
 * Job items edited by hand in the console into something the scheduler cannot trust (SPEC §7): the tick
 * marks the job invalid with the error (out of the due index, a `Job Invalid` event, the InvalidJobs
 * metric) and dispatches every other job; the broken job's item keeps the hand edit for a person to fix.
 * (test/integration/tick.test.ts covers a bad schedule; these are the other ways an item goes wrong.)
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../../local/runtime.js';
import { jobKey } from '../../../shared/store/model.js';
import { job, ManualClock, put, T0, testRuntime } from '../../support/runtime.js';

let runtime: LocalRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

interface Case {
  name: string;
  /** SET expression over the item, with its names and values. */
  set: string;
  names?: Record<string, string>;
  values: Record<string, unknown>;
  error: string;
}

const cases: Case[] = [
  {
    name: 'version as text',
    set: '#v = :bad',
    names: { '#v': 'version' },
    values: { ':bad': '7' },
    error: 'version "7": must be an integer',
  },
  {
    name: 'enabled as "yes"',
    set: 'enabled = :bad',
    values: { ':bad': 'yes' },
    error: 'enabled "yes": must be true or false',
  },
  {
    name: 'a cursor that is not a time',
    set: '#c = :bad',
    names: { '#c': 'cursor' },
    values: { ':bad': 'last tuesday' },
    error: 'cursor "last tuesday": must be an ISO-8601 UTC time',
  },
  {
    name: 'an anchor with an offset',
    set: 'anchor = :bad',
    values: { ':bad': '2026-12-01T01:00:00+01:00' },
    error: 'anchor "2026-12-01T01:00:00+01:00": must be an ISO-8601 UTC time',
  },
  {
    name: 'a definition for another job id',
    set: '#d.id = :bad',
    names: { '#d': 'definition' },
    values: { ':bad': 'someone-else' },
    error: 'definition.id "someone-else": must equal the item\'s jobId "broken"',
  },
  {
    name: 'an unknown target type',
    set: '#d.target = :bad',
    names: { '#d': 'definition' },
    values: { ':bad': { type: 'carrier-pigeon' } },
    error:
      'definition: invalid job "broken":\n  - target.type "carrier-pigeon": must be one of http, lambda, sqs, eventbridge, handler, stepfunctions, ecs',
  },
  {
    name: 'a definition that is a string',
    set: '#d = :bad',
    names: { '#d': 'definition' },
    values: { ':bad': 'rate(1 minute) noop' },
    error: 'definition: invalid job:\n  - (root) "rate(1 minute) noop": must be an object, not a string',
  },
  {
    name: 'a time zone that does not exist',
    set: '#d.#tz = :bad',
    names: { '#d': 'definition', '#tz': 'timezone' },
    values: { ':bad': 'Europe/Atlantis' },
    error:
      'definition: invalid job "broken":\n  - timezone "Europe/Atlantis": is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)',
  },
];

describe('a job item corrupted by hand', () => {
  it.each(cases)(
    '$name: the job is marked invalid with the error, the other jobs are dispatched',
    async (c) => {
      const clock = new ManualClock(T0);
      runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 } });
      for (const id of ['good-1', 'broken', 'good-2'])
        await put(runtime, job(id, { schedule: 'rate(1 minute)' }), T0 - 1000);
      await runtime.store.doc.send(
        new UpdateCommand({
          TableName: runtime.state.tableName,
          Key: jobKey('broken'),
          UpdateExpression: `SET ${c.set}`,
          ...(c.names ? { ExpressionAttributeNames: c.names } : {}),
          ExpressionAttributeValues: c.values,
        }),
      );

      const report = await runtime.tick();

      expect(report.invalidJobs).toBe(1);
      expect(report.slotsDispatched).toBe(2);
      expect(report.errors).toEqual([]);
      const broken = await runtime.store.getJobRaw('broken');
      expect((broken?.invalid as { error: string } | undefined)?.error).toBe(c.error);
      expect(broken?.dueAt).toBeUndefined();
      expect(runtime.signals.events.filter((e) => e.type === 'Job Invalid').map((e) => e.detail)).toEqual([
        { jobId: 'broken', error: c.error },
      ]);
      expect((await runtime.allRuns()).map((run) => run.jobId).sort()).toEqual(['good-1', 'good-2']);
    },
  );
});
