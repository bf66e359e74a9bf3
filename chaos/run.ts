/**
 * `npm run chaos [-- NAME…] [--seed N]`: every fault-injection scenario at full size on one DynamoDB
 * Local and one SQS emulator (the kill -9 of `punctual dev` starts its own, on a --data-dir). For each it
 * prints the slots expected, the run records by status, the slots without a fate and the runs started
 * twice; exits 1 if any of those two is not zero (or a scenario breaks).
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDynamoLocal, startSqsEmulator } from '../local/emulators.js';
import { Model } from '../test/model/model.js';
import { runModel } from './model.js';
import { clockSkew, killCli, killRuntime } from './realtime.js';
import { printResult, type ScenarioOptions, type ScenarioResult, sdkScenarios } from './scenarios.js';

const SCENARIOS: Record<string, (options: ScenarioOptions) => Promise<ScenarioResult>> = {
  ...sdkScenarios,
  'clock-skew': clockSkew,
  'kill-runtime': killRuntime,
  'kill-dev': killCli,
};

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args[0] === 'model') return model(args.slice(1));
  const seedAt = args.indexOf('--seed');
  const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : 42;
  const names = args.filter((arg, i) => !arg.startsWith('--') && args[i - 1] !== '--seed');
  const unknown = names.filter((name) => !SCENARIOS[name]);
  if (unknown.length) {
    process.stderr.write(
      `unknown scenario ${unknown.join(', ')}; choose from ${Object.keys(SCENARIOS).join(', ')}\n`,
    );
    return 2;
  }
  const selected = names.length ? names : Object.keys(SCENARIOS);
  const [dynamo, sqs] = await Promise.all([startDynamoLocal(), startSqsEmulator()]);
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      void Promise.all([dynamo.stop(), sqs.stop()]).finally(() => process.exit(130));
    });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const results: ScenarioResult[] = [];
  let broken = 0;
  try {
    for (const name of selected) {
      try {
        const result = await SCENARIOS[name]!({
          endpoints: { dynamo: dynamo.endpoint, sqs: sqs.endpoint },
          scale: 'full',
          seed,
          log,
        });
        results.push(result);
        printResult(result, log);
      } catch (error) {
        broken += 1;
        log(`■ ${name}: BROKEN ${(error as Error).stack ?? error}`);
      }
    }
  } finally {
    await Promise.all([dynamo.stop(), sqs.stop()]);
  }
  const failed = results.filter((result) => result.withoutFate.length || result.startedTwice.length);
  log('');
  log('scenario                                   slots  without fate  started twice  stale running');
  for (const result of results)
    log(
      `${result.name.slice(0, 42).padEnd(42)} ${String(result.slotsExpected).padStart(5)}  ${String(result.withoutFate.length).padStart(12)}  ${String(result.startedTwice.length).padStart(13)}  ${String(result.staleRunning.length).padStart(13)}`,
    );
  const dir = join(fileURLToPath(new URL('..', import.meta.url)), 'bench', 'results');
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'chaos.json'),
    `${JSON.stringify({ at: new Date().toISOString(), seed, results }, null, 2)}\n`,
  );
  return failed.length || broken ? 1 : 0;
}

/** `npm run chaos -- model [--runs N] [--seed S] [--path P --replay-path R] [--ignore I,…] [--no-history] [--no-directed]`: the model test of concurrent operations, many cases (see chaos/model.ts). */
async function model(args: string[]): Promise<number> {
  const value = (flag: string) => {
    const at = args.indexOf(flag);
    return at >= 0 ? args[at + 1] : undefined;
  };
  // An actor abandoned when its case ended (a dead executor) may still call an emulator after it stopped.
  process.on('unhandledRejection', (error) =>
    process.stdout.write(`model: late error of an abandoned actor, ignored: ${(error as Error)?.message}\n`),
  );
  // --ignore "invariant a,invariant b": look past known defects for the next one.
  for (const name of (value('--ignore') ?? '').split(',').filter(Boolean)) Model.ignored.add(name.trim());
  const [dynamo, sqs] = await Promise.all([startDynamoLocal(), startSqsEmulator()]);
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      void Promise.all([dynamo.stop(), sqs.stop()]).finally(() => process.exit(130));
    });
  try {
    const ok = await runModel({
      endpoints: { dynamo: dynamo.endpoint, sqs: sqs.endpoint },
      runs: Number(value('--runs') ?? 50),
      seed: Number(value('--seed') ?? Date.now() % 1_000_000),
      ...(value('--path') ? { path: value('--path')! } : {}),
      ...(value('--replay-path') ? { replayPath: value('--replay-path')! } : {}),
      maxCommands: Number(value('--commands') ?? 40),
      timeLimitS: Number(value('--time-limit') ?? 1_800),
      history: !args.includes('--no-history'),
      directed: !args.includes('--no-directed'),
      log: (line) => process.stdout.write(`${line}\n`),
    });
    return ok ? 0 : 1;
  } finally {
    await Promise.all([dynamo.stop(), sqs.stop()]);
  }
}

process.exitCode = await main();
// Abandoned actors of the model (dead executors) keep their target's deadline timer: do not wait for it.
if (process.argv[2] === 'model') process.exit(process.exitCode);
