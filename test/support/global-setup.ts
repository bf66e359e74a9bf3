/**
 * Builds dist/ (see below), then starts one DynamoDB Local and one SQS emulator for the whole test run;
 * each test creates its own table and queues on them (LocalRuntime gives every runtime unique names), so
 * files stay independent.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { type Emulator, startDynamoLocal, startSqsEmulator } from '../../local/emulators.js';

let emulators: Emulator[] = [];

export async function setup(project: TestProject) {
  // The tests run the compiled CLI and deploy the prebuilt bundles, as users do: build them first, unless
  // `npm test` just did (its pretest script), so that `npx vitest run <file>` never tests a stale dist/.
  if (process.env.npm_lifecycle_event !== 'test') {
    execFileSync(
      process.execPath,
      [fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url)), '--no-types'],
      {
        stdio: 'inherit',
      },
    );
  }
  const [dynamo, sqs] = await Promise.all([startDynamoLocal(), startSqsEmulator()]);
  emulators = [dynamo, sqs];
  project.provide('endpoints', { dynamo: dynamo.endpoint, sqs: sqs.endpoint });
}

export async function teardown() {
  await Promise.all(emulators.map((emulator) => emulator.stop()));
}

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: { dynamo: string; sqs: string };
  }
}
