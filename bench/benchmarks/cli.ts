/**
 * Benchmark 8 — the package (issue 9): the installed CLI's cold start beside `node -e 0` in the same rounds
 * (and beside the CLI run from TypeScript through tsx, as bin/punctual.js did before the build), the size of
 * the packed package, and the size of each prebuilt Lambda bundle. `npm pack --dry-run` runs `prepack`, so
 * the figures are those of a fresh `npm run build`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LAMBDA_FUNCTIONS } from '../../cdk/bundling.js';
import { type Benchmark, median, ROOT, round } from '../support.js';

const BIN = join(ROOT, 'bin', 'punctual.js');
const ROUNDS = 15;

/** Wall time of one process from spawn to exit, ms. */
function wall(args: string[]): number {
  const t0 = performance.now();
  const result = spawnSync(process.execPath, args, {
    cwd: ROOT,
    stdio: 'ignore',
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}`);
  return performance.now() - t0;
}

const kb = (bytes: number) => `${round(bytes / 1024, 0).toLocaleString('en')} kB`;

export const cli: Benchmark = {
  name: 'cli',
  title: 'CLI cold start beside `node -e 0`, package and bundle sizes',
  needsEmulators: false,
  async run(context) {
    context.log('  npm pack --dry-run (runs prepack: npm run build)');
    const pack = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--silent'], { cwd: ROOT, encoding: 'utf8' }),
    ) as { size: number; unpackedSize: number; entryCount: number }[];
    const packed = pack[0]!;

    const commands: Record<string, string[]> = {
      'node -e 0': ['-e', '0'],
      'punctual --help': [BIN, '--help'],
      'punctual schedule next': [BIN, 'schedule', 'next', 'rate(5 minutes)'],
      'tsx cli/main.ts --help (before)': ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), '--help'],
    };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
    for (const args of Object.values(commands)) wall(args); // warm the file cache
    // Interleaved rounds: a busy moment of the machine slows every command of that round alike.
    for (let i = 0; i < ROUNDS; i += 1) {
      for (const [name, args] of Object.entries(commands)) samples[name]!.push(wall(args));
    }
    const medians = Object.fromEntries(Object.entries(samples).map(([name, ms]) => [name, median(ms)]));
    const node = medians['node -e 0']!;
    for (const [name, ms] of Object.entries(medians)) context.log(`  ${name}: median ${round(ms, 0)} ms`);

    const bundles = LAMBDA_FUNCTIONS.map((name) => {
      const file = join(ROOT, 'dist', 'lambda', name, 'index.mjs');
      return { name, bytes: statSync(file).size, gzip: gzipSync(readFileSync(file)).length };
    });

    const startFigure = (name: string) => ({
      bench: 'cli',
      figure: `cold start \`${name}\` (median of ${ROUNDS})`,
      value: `${round(medians[name]!, 0)} ms`,
      baseline: `node -e 0: ${round(node, 0)} ms`,
      ratio: `${round(medians[name]! / node, 1)}×`,
      goal: name.includes('before') ? 'report' : '≤ 4×',
    });
    return {
      figures: [
        startFigure('punctual --help'),
        startFigure('punctual schedule next'),
        startFigure('tsx cli/main.ts --help (before)'),
        {
          bench: 'cli',
          figure: `package (npm pack): packed / unpacked, ${packed.entryCount} files`,
          value: `${kb(packed.size)} / ${kb(packed.unpackedSize)}`,
          baseline: '',
          ratio: '',
          goal: 'report',
        },
        ...bundles.map((bundle) => ({
          bench: 'cli',
          figure: `prebuilt bundle dist/lambda/${bundle.name}/index.mjs (minified / gzip)`,
          value: `${kb(bundle.bytes)} / ${kb(bundle.gzip)}`,
          baseline: '',
          ratio: '',
          goal: 'report',
        })),
      ],
      details: { rounds: ROUNDS, samplesMs: samples, mediansMs: medians, pack: packed, bundles },
    };
  },
};
