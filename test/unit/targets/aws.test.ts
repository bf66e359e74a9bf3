import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { Target } from '../../../shared/jobs/types.js';
import { builtinHandlers } from '../../../shared/targets/handlers.js';
import { invokeTarget } from '../../../shared/targets/invoke.js';
import { type RunContext, type TargetClients, TargetError } from '../../../shared/targets/types.js';

// Lambda and EventBridge have no emulator here, so these run against aws-sdk-client-mock; the SQS target
// also runs against the emulator in test/integration/targets-sqs.test.ts.
const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const lambda = new LambdaClient(config);
const sqs = new SQSClient(config);
const eventBridge = new EventBridgeClient(config);
const lambdaMock = mockClient(lambda);
const sqsMock = mockClient(sqs);
const eventsMock = mockClient(eventBridge);
const clients: TargetClients = { lambda, sqs, eventBridge };

const ctx: RunContext = {
  jobId: 'nightly-report',
  runId: 'nightly-report@2026-03-01T02:00:00.000Z',
  scheduledAt: '2026-03-01T02:00:00.000Z',
  attempt: 1,
  manual: true,
  payload: { region: 'eu' },
};
const message = {
  jobId: ctx.jobId,
  runId: ctx.runId,
  idempotencyKey: ctx.runId,
  scheduledAt: ctx.scheduledAt,
  attempt: 1,
  manual: true,
  payload: { region: 'eu' },
};

const lambdaTarget: Target = { type: 'lambda', functionName: 'report-builder', timeout: 5000 };
const eventsTarget: Target = {
  type: 'eventbridge',
  eventBusName: 'ops',
  source: 'acme.reports',
  detailType: 'Report Due',
  timeout: 5000,
};

function invoke(target: Target, signal: AbortSignal = new AbortController().signal) {
  return invokeTarget(target, ctx, { clients, handlers: builtinHandlers(), signal });
}

async function failure(promise: Promise<unknown>): Promise<TargetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TargetError);
  return error as TargetError;
}

/** A send that never answers, so only the deadline can end it. */
const hang = () => new Promise(() => undefined);

/** A response payload; the SDK's type is a Uint8Array subclass, and the code under test reads only the bytes. */
function encode(value: unknown): InvokeCommandOutput['Payload'] {
  return new TextEncoder().encode(JSON.stringify(value)) as InvokeCommandOutput['Payload'];
}

/** The options a mocked `send` got (the stub's typed tuple only declares the command). */
function sendOptions(call: { args: readonly unknown[] } | undefined): unknown {
  return call?.args[1];
}

afterEach(() => {
  lambdaMock.reset();
  sqsMock.reset();
  eventsMock.reset();
});

describe('lambda target', () => {
  it('invokes RequestResponse with the run context and reports the status code', async () => {
    // prepare
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, ExecutedVersion: '$LATEST' });
    const signal = new AbortController().signal;

    // act
    const result = await invoke(lambdaTarget, signal);

    // assert
    expect(result.detail).toBe('StatusCode 200, version $LATEST');
    const call = lambdaMock.commandCalls(InvokeCommand)[0]!;
    expect(call.args[0].input.FunctionName).toBe('report-builder');
    expect(call.args[0].input.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(new TextDecoder().decode(call.args[0].input.Payload as Uint8Array))).toEqual(message);
    expect(sendOptions(call)).toEqual({ abortSignal: signal });
  });

  it("fails with the function's errorType and errorMessage when FunctionError is set", async () => {
    // prepare
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({ errorType: 'Error', errorMessage: 'report store unavailable', trace: [] }),
    });

    // act
    const error = await failure(invoke(lambdaTarget));

    // assert
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(
      'lambda report-builder: function error (Unhandled): Error: report store unavailable',
    );
  });

  it('fails as not retryable when the function does not exist', async () => {
    // prepare
    lambdaMock
      .on(InvokeCommand)
      .rejects(new ResourceNotFoundException({ message: 'Function not found', $metadata: {} }));

    // act
    const error = await failure(invoke(lambdaTarget));

    // assert
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('ResourceNotFoundException: Function not found');
  });

  it('fails as retryable when Lambda throttles', async () => {
    // prepare
    lambdaMock
      .on(InvokeCommand)
      .rejects(new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} }));

    // act
    const error = await failure(invoke(lambdaTarget));

    // assert
    expect(error.retryable).toBe(true);
    expect(error.timedOut).toBe(false);
  });

  it('stops at the deadline even when the call never answers', async () => {
    // prepare
    lambdaMock.on(InvokeCommand).callsFake(hang);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);

    // act
    const error = await failure(invoke(lambdaTarget, controller.signal));

    // assert
    expect(error.timedOut).toBe(true);
    expect(error.message).toBe('timed out after 5000ms (lambda report-builder)');
  });
});

describe('eventbridge target', () => {
  it('puts one event with the target source, detail type and bus and the run context, idempotency key included, as detail', async () => {
    // prepare
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'ev-1' }] });

    // act
    const result = await invoke(eventsTarget);

    // assert
    expect(result.detail).toBe('EventId ev-1');
    const entries = eventsMock.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries!;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      EventBusName: 'ops',
      Source: 'acme.reports',
      DetailType: 'Report Due',
    });
    expect(JSON.parse(entries[0]!.Detail!)).toEqual(message);
  });

  it("fails with the entry's error code and message when FailedEntryCount > 0", async () => {
    // prepare
    eventsMock.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
    });

    // act
    const error = await failure(invoke(eventsTarget));

    // assert
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('eventbridge ops: event refused: ThrottlingException: Rate exceeded');
  });

  it('fails as not retryable when the entry is refused for lack of rights', async () => {
    // prepare
    eventsMock.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for source' }],
    });

    // act
    const error = await failure(invoke(eventsTarget));

    // assert
    expect(error.retryable).toBe(false);
  });

  it('stops at the deadline and passes the signal to the SDK', async () => {
    // prepare
    eventsMock.on(PutEventsCommand).callsFake(hang);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);

    // act
    const error = await failure(invoke(eventsTarget, controller.signal));

    // assert
    expect(error.timedOut).toBe(true);
    expect(sendOptions(eventsMock.commandCalls(PutEventsCommand)[0])).toEqual({
      abortSignal: controller.signal,
    });
  });
});

describe('sqs target (FIFO queue)', () => {
  it('groups by job and deduplicates by the idempotency key, the same on every attempt', async () => {
    // prepare
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const fifo: Target = {
      type: 'sqs',
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/reports.fifo',
      timeout: 5000,
    };

    // act
    const first = await invoke(fifo);
    await invokeTarget(
      fifo,
      { ...ctx, attempt: 2 },
      { clients, handlers: builtinHandlers(), signal: AbortSignal.timeout(5000) },
    );

    // assert
    expect(first.detail).toBe('MessageId m-1');
    const [one, two] = sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
    expect(one?.MessageGroupId).toBe('nightly-report');
    // The idempotency key: a retry of a send whose answer was lost is dropped by SQS, not delivered twice.
    expect(one?.MessageDeduplicationId).toBe(ctx.runId);
    expect(two?.MessageDeduplicationId).toBe(ctx.runId);
  });
});
