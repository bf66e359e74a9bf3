/**
 * `npm run chaos -- model [--runs N] [--seed S] [--path P] [--commands M] [--time-limit SECONDS] [--no-history]
 * [--no-directed]`: the model test of concurrent operations (test/model/) with many cases. Prints the cases and steps run, and for a
 * failure the violated invariants, the shrunk program and the seed and path that replay it.
 */
import fc from 'fast-check';
import { type CaseStats, directedCase, directedPrograms, modelProperty } from '../test/model/commands.js';
import { historyCase } from '../test/model/history.js';

export interface ModelRunOptions {
  endpoints: { dynamo: string; sqs: string };
  runs: number;
  seed: number;
  path?: string;
  /** fast-check's replayPath of the commands (printed in the counterexample): needed with `path`. */
  replayPath?: string;
  maxCommands: number;
  timeLimitS: number;
  /** Also run the directed long-history program (test/model/history.ts). */
  history: boolean;
  /** Also run the directed programs of asynchronous targets (test/model/commands.ts `directedPrograms`). */
  directed: boolean;
  log: (line: string) => void;
}

export async function runModel(options: ModelRunOptions): Promise<boolean> {
  let historyOk = true;
  if (options.history) {
    const started = Date.now();
    try {
      const { steps } = await historyCase({ endpoints: options.endpoints });
      options.log(
        `model history (8 replays of a 20-attempt run, 60 KiB payload): ${steps} steps, ${((Date.now() - started) / 1000).toFixed(0)} s, no invariant broken`,
      );
    } catch (error) {
      historyOk = false;
      options.log(
        `model history (8 replays of a 20-attempt run, 60 KiB payload): FAILED after ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
      options.log((error as Error).message.split('\n-- steps --')[0]!);
    }
  }
  for (const program of options.directed ? directedPrograms : []) {
    const started = Date.now();
    try {
      const { steps } = await directedCase({ endpoints: options.endpoints }, program);
      options.log(
        `model directed (${program.name}): ${steps} steps, ${((Date.now() - started) / 1000).toFixed(1)} s, no invariant broken`,
      );
    } catch (error) {
      historyOk = false;
      options.log(`model directed (${program.name}): FAILED`);
      options.log((error as Error).message);
    }
  }
  const stats: CaseStats = {
    steps: 0,
    onCase: ({ ok, steps, ms, first, attempts }) =>
      options.log(
        `  case ${stats.cases}: ${steps} steps, ${(ms / 1000).toFixed(1)} s, attempts: ${attempts}${ok ? '' : ` — ${first ?? 'error'}`}`,
      ),
  };
  let cases = 0;
  const started = Date.now();
  const property = modelProperty(
    { endpoints: options.endpoints },
    stats,
    options.maxCommands,
    options.replayPath,
  );
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
    return historyOk;
  }
  options.log(`model: FAILED after ${result.numRuns} cases, shrunk ${result.numShrinks} times`);
  const replayPath = /replayPath="([^"]*)"/.exec(fc.stringify(result.counterexample))?.[1];
  options.log(
    `model: replay with --seed ${result.seed} --path "${result.counterexamplePath}"${replayPath ? ` --replay-path "${replayPath}"` : ''}`,
  );
  const error = result.errorInstance as Error | undefined;
  options.log(error?.message ?? String(result.error));
  options.log(`model: counterexample: ${fc.stringify(result.counterexample)}`);
  return false;
}
