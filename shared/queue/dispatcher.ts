/**
 * Sends run messages to a pool's queue. `SendMessageBatch` takes 10 entries a call; an entry can fail on
 * its own (the call succeeds with a `Failed` list), and the caller must not advance a job whose slot was
 * not sent (SPEC §2, claim protocol step 3).
 */
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { chunk, mapLimit } from '../util.js';
import type { RunMessage } from './messages.js';

/** SQS's per-message delay ceiling (DelaySeconds ≤ 900). */
export const MAX_DELAY_SECONDS = 900;

export interface OutgoingMessage {
  body: RunMessage;
  delaySeconds: number;
}

export interface SendResult {
  /** Run ids whose message was not accepted. */
  failed: { runId: string; error: string }[];
}

export interface Dispatcher {
  send(queueUrl: string, messages: OutgoingMessage[]): Promise<SendResult>;
  /** One raw body (DLQ records, poison messages). */
  sendRaw(queueUrl: string, body: string, delaySeconds?: number): Promise<void>;
}

/**
 * `DelaySeconds` for a slot: whole seconds, rounded down, never above SQS's limit. The message may
 * therefore arrive up to a second before its slot; the executor waits out that remainder before it starts
 * the run (see `waitForSlot`), so a run never starts early and its start lag is not rounded up to the
 * next second.
 */
export function delayFor(slot: number, now: number): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.floor((slot - now) / 1000)));
}

export class SqsDispatcher implements Dispatcher {
  constructor(private readonly sqs: SQSClient) {}

  async send(queueUrl: string, messages: OutgoingMessage[]): Promise<SendResult> {
    const failed: SendResult['failed'] = [];
    await mapLimit(chunk(messages, 10), 4, async (batch) => {
      try {
        const result = await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            // Ids only need to be unique within one call: m0…m9.
            Entries: batch.map((message, i) => ({
              Id: `m${i}`,
              MessageBody: JSON.stringify(message.body),
              DelaySeconds: message.delaySeconds,
            })),
          }),
        );
        for (const entry of result.Failed ?? []) {
          const index = Number(entry.Id?.slice(1));
          const runId = batch[index]?.body.runId ?? entry.Id ?? '?';
          failed.push({ runId, error: `${entry.Code ?? 'Failed'}: ${entry.Message ?? ''}`.trim() });
        }
      } catch (error) {
        for (const message of batch)
          failed.push({ runId: message.body.runId, error: (error as Error).message });
      }
    });
    return { failed };
  }

  async sendRaw(queueUrl: string, body: string, delaySeconds = 0): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delaySeconds }),
    );
  }
}

/**
 * Gathers the messages of concurrent `send` calls to one queue into `SendMessageBatch` calls of up to 10,
 * whichever job they come from: a tick that claims 100 one-slot jobs makes about 10 requests, not 100
 * (SQS bills each request, $0.40 a million). A batch goes out when it is full, or `lingerMs` after its first
 * message when it is not. Each caller is answered with the failures of its own messages only, so a job is
 * still advanced only when every one of its slots was sent (SPEC §2, step 3).
 */
export class CoalescingDispatcher implements Dispatcher {
  private readonly pending = new Map<
    string,
    { message: OutgoingMessage; done: (error?: string) => void }[]
  >();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly inner: Dispatcher,
    private readonly lingerMs = 10,
  ) {}

  async send(queueUrl: string, messages: OutgoingMessage[]): Promise<SendResult> {
    const outcomes = await Promise.all(
      messages.map(
        (message) =>
          new Promise<string | undefined>((resolve) => {
            const queue = this.pending.get(queueUrl) ?? [];
            this.pending.set(queueUrl, queue);
            queue.push({ message, done: resolve });
            if (queue.length >= 10) this.flush(queueUrl);
            else if (!this.timers.has(queueUrl))
              this.timers.set(
                queueUrl,
                setTimeout(() => this.flush(queueUrl), this.lingerMs),
              );
          }),
      ),
    );
    const failed: SendResult['failed'] = [];
    outcomes.forEach((error, i) => {
      if (error !== undefined) failed.push({ runId: messages[i]!.body.runId, error });
    });
    return { failed };
  }

  sendRaw(queueUrl: string, body: string, delaySeconds?: number): Promise<void> {
    return this.inner.sendRaw(queueUrl, body, delaySeconds);
  }

  private flush(queueUrl: string): void {
    const timer = this.timers.get(queueUrl);
    if (timer) clearTimeout(timer);
    this.timers.delete(queueUrl);
    const queue = this.pending.get(queueUrl) ?? [];
    while (queue.length) {
      const batch = queue.splice(0, 10);
      this.inner
        .send(
          queueUrl,
          batch.map((entry) => entry.message),
        )
        .then(
          ({ failed }) => {
            // Entries are told apart by run id: one tick sends a run id once.
            const errors = new Map(failed.map((failure) => [failure.runId, failure.error]));
            for (const entry of batch) entry.done(errors.get(entry.message.body.runId));
          },
          (error: unknown) => {
            for (const entry of batch) entry.done((error as Error)?.message ?? String(error));
          },
        );
    }
  }
}
