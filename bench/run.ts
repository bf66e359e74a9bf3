/**
 * `npm run bench [-- NAME… | --full]`: runs the benchmarks (all by default, in the order below) on one
 * DynamoDB Local and one SQS emulator, prints each figure beside its baseline, and writes
 * bench/results/<name>.json plus bench/results/summary.json. Nothing here fails on a time: a benchmark
 * measures; only a broken benchmark (an exception) makes the exit code non-zero.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { execFileSync } from 'node:child_process';
import { cpus, freemem, totalmem } from 'node:os';
import { asyncCompletion } from './benchmarks/async.js';
import { claim } from './benchmarks/claim.js';
import { cli } from './benchmarks/cli.js';
import { consolePage } from './benchmarks/console.js';
import { cost } from './benchmarks/cost.js';
import { dispatch } from './benchmarks/dispatch.js';
import { emulators } from './benchmarks/emulators.js';
import { fanout } from './benchmarks/fanout.js';
import { idle } from './benchmarks/idle.js';
import { memory } from './benchmarks/memory.js';
import { precision } from './benchmarks/precision.js';
import { overload, production } from './benchmarks/production.js';
import { tableSize } from './benchmarks/table-size.js';
import {
  type Benchmark,
  type Figure,
  markdownTable,
  round,
  startEmulators,
  table,
  writeResult,
} from './support.js';

const BENCHMARKS: Benchmark[] = [
  emulators,
  dispatch,
  claim,
  asyncCompletion,
  fanout,
  tableSize,
  precision,
  production,
  overload,
  memory,
  cli,
  consolePage,
  cost,
  idle,
];

function machine() {
  let java = 'java not found';
  try {
    java =
      execFileSync('sh', ['-c', 'java -version 2>&1'], { encoding: 'utf8' }).split('\n')[0]?.trim() ?? '';
  } catch {
    // reported as not found
  }
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? '?',
    memTotalGiB: round(totalmem() / 2 ** 30, 1),
    memFreeGiB: round(freemem() / 2 ** 30, 1),
    node: process.version,
    java,
    platform: `${process.platform} ${process.arch}`,
  };
}

async function main() {
  const args = process.argv.slice(2);
  const full = args.includes('--full');
  const names = args.filter((arg) => !arg.startsWith('--'));
  const unknown = names.filter((name) => !BENCHMARKS.some((bench) => bench.name === name));
  if (unknown.length) {
    process.stderr.write(
      `unknown benchmark ${unknown.join(', ')}; choose from ${BENCHMARKS.map((b) => b.name).join(', ')}\n`,
    );
    return 2;
  }
  const selected = names.length ? BENCHMARKS.filter((bench) => names.includes(bench.name)) : BENCHMARKS;
  const host = machine();
  process.stdout.write(
    `machine: ${host.nproc} cpu (${host.cpu}), ${host.memTotalGiB} GiB, node ${host.node}, ${host.java}\n`,
  );
  const started = Date.now();
  const emulators = selected.some((bench) => bench.needsEmulators !== false)
    ? await startEmulators()
    : { endpoints: { dynamo: '', sqs: '' }, stop: async () => undefined };
  // Interrupted: stop the emulators (DynamoDB Local is a JVM of its own) before leaving.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      void emulators.stop().finally(() => process.exit(130));
    });
  const figures: Figure[] = [];
  const failures: string[] = [];
  const timings: Record<string, number> = {};
  try {
    for (const bench of selected) {
      process.stdout.write(`\n▶ ${bench.name}: ${bench.title}\n`);
      const t0 = Date.now();
      try {
        const result = await bench.run({
          endpoints: emulators.endpoints,
          full,
          log: (line) => process.stdout.write(`${line}\n`),
        });
        timings[bench.name] = Date.now() - t0;
        figures.push(...result.figures);
        const file = await writeResult(bench.name, {
          bench: bench.name,
          title: bench.title,
          at: new Date().toISOString(),
          machine: host,
          full,
          elapsedMs: timings[bench.name],
          ...result,
        });
        for (const figure of result.figures)
          process.stdout.write(
            `  ${figure.figure}: ${figure.value} vs ${figure.baseline} → ${figure.ratio}\n`,
          );
        process.stdout.write(`  (${round((Date.now() - t0) / 1000, 1)} s; ${file})\n`);
      } catch (error) {
        timings[bench.name] = Date.now() - t0;
        failures.push(bench.name);
        process.stdout.write(`  FAILED: ${(error as Error).stack ?? error}\n`);
      }
    }
  } finally {
    await emulators.stop();
  }
  const rows = [
    ['bench', 'figure', 'value', 'baseline', 'ratio', 'goal'],
    ...figures.map((f) => [f.bench, f.figure, f.value, f.baseline, f.ratio, f.goal]),
  ];
  process.stdout.write(`\n${table(rows)}\n\n${markdownTable(rows)}\n`);
  process.stdout.write(`\ntotal ${round((Date.now() - started) / 1000, 1)} s\n`);
  if (!names.length || names.length > 1) {
    await writeResult('summary', {
      at: new Date().toISOString(),
      machine: host,
      full,
      timingsMs: timings,
      figures,
      details: {},
    });
  }
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
