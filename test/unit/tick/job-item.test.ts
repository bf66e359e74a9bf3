/** Job item rules: the due key (`dueKeyKept`) and the previous-run summary it keeps (`previousRunOf`). */
import { describe, expect, it } from 'vitest';
import {
  DUE_KEY_MAX_STEP_MS,
  DUE_KEY_SPAN_MS,
  dueKeyKept,
  iso,
  previousRunOf,
} from '../../../shared/store/model.js';

const T = Date.parse('2026-12-01T00:00:00.000Z');
const MIN = 60_000;

describe('dueKeyKept', () => {
  it('keeps the key of a job stepping a minute, until the next slot is more than the span ahead of it', () => {
    const key = { dueAt: iso(T), dueShard: 2 };
    expect(dueKeyKept(key, 2, iso(T + 10 * MIN), T + 11 * MIN)).toBe(true);
    expect(dueKeyKept(key, 2, iso(T + DUE_KEY_SPAN_MS - MIN), T + DUE_KEY_SPAN_MS)).toBe(true);
    expect(dueKeyKept(key, 2, iso(T + DUE_KEY_SPAN_MS), T + DUE_KEY_SPAN_MS + MIN)).toBe(false);
  });

  it('moves the key of a job that steps by more than five minutes (the reads in between would cost more)', () => {
    const key = { dueAt: iso(T), dueShard: 0 };
    expect(dueKeyKept(key, 0, iso(T), T + DUE_KEY_MAX_STEP_MS)).toBe(true);
    expect(dueKeyKept(key, 0, iso(T), T + DUE_KEY_MAX_STEP_MS + 1)).toBe(false);
    expect(dueKeyKept(key, 0, iso(T), T + 24 * 60 * MIN)).toBe(false);
  });

  it('never keeps a key later than the next slot, in another shard, or when there is none', () => {
    expect(dueKeyKept({ dueAt: iso(T + MIN), dueShard: 0 }, 0, iso(T), T + 30_000)).toBe(false);
    expect(dueKeyKept({ dueAt: iso(T), dueShard: 1 }, 0, iso(T), T + MIN)).toBe(false);
    expect(dueKeyKept({ dueShard: 0 }, 0, iso(T), T + MIN)).toBe(false);
    expect(dueKeyKept({ dueAt: iso(T), dueShard: 0 }, 0, undefined, T + MIN)).toBe(false);
    // A schedule edited backwards (the next slot before the one read): the key moves.
    expect(dueKeyKept({ dueAt: iso(T), dueShard: 0 }, 0, iso(T + 2 * MIN), T + MIN)).toBe(false);
  });
});

describe('previousRunOf (the job item keeps lastRun without its run id)', () => {
  const stored = {
    scheduledAt: '2026-12-01T00:01:00.000Z',
    status: 'succeeded',
    reason: 'ok',
    finishedAt: '2026-12-01T00:01:02.000Z',
  };

  it('derives the run id of a scheduled run from the job id and the slot', () => {
    expect(previousRunOf(stored, 'nightly')?.runId).toBe('nightly@2026-12-01T00:01:00.000Z');
  });

  it('reads an item written before, which carries runId, as it is', () => {
    expect(previousRunOf({ ...stored, runId: 'nightly@older' }, 'nightly')?.runId).toBe('nightly@older');
  });

  it('refuses a summary without a valid slot', () => {
    expect(previousRunOf({ ...stored, scheduledAt: 'yesterday' }, 'nightly')).toBeUndefined();
  });
});
