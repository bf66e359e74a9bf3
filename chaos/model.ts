/**
 * `npm run chaos -- model [--runs N] [--seed S] [--path P] [--commands M] [--time-limit SECONDS]`: the model
 * test of concurrent operations (test/model/) with many cases. Prints the cases and steps run, and for a
 * failure the violated invariants, the shrunk program and the seed and path that replay it.
 */
import fc from 'fast-check';
import { type CaseStats, modelProperty } from '../test/model/commands.js';

export interface ModelRunOptions {
  endpoints: { dynamo: string; sqs: string };
  runs: number;
  seed: number;
  path?: string;
  maxCommands: number;
  timeLimitS: number;
  log: (line: string) => void;
}

export async function runModel(options: ModelRunOptions): Promise<boolean> {
  const stats: CaseStats = { steps: 0 };
  let cases = 0;
  const started = Date.now();
  const property = modelProperty({ endpoints: options.endpoints }, stats, options.maxCommands);
  const result = await fc.check(
    property.beforeEach(() => {
      cases += 1;
    }),
    {
      numRuns: options.runs,
      seed: options.seed,
      ...(options.path ? { path: options.path } : {}),
      interruptAfterTimeLimit: options.timeLimitS * 1000,
      markInterruptAsFailure: false,
    },
  );
  const seconds = (Date.now() - started) / 1000;
  options.log(
    `model: ${result.numRuns} cases passed before the end (${cases} run in all, shrinking included), ${stats.steps} steps, ${seconds.toFixed(0)} s${result.interrupted ? ' (time limit reached)' : ''}`,
  );
  if (!result.failed) {
    options.log('model: no invariant broken');
    return true;
  }
  options.log(`model: FAILED after ${result.numRuns} cases, shrunk ${result.numShrinks} times`);
  options.log(`model: replay with --seed ${result.seed} --path "${result.counterexamplePath}"`);
  const error = result.errorInstance as Error | undefined;
  options.log(error?.message ?? String(result.error));
  options.log(`model: counterexample: ${fc.stringify(result.counterexample)}`);
  return false;
}
