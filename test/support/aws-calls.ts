/**
 * Every AWS call a client makes, with the function it was made as (`awsCaller`, local/runtime.ts), and
 * fakes of the services that have no emulator here (Lambda, EventBridge, Step Functions, ECS): an SDK
 * middleware that answers in place of the service, so the executor's and the sweep's real code paths run.
 * test/integration/iam.test.ts holds the recorded calls against the roles of a synthesized stack.
 */
import type { AwsCaller } from '../../local/runtime.js';
import { awsCaller } from '../../local/runtime.js';

export interface RecordedCall {
  caller: AwsCaller | undefined;
  /** The SDK client, e.g. `DynamoDBClient`, `SQSClient`. */
  client: string;
  /** The command without its suffix, e.g. `TransactWriteItems`. */
  command: string;
  input: Record<string, unknown>;
}

interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: object }) => Promise<{ output: unknown }>,
        context: { clientName?: string; commandName?: string },
      ) => (args: { input: object }) => Promise<{ output: unknown; response?: unknown }>,
      options: { step: 'initialize'; name: string; priority?: 'high' | 'low'; override?: boolean },
    ): void;
  };
}

/** Records each call `client` makes into `calls` (a DocumentClient's calls land on its base client). */
export function recordCalls(client: MiddlewareClient, calls: RecordedCall[]): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push({
        caller: awsCaller.getStore(),
        client: context.clientName ?? '?',
        command: (context.commandName ?? '?').replace(/Command$/, ''),
        input: structuredClone(args.input) as Record<string, unknown>,
      });
      return next(args);
    },
    { step: 'initialize', name: 'recordAwsCalls', priority: 'high', override: true },
  );
}

/**
 * Answers every call of `client` with `respond(command, input)` instead of sending it (after
 * `recordCalls`, which sees it first); a command `respond` does not know throws, as AWS would refuse it.
 */
export function answerCalls(
  client: MiddlewareClient,
  respond: (command: string, input: Record<string, unknown>) => Record<string, unknown> | undefined,
): void {
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      const command = (context.commandName ?? '?').replace(/Command$/, '');
      const output = respond(command, args.input as Record<string, unknown>);
      if (!output) throw new Error(`the fake ${context.clientName} does not answer ${command}`);
      return { output: { $metadata: { httpStatusCode: 200 }, ...output } };
    },
    { step: 'initialize', name: 'answerAwsCalls', priority: 'low', override: true },
  );
}
