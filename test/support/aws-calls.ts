/**
 * Every AWS call a client makes, with the function it was made as (`awsCaller`, local/runtime.ts): an SDK
 * middleware ahead of the rest (ahead of the fakes of test/support/fake-aws.ts too). test/integration/
 * iam.test.ts holds the recorded calls against the roles of a synthesized stack.
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
