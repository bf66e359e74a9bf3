/**
 * Which punctual the CLI talks to, as a `PunctualClient` (shared/client). Two kinds:
 *
 * - local: the `punctual dev` running in a directory, found through its state file
 *   `<dir>/.punctual/local.json` (endpoints of DynamoDB Local and the SQS emulator, table, queues).
 * - stack: a deployed CloudFormation stack, found through its outputs (`TableName`, `Pools`, `Shards`;
 *   see docs/deploy.md).
 *
 * Order: `--local [DIR]` if given; else `--stack NAME` or $PUNCTUAL_STACK; else a state file in the
 * current directory. When nothing is found the error names everything that was tried.
 */
import { resolve } from 'node:path';
import { type Deployment, PunctualClient } from '../shared/client/client.js';
import { readDevState, STACK_TICK_MS, stateFilePath } from '../shared/client/connection.js';
import { PunctualError } from '../shared/errors.js';

export { STACK_TICK_MS, stateFilePath };

/** A bad combination of flags: exit code 2, like commander's own usage errors. */
export class UsageError extends PunctualError {
  override readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface TargetOptions {
  /** `--local` (true) or `--local DIR`. */
  local?: string | boolean;
  stack?: string;
  region?: string;
  profile?: string;
  endpointUrl?: string;
}

/** The deployment a command works on: the client, and what the CLI prints about it. */
export interface Target extends Deployment {
  client: PunctualClient;
  close(): void;
}

async function target(client: PunctualClient): Promise<Target> {
  try {
    const deployment = await client.deployment();
    return { ...deployment, client, close: () => client.close() };
  } catch (error) {
    client.close();
    throw error;
  }
}

/** Finds the deployment the options (and the environment) name. `clock` is the commands' `now`. */
export async function resolveTarget(
  options: TargetOptions,
  env: NodeJS.ProcessEnv,
  cwd: string,
  clock: () => number = Date.now,
): Promise<Target> {
  if (options.local && options.stack)
    throw new UsageError('--local and --stack name two different targets; give one');
  if (options.local) {
    const dir = typeof options.local === 'string' ? resolve(cwd, options.local) : cwd;
    return target(await PunctualClient.local(dir, { clock }));
  }
  const stack = options.stack ?? env.PUNCTUAL_STACK;
  if (stack) {
    const region = options.region ?? env.PUNCTUAL_REGION;
    const client = new PunctualClient({
      stackName: stack,
      ...(region ? { region } : {}),
      ...(options.profile ? { profile: options.profile } : {}),
      ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
      clock,
    });
    return target(client);
  }
  const file = stateFilePath(cwd);
  if (await readDevState(file)) return target(await PunctualClient.local(cwd, { clock }));
  throw new PunctualError(
    'no punctual deployment found. Tried:\n' +
      '  - --stack NAME: not given\n' +
      '  - $PUNCTUAL_STACK: not set\n' +
      `  - the local runtime's state file ${file}: does not exist\n` +
      'Start a local runtime here with `punctual dev`, or name a deployed stack with --stack NAME.',
  );
}
