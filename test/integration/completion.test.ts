/**
 * Completion reports against DynamoDB Local and the SQS emulator: each report is conditional on the run,
 * the attempt and the token; wrong ones are refused, repeats are idempotent, late ones are kept.
 */
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { sendReport } from '../../examples/worker.js';
import { CompletionRefusedError } from '../../shared/client/index.js';
import {
  type CompletionDeps,
  MAX_OUTPUT_BYTES,
  MAX_OUTPUT_DEPTH,
  parseCompletionMessage,
  reportCompletion,
  sweepAsync,
} from '../../shared/runs/completion.js';
import { silentLog } from '../../shared/runs/lifecycle.js';
import { type AsyncSetup, asyncSetup, handedOff, MINUTE, takeOne } from '../support/async.js';

let setup: AsyncSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

function depsOf(s: AsyncSetup): CompletionDeps {
  return {
    store: s.rt.store,
    dispatcher: s.rt.dispatcher,
    signals: s.rt.signals,
    pools: s.rt.routing,
    log: silentLog,
  };
}

function nestedMaps(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = { next: value };
  return value;
}

function report(run: { runId: string; completionToken: string }) {
  return { runId: run.runId, token: run.completionToken, type: 'complete' };
}

/** The names of the DynamoDB commands the runtime (its completions handler, its store) sends from now on. */
function recordCommands(s: AsyncSetup): string[] {
  const names: string[] = [];
  s.rt.dynamo.middlewareStack.add(
    (next, context) => (args) => {
      names.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandNames' },
  );
  return names;
}

async function refusal(promise: Promise<unknown>): Promise<CompletionRefusedError> {
  const error = await promise.then(
    () => undefined,
    (cause: unknown) => cause,
  );
  expect(error).toBeInstanceOf(CompletionRefusedError);
  return error as CompletionRefusedError;
}

describe('completion reports', () => {
  it('refuses a token that is not one of the run’s, naming the run, and changes nothing', async () => {
    setup = await asyncSetup({});
    const handed = await handedOff(setup);
    const before = await setup.rt.store.getRun(handed.runId);

    const error = await refusal(setup.client.complete(handed.runId, 'x'.repeat(43)));

    expect(error.refused).toBe('wrong-token');
    expect(error.message).toContain(handed.runId);
    expect(await setup.rt.store.getRun(handed.runId)).toEqual(before);
  });

  it('refuses a report by attempt for an attempt the run has not made', async () => {
    setup = await asyncSetup({});
    const handed = await handedOff(setup);

    const result = await reportCompletion(
      depsOf(setup),
      { runId: handed.runId, attempt: 3, source: 'stepfunctions', type: 'complete' },
      setup.clock.now,
    );

    expect(result).toMatchObject({ ok: false, refused: 'wrong-attempt' });
  });

  it('a repeated complete is idempotent: duplicate, the run unchanged', async () => {
    setup = await asyncSetup({});
    const handed = await handedOff(setup);
    setup.clock.advance(MINUTE);
    const first = await setup.client.complete(handed.runId, handed.completionToken, { ok: 1 });
    const afterFirst = await setup.rt.store.getRun(handed.runId);
    setup.clock.advance(MINUTE);

    const second = await setup.client.complete(handed.runId, handed.completionToken, { ok: 1 });

    expect(first.outcome).toBe('succeeded');
    expect(second.outcome).toBe('duplicate');
    expect(await setup.rt.store.getRun(handed.runId)).toEqual(afterFirst);
    expect((await setup.rt.store.getJob('agent'))?.counts).toEqual({ succeeded: 1 });
    // A heartbeat after the worker's own end is refused (stop working), not kept.
    const late = await refusal(setup.client.heartbeat(handed.runId, handed.completionToken));
    expect(late).toMatchObject({ refused: 'attempt-ended', kept: false });
  });

  it('fail retries with a new attempt and token while the budget lasts, then fails the run to the DLQ', async () => {
    setup = await asyncSetup({ retry: { maxAttempts: 2, backoff: '1s' } });
    const first = await handedOff(setup);

    const retried = await setup.client.fail(first.runId, first.completionToken, 'upstream 503');
    expect(retried.outcome).toBe('retrying');
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the retry's real DelaySeconds
    setup.clock.advance(2_000);
    expect(await setup.rt.drain()).toEqual(['handed-off']);
    const second = await takeOne(setup.worker);
    const failed = await setup.client.fail(second.runId, second.completionToken, 'upstream 503 again');

    expect(failed.outcome).toBe('failed');
    expect(failed.run).toMatchObject({ status: 'failed', reason: 'error', lastError: 'upstream 503 again' });
    expect(failed.run.attempts.map((attempt) => attempt.status)).toEqual(['failed', 'failed']);
    const { Messages } = await setup.rt.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: setup.rt.pools[0]!.dlqUrl, MaxNumberOfMessages: 10 }),
    );
    expect(Messages?.map((message) => JSON.parse(message.Body ?? '{}').lastError)).toEqual([
      'upstream 503 again',
    ]);
    // The first attempt's token is refused once the second exists.
    const stale = await refusal(setup.client.heartbeat(first.runId, first.completionToken));
    expect(stale.refused).toBe('attempt-ended');
  });

  it('a late report after the attempt was declared lost is kept once per kind and changes nothing else', async () => {
    setup = await asyncSetup({ heartbeatTimeout: '1m', retry: { maxAttempts: 1 } });
    const handed = await handedOff(setup);
    setup.clock.advance(2 * MINUTE);
    await setup.rt.tick();
    const lost = await setup.rt.store.getRun(handed.runId);
    expect(lost).toMatchObject({ status: 'failed', reason: 'lost' });

    const first = await refusal(setup.client.fail(handed.runId, handed.completionToken, 'gave up'));
    const again = await refusal(setup.client.fail(handed.runId, handed.completionToken, 'gave up'));

    expect([first.kept, again.kept]).toEqual([true, true]);
    const run = await setup.rt.store.getRun(handed.runId);
    expect(run).toMatchObject({ status: 'failed', reason: 'lost', finishedAt: lost?.finishedAt });
    expect(run?.attempts[0]?.lateReports).toEqual([
      { type: 'fail', at: new Date(setup.clock.now).toISOString(), error: 'gave up' },
    ]);
  });

  it('refuses an output over the limit, naming the field and the rule', async () => {
    setup = await asyncSetup({});
    const handed = await handedOff(setup);

    const error = await refusal(
      setup.client.complete(handed.runId, handed.completionToken, 'x'.repeat(MAX_OUTPUT_BYTES + 1)),
    );

    expect(error.refused).toBe('invalid-report');
    expect(error.message).toMatch(/output: is \d+ bytes as JSON; the limit is 16384 bytes/);
  });

  it('refuses an output nested deeper than DynamoDB’s 32 levels with the rule, before DynamoDB sees it, and keeps one at the bound', async () => {
    setup = await asyncSetup({});
    const handed = await handedOff(setup);
    const before = await setup.rt.store.getRun(handed.runId);

    const error = await refusal(setup.client.complete(handed.runId, handed.completionToken, nestedMaps(40)));

    expect(error.refused).toBe('invalid-report');
    expect(error.message).toBe(
      `run ${handed.runId}: output.next${'.next'.repeat(MAX_OUTPUT_DEPTH - 1)}: nests deeper than ${MAX_OUTPUT_DEPTH} levels; an output may nest at most ${MAX_OUTPUT_DEPTH} (DynamoDB allows 32 in a whole item): flatten it, or keep the result elsewhere (S3) and report its key`,
    );
    expect(await setup.rt.store.getRun(handed.runId)).toEqual(before);

    // At the bound, DynamoDB Local takes it: the run succeeds with the whole output.
    const done = await setup.client.complete(
      handed.runId,
      handed.completionToken,
      nestedMaps(MAX_OUTPUT_DEPTH),
    );
    expect(done.outcome).toBe('succeeded');
    expect((await setup.rt.store.getRun(handed.runId))?.output).toEqual(nestedMaps(MAX_OUTPUT_DEPTH));
  });

  it('the sweep keeps an attempt whose heartbeat landed after the sweep read it (conditional on the deadline judged)', async () => {
    setup = await asyncSetup({ heartbeatTimeout: '1m' });
    const handed = await handedOff(setup);
    const stale = (await setup.rt.store.getRun(handed.runId))!;
    setup.clock.advance(MINUTE - 1_000);
    await setup.client.heartbeat(handed.runId, handed.completionToken);
    setup.clock.advance(30_000);

    const outcome = await sweepAsync(depsOf(setup), stale, setup.clock.now);

    expect(outcome).toBe('moved');
    expect((await setup.rt.store.getRun(handed.runId))?.status).toBe('running');
  });
});

