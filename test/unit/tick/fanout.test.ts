/**
 * The fan-out's pure parts: which shards a group owns, the group request a worker accepts, which groups
 * count as stopped, and the sum of the groups' reports.
 */
import { describe, expect, it } from 'vitest';
import {
  checkGroups,
  mergeReports,
  parseGroupRequest,
  STOPPED_AFTER_TICKS,
  stoppedGroups,
} from '../../../shared/tick/fanout.js';
import { groupShards, type TickReport } from '../../../shared/tick/tick.js';

const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const MINUTE = 60_000;
const at = (ms: number) => new Date(ms).toISOString();

describe('shard groups', () => {
  it('give every shard to exactly one group', () => {
    for (const [groups, shards] of [
      [1, 4],
      [3, 8],
      [4, 8],
      [8, 8],
      [5, 32],
    ] as const) {
      const owned = Array.from({ length: groups }, (_, group) => groupShards(group, groups, shards));
      expect(owned.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: shards }, (_, s) => s));
      expect(owned.every((list) => list.length > 0)).toBe(true);
    }
  });

  it('refuses more groups than shards, naming the value and the rule', () => {
    expect(() => checkGroups(5, 4)).toThrow(
      'tick groups 5: must be a whole number from 1 to the shard count (4)',
    );
    expect(() => checkGroups(0, 4)).toThrow(/tick groups 0/);
    expect(() => checkGroups(4, 4)).not.toThrow();
  });
});

describe('group request', () => {
  it('is recognized by its kind; anything else is the coordinator', () => {
    const request = { kind: 'punctual.tick-group', group: 2, groups: 4, firedAt: at(T0) };
    expect(parseGroupRequest(request)).toEqual(request);
    expect(parseGroupRequest({ source: 'aws.events', 'detail-type': 'Scheduled Event' })).toBeUndefined();
    expect(parseGroupRequest({})).toBeUndefined();
  });

  it('reports every bad field at once', () => {
    expect(() =>
      parseGroupRequest({ kind: 'punctual.tick-group', group: 4, groups: 4, firedAt: 'soon' }),
    ).toThrow(
      'tick group request: group 4: must be a whole number from 1 to groups − 1; firedAt "soon": must be an ISO-8601 time',
    );
    expect(() =>
      parseGroupRequest({ kind: 'punctual.tick-group', group: 1, groups: 1, firedAt: at(T0) }),
    ).toThrow(/groups 1: must be a whole number ≥ 2/);
  });
});

describe('stopped groups', () => {
  const coordinator = { lastTickAt: at(T0 + 10 * MINUTE), groups: 3, groupsSince: at(T0) };

  it('are the groups whose heartbeat is older than three intervals', () => {
    const heartbeats = new Map<number, { lastTickAt: string; groups?: number; groupsSince?: string }>([
      [0, coordinator],
      [1, { lastTickAt: at(T0 + 9 * MINUTE) }],
      [2, { lastTickAt: at(T0 + 6 * MINUTE) }],
    ]);
    expect(stoppedGroups(heartbeats, 3, MINUTE, T0 + 10 * MINUTE)).toEqual([2]);
    expect(STOPPED_AFTER_TICKS).toBe(3);
  });

  it('count a group that never reported only once the coordinator has run as long with this many groups', () => {
    const heartbeats = new Map([[0, coordinator]]);
    expect(stoppedGroups(heartbeats, 3, MINUTE, T0 + 3 * MINUTE)).toEqual([]);
    expect(stoppedGroups(heartbeats, 3, MINUTE, T0 + 3 * MINUTE + 1)).toEqual([1, 2]);
    // The coordinator's heartbeat is from another group count (a deploy changed it): not yet.
    expect(stoppedGroups(heartbeats, 4, MINUTE, T0 + 10 * MINUTE)).toEqual([]);
  });
});

describe('merged report', () => {
  const report = (slots: number, errors: string[]): TickReport => ({
    startedAt: at(T0),
    durationMs: slots * 10,
    jobsSeen: slots,
    jobsClaimed: slots,
    contended: 0,
    slotsDispatched: slots,
    slotsRecorded: 1,
    invalidJobs: 0,
    newerFormat: 0,
    overdueJobs: [],
    backlog: 0,
    sendFailures: 0,
    errors: errors.map((error) => ({ jobId: 'x', error })),
    sweep: { examined: 1, resent: 1, missed: 0, retried: 0, failed: 0 },
    repairedJobs: [],
  });

  it('adds the counts, keeps the longest duration and every error', () => {
    const merged = mergeReports([report(3, ['a']), report(5, []), report(2, ['b'])]);
    expect(merged).toMatchObject({ slotsDispatched: 10, jobsSeen: 10, slotsRecorded: 3, durationMs: 50 });
    expect(merged.sweep.resent).toBe(3);
    expect(merged.errors.map((e) => e.error)).toEqual(['a', 'b']);
  });
});
