/**
 * How the Lambda bundles are built: one esbuild configuration shared by `npm run build` (the prebuilt
 * `dist/lambda/*` bundles the construct deploys) and by the construct itself when a consumer adds their own
 * handlers (`handlers: { entry }`), so both bundles are made the same way. No aws-cdk-lib here: the build
 * script loads this module.
 */

/** The Lambda functions punctual ships, each prebuilt to `dist/lambda/<name>/index.mjs`. */
export const LAMBDA_FUNCTIONS = ['tick', 'executor', 'deploy-jobs', 'aws-events', 'completions'] as const;
export type LambdaFunctionName = (typeof LAMBDA_FUNCTIONS)[number];

/**
 * esbuild's ESM output has no `require`; bundled CommonJS code (parts of the AWS SDK and its
 * dependencies) still calls it for Node built-ins, which fails with "Dynamic require of … is not
 * supported" unless a real `require` is defined first.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as topLevelCreateRequire } from 'node:module'; const require = topLevelCreateRequire(import.meta.url);";

/** The file name Lambda loads (handler `index.handler`); `.mjs` makes Node treat it as an ES module. */
export const BUNDLE_FILE = 'index.mjs';

/**
 * esbuild options of every function bundle (a subset of esbuild's `BuildOptions`, spelled out so that this
 * module needs no esbuild types).
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  // ESM entry points first, so esbuild tree-shakes the SDK and Powertools.
  mainFields: ['module', 'main'],
  banner: { js: ESM_REQUIRE_BANNER },
  // The SDK is bundled at the versions package-lock.json pins (the ones the tests ran against) rather than
  // taken from whatever the runtime ships.
  external: [] as string[],
  minify: true,
  keepNames: true,
  sourcemap: true,
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'error',
} as const;
