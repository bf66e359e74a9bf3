import { describe, expect, it } from 'vitest';
import { outcomeLines, renderView } from '../../../cli/view.js';
import type { JobItem } from '../../../shared/store/model.js';

const NOW = Date.parse('2026-12-01T00:00:30.000Z');

function job(id: string, fields: Partial<JobItem> = {}): JobItem {
  return {
    pk: `JOB#${id}`,
    sk: 'JOB',
    type: 'job',
    jobId: id,
    definition: {
      id,
      schedule: 'rate(10 seconds)',
      timezone: 'UTC',
      target: { type: 'handler', name: 'noop', timeout: 30_000 },
      pool: 'default',
      catchUp: 'latest',
      maxCatchUp: 10,
      startingDeadline: 600_000,
      overlap: 'skip',
      retry: { maxAttempts: 3, backoff: 30_000 },
      jitter: 0,
      pauseAfterFailures: 0,
      enabled: true,
    },
    anchor: '2026-12-01T00:00:00.000Z',
    cursor: '2026-12-01T00:00:30.000Z',
    nextRunAt: '2026-12-01T00:00:40.000Z',
    version: 3,
    enabled: true,
    consecutiveFailures: 0,
    counts: { succeeded: 2, missed: 1 },
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:30.000Z',
    lastOutcome: {
      runId: `${id}@2026-12-01T00:00:20.000Z`,
      status: 'succeeded',
      reason: 'ok',
      scheduledAt: '2026-12-01T00:00:20.000Z',
      startLagMs: 120,
      at: '2026-12-01T00:00:20.200Z',
    },
    ...fields,
  };
}

describe('the live view of punctual dev', () => {
  it('shows each job with its next slot, last outcome, start lag and missed count', () => {
    const frame = renderView(
      {
        now: NOW,
        startedAt: NOW - 30_000,
        tickMs: 1000,
        jobs: [job('alpha'), job('beta', { enabled: false, note: 'maintenance' })],
        queues: { default: { queue: 0, inFlight: 1, delayed: 2, dlq: 0 } },
        recent: ['echo POST /hook'],
      },
      { color: false, columns: 160 },
    );

    const alpha = frame.split('\n').find((line) => line.startsWith('alpha'));
    expect(alpha).toMatch(/^alpha\s+every 10 seconds\s+00:00:40Z in 10s\s+succeeded\s+120ms\s+1/);
    expect(frame).toContain('paused: maintenance');
    // A slot on another day keeps its date (issue 21 item 10): a daily job at midnight is not "00:00:00Z in 23h59m".
    const tomorrow = renderView(
      {
        now: NOW,
        startedAt: NOW,
        tickMs: 1000,
        jobs: [
          job('daily', {
            definition: { ...job('x').definition, id: 'daily', schedule: 'cron(0 0 * * ? *)' },
            nextRunAt: '2026-12-02T00:00:00.000Z',
            cursor: '2026-12-01T00:00:00.000Z',
          }),
        ],
        queues: {},
        recent: [],
      },
      { color: false, columns: 160 },
    );
    expect(tomorrow.split('\n').find((line) => line.startsWith('daily'))).toContain('2026-12-02 00:00:00Z');
    expect(frame).toContain('pool default: 0 queued, 1 in flight, 2 delayed, DLQ 0');
    expect(frame).toContain('echo POST /hook');
  });

  it('prints one plain line per new outcome when it is not a terminal, and none for an outcome already shown', () => {
    const seen = new Map<string, string>();

    const first = outcomeLines([job('alpha')], seen);
    const again = outcomeLines([job('alpha')], seen);

    expect(first).toEqual([
      '2026-12-01T00:00:20.200Z alpha alpha@2026-12-01T00:00:20.000Z succeeded start lag 120ms',
    ]);
    expect(again).toEqual([]);
  });
});
