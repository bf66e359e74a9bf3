#!/usr/bin/env node
/**
 * `npm run build`: compiles punctual to dist/.
 *
 *   1. every TypeScript module of the package → dist/**.js (ESM, source maps), one file per module;
 *   2. the Lambda functions → dist/lambda/{tick,executor,deploy-jobs,aws-events,completions}/index.mjs (bundled, minified);
 *   3. unless --no-types: the declarations → dist/**.d.ts (tsc -p tsconfig.build.json).
 *
 * Step 1 is esbuild's per-file transpile (no type check: `npm run typecheck` does that), so the fast build
 * the tests and `npm start` run first (`--no-types`) takes a second or two.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const types = !process.argv.includes('--no-types');

/** The package's modules: the entry points and every directory they import from. */
// examples/worker.ts: `punctual dev --example-worker` (npm start) runs it from the compiled CLI.
const SOURCES = [
  'index.ts',
  'handlers.ts',
  'cdk',
  'cli',
  'functions',
  'shared',
  'local',
  'console',
  'examples/worker.ts',
];
/** Not part of the package: the repository's own example app and the docs generator. */
const EXCLUDED = new Set(['cdk/app.ts', 'cli/gen-docs.ts']);

function typescriptFiles(path) {
  if (statSync(path).isDirectory())
    return readdirSync(path).flatMap((name) => typescriptFiles(join(path, name)));
  const rel = relative(root, path);
  return path.endsWith('.ts') && !path.endsWith('.d.ts') && !EXCLUDED.has(rel) ? [path] : [];
}

const started = Date.now();
rmSync(dist, { recursive: true, force: true });

await build({
  entryPoints: SOURCES.flatMap((source) => typescriptFiles(join(root, source))),
  outdir: dist,
  outbase: root,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'error',
});

// The console's assets, and uPlot's beside them (pinned in devDependencies, shipped in the package).
const assets = join(dist, 'console', 'assets');
mkdirSync(assets, { recursive: true });
for (const name of readdirSync(join(root, 'console', 'assets')))
  copyFileSync(join(root, 'console', 'assets', name), join(assets, name));
const require = createRequire(import.meta.url);
for (const name of ['uPlot.iife.min.js', 'uPlot.min.css'])
  copyFileSync(require.resolve(`uplot/dist/${name}`), join(assets, name));

// The bundling options live in the package (the construct bundles a consumer's handlers with them too).
const { BUNDLE_FILE, BUNDLE_OPTIONS, LAMBDA_FUNCTIONS } = await import(
  pathToFileURL(join(dist, 'cdk', 'bundling.js')).href
);
await Promise.all(
  LAMBDA_FUNCTIONS.map((name) =>
    build({
      ...BUNDLE_OPTIONS,
      entryPoints: [join(root, 'functions', `${name}.ts`)],
      outfile: join(dist, 'lambda', name, BUNDLE_FILE),
    }),
  ),
);

if (types) {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}
console.error(
  `punctual: built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s${types ? '' : ' (no .d.ts)'}`,
);
