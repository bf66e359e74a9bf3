/**
 * The example app: one punctual deployment with two pools and two declared jobs, checked by cdk-nag's
 * AwsSolutions and Serverless packs (a finding fails `cdk synth`).
 *
 *   npx cdk synth -q
 *   npx cdk deploy -c alarmEmail=oncall@example.com
 *
 * Env-agnostic (no account or region, no lookups): it synthesizes offline, and deploys to whatever
 * account and region the CLI's credentials name.
 */
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { Scheduler } from './scheduler.js';

const app = new App();
const stack = new Stack(app, app.node.tryGetContext('stackName') ?? 'Punctual', {
  description: 'punctual: serverless job scheduler (EventBridge tick, DynamoDB, SQS pools, Lambda executors)',
});
const alarmEmail: unknown = app.node.tryGetContext('alarmEmail');

new Scheduler(stack, 'Scheduler', {
  pools: {
    default: { concurrency: 4, timeout: '1m', memorySize: 512 },
    batch: { concurrency: 2, timeout: '10m', memorySize: 1024 },
  },
  // As in a jobs file (SPEC §3); `gapAlarm` is the construct's per-job option.
  jobs: [
    {
      id: 'heartbeat',
      description: 'Logs its run context every five minutes: proves the scheduler is alive end to end.',
      schedule: 'rate(5 minutes)',
      target: { type: 'handler', name: 'log', timeout: '10s' },
      payload: { note: 'hello from punctual' },
      gapAlarm: { factor: 3 },
    },
    {
      id: 'nightly-batch',
      description: 'A long nightly run in the batch pool, at 02:30 Berlin time (runs once on DST days too).',
      schedule: 'cron(30 2 * * ? *)',
      timezone: 'Europe/Berlin',
      pool: 'batch',
      target: { type: 'handler', name: 'sleep', timeout: '5m' },
      payload: { minMs: 30_000, maxMs: 120_000, deterministic: true },
      overlap: 'skip',
      retry: { maxAttempts: 2, backoff: '1m' },
    },
  ],
  alarmEmails: typeof alarmEmail === 'string' && alarmEmail ? [alarmEmail] : [],
  alarms: { startLagP99: Duration.seconds(60) },
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
