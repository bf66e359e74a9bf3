/**
 * Starts one DynamoDB Local and one SQS emulator for the whole test run; each test creates its own
 * table and queues on them (LocalRuntime gives every runtime unique names), so files stay independent.
 */
import type { TestProject } from 'vitest/node';
import { type Emulator, startDynamoLocal, startSqsEmulator } from '../../shared/local/emulators.js';

let emulators: Emulator[] = [];

export async function setup(project: TestProject) {
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
