import { describe, expect, it } from 'vitest';
import {
  CoalescingDispatcher,
  type Dispatcher,
  type OutgoingMessage,
  type SendResult,
} from '../../shared/queue/dispatcher.js';

/** Records each batch it is given; fails the run ids it is told to. */
class RecordingDispatcher implements Dispatcher {
  readonly batches: { queueUrl: string; runIds: string[] }[] = [];
  constructor(private readonly failing = new Set<string>()) {}
  async send(queueUrl: string, messages: OutgoingMessage[]): Promise<SendResult> {
    this.batches.push({ queueUrl, runIds: messages.map((m) => m.body.runId) });
    return {
      failed: messages
        .filter((m) => this.failing.has(m.body.runId))
        .map((m) => ({ runId: m.body.runId, error: 'InternalError: refused' })),
    };
  }
  async sendRaw(): Promise<void> {}
}

const message = (runId: string): OutgoingMessage => ({
  body: { v: 1, runId, jobId: runId.split('@')[0]!, scheduledAt: '2026-12-01T00:00:00.000Z', attempt: 1 },
  delaySeconds: 0,
});

describe('coalescing dispatcher', () => {
  it('sends the slots of concurrent jobs 10 to a SendMessageBatch call', async () => {
    const inner = new RecordingDispatcher();
    const dispatcher = new CoalescingDispatcher(inner, 5);
    const results = await Promise.all(
      Array.from({ length: 23 }, (_, i) => dispatcher.send('q', [message(`job-${i}@t`)])),
    );
    expect(results.every((result) => result.failed.length === 0)).toBe(true);
    expect(inner.batches.map((batch) => batch.runIds.length)).toEqual([10, 10, 3]);
  });

  it('keeps queues apart', async () => {
    const inner = new RecordingDispatcher();
    const dispatcher = new CoalescingDispatcher(inner, 5);
    await Promise.all([
      dispatcher.send('a', [message('x@1')]),
      dispatcher.send('b', [message('y@1')]),
      dispatcher.send('a', [message('z@1')]),
    ]);
    expect(inner.batches).toEqual([
      { queueUrl: 'a', runIds: ['x@1', 'z@1'] },
      { queueUrl: 'b', runIds: ['y@1'] },
    ]);
  });

  it("answers each caller with its own messages' failures only", async () => {
    const inner = new RecordingDispatcher(new Set(['b@2']));
    const dispatcher = new CoalescingDispatcher(inner, 5);
    const [a, b] = await Promise.all([
      dispatcher.send('q', [message('a@1'), message('a@2')]),
      dispatcher.send('q', [message('b@1'), message('b@2')]),
    ]);
    expect(inner.batches).toHaveLength(1);
    expect(a.failed).toEqual([]);
    expect(b.failed).toEqual([{ runId: 'b@2', error: 'InternalError: refused' }]);
  });

  it('fails every message of a batch whose call threw', async () => {
    const inner: Dispatcher = {
      send: async () => {
        throw new Error('connection reset');
      },
      sendRaw: async () => {},
    };
    const dispatcher = new CoalescingDispatcher(inner, 5);
    const [a, b] = await Promise.all([
      dispatcher.send('q', [message('a@1')]),
      dispatcher.send('q', [message('b@1')]),
    ]);
    expect(a.failed).toEqual([{ runId: 'a@1', error: 'connection reset' }]);
    expect(b.failed).toEqual([{ runId: 'b@1', error: 'connection reset' }]);
  });
});