describe('the completions queue', () => {
  it('applies reports sent on the queue and acknowledges refused ones', async () => {
    setup = await asyncSetup({});
    const handed = await handedOff(setup);
    await sendReport(setup.worker, { ...handed, completionToken: 'y'.repeat(43) }, 'heartbeat');
    await sendReport(setup.worker, handed, 'complete', { output: { via: 'queue' } });

    expect(await setup.rt.drainCompletions()).toBe(2);

    expect(await setup.rt.store.getRun(handed.runId)).toMatchObject({
      status: 'succeeded',
      output: { via: 'queue' },
    });
    expect(await setup.rt.drainCompletions()).toBe(0);
  });

  it('refuses a complete on the queue whose output nests 20,000 deep: acknowledged, named, not retried into the DLQ', async () => {
    const warnings: Record<string, unknown>[] = [];
    const log = { ...silentLog, warn: (message: string, extra = {}) => warnings.push({ message, ...extra }) };
    setup = await asyncSetup({}, { log });
    const handed = await handedOff(setup);
    const sent = recordCommands(setup);

    // Written out as text: JSON.stringify itself overflows the stack on a value this deep.
    const output = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const body = JSON.stringify({ ...report(handed), output: 'X' }).replace('"X"', output);
    await setup.rt.sqs.send(
      new SendMessageCommand({ QueueUrl: setup.rt.state.completionsQueueUrl, MessageBody: body }),
    );
    expect(await setup.rt.drainCompletions()).toBe(1);

    expect(warnings).toEqual([
      {
        message: 'completion report refused',
        runId: handed.runId,
        type: 'complete',
        refused: 'invalid-report',
        kept: false,
        reason: expect.stringMatching(/^run agent@.*: output(\[0\]){16}: nests deeper than 16 levels; /),
      },
    ]);
    // Refused before any read or write: DynamoDB Local saw nothing of it.
    expect(sent).toEqual([]);
    expect((await setup.rt.store.getRun(handed.runId))?.status).toBe('running');
    // Acknowledged: nothing left in flight to be delivered again.
    const { Attributes } = await setup.rt.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: setup.rt.state.completionsQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
  });

  it('keeps a body that is not a completion message in the DLQ without its token, and acknowledges it', async () => {
    setup = await asyncSetup({});
    const token = 'tok_3kQp9Zx2Lm7Vb4Nc8Rt1Ws6Yh0Ja5Ud';
    for (const body of [
      JSON.stringify({ runId: 'agent@x', token, type: 'done' }),
      JSON.stringify({ runId: 'agent@x', token: token.slice(0, 10), type: 'complete' }),
      `{"runId":"agent@x","token":"${token}",`,
    ]) {
      await setup.rt.sqs.send(
        new SendMessageCommand({ QueueUrl: setup.rt.state.completionsQueueUrl, MessageBody: body }),
      );
    }

    expect(await setup.rt.drainCompletions()).toBe(3);

    const { Attributes } = await setup.rt.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: setup.rt.state.completionsQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    // Acknowledged: it cannot parse on a later delivery either.
    expect(Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
    const { Messages = [] } = await setup.rt.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: setup.rt.state.completionsDlqUrl, MaxNumberOfMessages: 10 }),
    );
    expect(Messages).toHaveLength(3);
    const kept = Messages.map((m) => JSON.parse(m.Body ?? '{}') as { malformed: string; fields?: string });
    expect(kept.map((k) => k.malformed).sort()).toEqual([
      expect.stringMatching(/^body: not JSON \(\d+ bytes, not quoted\)/),
      expect.stringMatching(/^token \(a string of 10 characters, not quoted\): Too small/),
      expect.stringMatching(/^type "done": /),
    ]);
    expect(kept.find((k) => k.malformed.startsWith('type'))?.fields).toContain('agent@x');
    for (const m of Messages) expect(m.Body).not.toContain(token.slice(0, 8));
  });

  it('parses a completion message or names the field, the value and the rule', () => {
    expect(parseCompletionMessage('{"runId":"a@b","token":"tttttttttttttttttttt","type":"done"}')).toEqual({
      ok: false,
      error: expect.stringMatching(/^type "done": .*heartbeat.*complete.*fail/),
    });
    expect(parseCompletionMessage('not json')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^body: not JSON/),
    });
    // Neither a bad token nor a broken body is quoted: either may be (part of) a live token.
    const token = 'tok_3kQp9Zx2Lm7Vb4Nc8Rt1Ws6Yh0Ja5Ud';
    const bad = [
      JSON.stringify({ runId: 'a@b', token: token.slice(0, 12), type: 'complete' }),
      JSON.stringify({ runId: 'a@b', token: [token], type: 'complete' }),
      `{"runId":"a@b","token":"${token}"`,
      `{"runId":"a@b","token":${token}}`,
    ].map((body) => parseCompletionMessage(body));
    expect(bad.map((parsed) => parsed.ok)).toEqual([false, false, false, false]);
    for (const parsed of bad) expect(JSON.stringify(parsed)).not.toContain(token.slice(0, 6));
    expect(
      parseCompletionMessage(
        JSON.stringify({ runId: 'a@b', token: 't'.repeat(43), type: 'fail', error: 'boom' }),
      ),
    ).toEqual({ ok: true, report: { runId: 'a@b', token: 't'.repeat(43), type: 'fail', error: 'boom' } });
  });

  it('names a field nested 20,000 deep without overflowing the stack', () => {
    const body = `{"runId":${'['.repeat(20_000)}${']'.repeat(20_000)},"token":"${'t'.repeat(43)}","type":"fail"}`;

    expect(parseCompletionMessage(body)).toEqual({
      ok: false,
      error: expect.stringMatching(
        /^runId \(nested deeper than 32 levels\): Invalid input: expected string, received array/,
      ),
    });
  });
});
