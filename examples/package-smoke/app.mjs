// A consumer's CDK app in plain JavaScript, as `.ci/package-smoke.sh` synthesizes it from an install of the
// packed tarball: `npx cdk synth --app "node app.mjs"`, with neither esbuild nor TypeScript installed.
import { App, Stack } from 'aws-cdk-lib';
import { Scheduler } from 'punctual/cdk';

const app = new App();
const stack = new Stack(app, 'PunctualSmoke');
new Scheduler(stack, 'Scheduler', {
  pools: { default: { concurrency: 2, timeout: '1m' } },
  jobs: [
    { id: 'heartbeat', schedule: 'rate(5 minutes)', target: { type: 'handler', name: 'log' } },
    {
      id: 'nightly',
      schedule: 'cron(0 2 * * ? *)',
      timezone: 'Europe/Berlin',
      target: { type: 'handler', name: 'noop' },
    },
  ],
});
