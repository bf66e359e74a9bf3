import { describe, expect, it } from 'vitest';
import { buildReport } from '../../../local/report.js';
import type { RunItem } from '../../../shared/store/model.js';

function run(
  fields: Partial<RunItem> & Pick<RunItem, 'runId' | 'jobId' | 'scheduledAt' | 'status'>,
): RunItem {
  return {
    pk: '',
    sk: '',
    type: 'run',
    definition: {} as RunItem['definition'],
    jobVersion: 1,
    attempt: 0,
    attempts: [],
    expiresAt: 0,
    createdAt: '',
    updatedAt: '',
    ...fields,
  };
}

describe('the --report of punctual dev', () => {
  it('holds every run with the SPEC fields, null where a step did not happen, sorted by slot', () => {
    const report = buildReport(Date.parse('2026-12-01T00:00:00Z'), Date.parse('2026-12-01T00:01:30Z'), [
      run({
        runId: 'b@2026-12-01T00:00:10.000Z',
        jobId: 'b',
        scheduledAt: '2026-12-01T00:00:10.000Z',
        status: 'missed',
        reason: 'coalesced',
        finishedAt: '2026-12-01T00:00:11.000Z',
      }),
      run({
        runId: 'a@2026-12-01T00:00:05.000Z',
        jobId: 'a',
        scheduledAt: '2026-12-01T00:00:05.000Z',
        status: 'succeeded',
        reason: 'ok',
        attempt: 1,
        dispatchedAt: '2026-12-01T00:00:01.000Z',
        startedAt: '2026-12-01T00:00:05.020Z',
        finishedAt: '2026-12-01T00:00:05.100Z',
      }),
    ]);

    expect(report).toEqual({
      startedAt: '2026-12-01T00:00:00.000Z',
      stoppedAt: '2026-12-01T00:01:30.000Z',
      runs: [
        {
          jobId: 'a',
          runId: 'a@2026-12-01T00:00:05.000Z',
          scheduledAt: '2026-12-01T00:00:05.000Z',
          dispatchedAt: '2026-12-01T00:00:01.000Z',
          startedAt: '2026-12-01T00:00:05.020Z',
          finishedAt: '2026-12-01T00:00:05.100Z',
          status: 'succeeded',
          reason: 'ok',
          attempt: 1,
        },
        {
          jobId: 'b',
          runId: 'b@2026-12-01T00:00:10.000Z',
          scheduledAt: '2026-12-01T00:00:10.000Z',
          dispatchedAt: null,
          startedAt: null,
          finishedAt: '2026-12-01T00:00:11.000Z',
          status: 'missed',
          reason: 'coalesced',
          attempt: 0,
        },
      ],
    });
  });
});
