import { describe, expect, it } from 'vitest';
import { describeDlqMessage } from '../../../shared/client/dlq.js';

const NOW = Date.parse('2026-12-01T00:10:00.000Z');

describe('a DLQ message as dlq list shows it', () => {
  it('names the run, the job, the attempts and the last error of a failed run', () => {
    const body = {
      v: 1,
      runId: 'a@2026-12-01T00:00:00.000Z',
      jobId: 'a',
      scheduledAt: '2026-12-01T00:00:00.000Z',
      attempt: 4,
      replay: true,
      failedAt: '2026-12-01T00:05:00.000Z',
      lastError: 'HTTP 503',
      attempts: 3,
      poolName: 'default',
    };

    const entry = describeDlqMessage(
      'default',
      { MessageId: 'm1', Body: JSON.stringify(body), Attributes: { ApproximateReceiveCount: '2' } },
      NOW,
    );

    expect(entry).toEqual({
      pool: 'default',
      messageId: 'm1',
      runId: 'a@2026-12-01T00:00:00.000Z',
      jobId: 'a',
      attempts: 3,
      lastError: 'HTTP 503',
      failedAt: '2026-12-01T00:05:00.000Z',
      ageMs: 300_000,
      poison: false,
      receiveCount: 2,
    });
  });

  it('flags a message the executor could not read, with the reason', () => {
    const body = {
      v: 1,
      poison: true,
      error: 'message body is not JSON',
      body: 'garbage',
      receivedAt: '2026-12-01T00:09:00.000Z',
    };

    const entry = describeDlqMessage('default', { MessageId: 'm2', Body: JSON.stringify(body) }, NOW);

    expect(entry).toMatchObject({
      runId: null,
      jobId: null,
      poison: true,
      lastError: 'message body is not JSON',
      ageMs: 60_000,
    });
  });
});
