import { defineConfig } from 'vitest/config';

// The AWS SDK warns once per process that it will need Node 22 from 2027; the Lambda runtime is
// nodejs22.x, this machine runs Node 20. The warning is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores here; the emulators take one of them under load.
    maxWorkers: 2,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // Lambda bundles from a synthesized cloud assembly load in Node as Lambda loads them, untransformed
    // (test/e2e/deployed.test.ts, test/cdk/handlers.test.ts).
    server: { deps: { external: [/\/asset\.[0-9a-f]+\/index\.mjs/] } },
  },
});
