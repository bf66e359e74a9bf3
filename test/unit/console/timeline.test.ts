import { describe, expect, it } from 'vitest';
import { buildTimeline } from '../../../console/timeline.js';
import type { Run } from '../../../shared/client/index.js';

const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();

function run(minute: number, status: Run['status'], fields: Partial<Run> = {}): Run {
  return {
    runId: `j@${at(minute)}`,
    jobId: 'j',
    scheduledAt: at(minute),
    status,
    reason: null,
    calendar: null,
    replacedBy: null,
    attempt: 1,
    manual: false,
    backfill: false,
    replays: 0,
    dispatchedAt: null,
    startedAt: null,
    finishedAt: null,
    startLagMs: null,
    durationMs: null,
    lastError: null,
    attempts: [],
    targetType: 'handler',
    pool: 'default',
    maxAttempts: 1,
    lastHeartbeatAt: null,
    heartbeatDeadline: null,
    runDeadline: null,
    output: null,
    ...fields,
  };
}

describe('slot timeline', () => {
  const slots = [0, 1, 2, 3, 4, 5].map(at);

  it('gives each slot its run’s fate, a past slot without a run unrecorded, a future one upcoming', () => {
    const runs = [
      run(0, 'succeeded'),
      run(1, 'missed', { reason: 'catch-up-skip' }),
      run(2, 'retrying'),
      run(5, 'dispatched'),
    ];
    const timeline = buildTimeline(slots, runs, T0 + 3.5 * 60_000, 100);
    expect(timeline.cells.map((cell) => cell.fate)).toEqual([
      'succeeded',
      'missed',
      'running',
      'unrecorded',
      'upcoming',
      'upcoming',
    ]);
    expect(timeline.bucket).toBe(1);
    expect(timeline.totals).toEqual({ succeeded: 1, missed: 1, running: 1, unrecorded: 1, upcoming: 2 });
  });

  it('a dispatched run whose slot passed is pending, not upcoming', () => {
    const timeline = buildTimeline([at(0)], [run(0, 'queued')], T0 + 1000, 100);
    expect(timeline.cells[0]?.fate).toBe('pending');
  });

  it('puts a manual run between the slots, as a cell of its own', () => {
    const manual = run(2.5, 'succeeded', { manual: true, runId: `j@manual-${at(2.5)}` });
    const timeline = buildTimeline(slots, [manual], T0 + 10 * 60_000, 100);
    expect(timeline.cells).toHaveLength(7);
    expect(timeline.cells[3]?.run?.runId).toBe(`j@manual-${at(2.5)}`);
  });

  it('groups more slots than maxCells into buckets showing the fate that most needs a look', () => {
    const runs = [
      run(0, 'succeeded'),
      run(1, 'failed'),
      run(2, 'succeeded'),
      run(3, 'succeeded'),
      run(4, 'skipped'),
      run(5, 'succeeded'),
    ];
    const timeline = buildTimeline(slots, runs, T0 + 10 * 60_000, 2);
    expect(timeline.bucket).toBe(3);
    expect(timeline.cells.map((cell) => [cell.fate, cell.slots])).toEqual([
      ['failed', 3],
      ['skipped', 3],
    ]);
    expect(timeline.cells[0]?.counts).toEqual({ succeeded: 2, failed: 1 });
  });

  it('marks the upcoming slots a calendar excludes; a passed one without a record stays unrecorded', () => {
    const now = T0 + 2.5 * 60_000;
    const excluded = { [at(1)]: 'freeze', [at(4)]: 'freeze' };
    const timeline = buildTimeline(slots, [run(0, 'succeeded')], now, 100, excluded);
    expect(timeline.cells.map((cell) => [cell.fate, cell.calendar ?? null])).toEqual([
      ['succeeded', null],
      ['unrecorded', null],
      ['unrecorded', null],
      ['upcoming', null],
      ['excluded', 'freeze'],
      ['upcoming', null],
    ]);
    expect(timeline.totals).toEqual({ succeeded: 1, unrecorded: 2, upcoming: 2, excluded: 1 });
  });
});
