/**
 * A stack using punctual as an npm package: the Scheduler from `punctual/cdk`, one job on a builtin handler
 * and one on your own (handlers.ts). `npx cdk synth --app "npx tsx examples/app/app.ts"` synthesizes it.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Scheduler } from 'punctual/cdk';

export interface ReportsStackProps extends StackProps {
  /** The webhook the daily reports are posted to. */
  readonly reportUrl: string;
}

export class ReportsStack extends Stack {
  readonly scheduler: Scheduler;

  constructor(scope: Construct, id: string, props: ReportsStackProps) {
    super(scope, id, props);
    this.scheduler = new Scheduler(this, 'Scheduler', {
      // Bundled with the executor at synth (needs esbuild in the app: npm i -D esbuild).
      handlers: { entry: join(dirname(fileURLToPath(import.meta.url)), 'handlers.ts') },
      // `Run Succeeded` events on the bus too (off by default: failures, misses and skips always are).
      successEvents: true,
      jobs: [
        {
          id: 'heartbeat',
          schedule: 'rate(5 minutes)',
          target: { type: 'handler', name: 'log', timeout: '10s' },
        },
        {
          id: 'daily-report-platform',
          schedule: 'cron(0 7 ? * MON-FRI *)',
          timezone: 'Europe/Berlin',
          target: { type: 'handler', name: 'daily-report', timeout: '30s' },
          payload: { url: props.reportUrl, team: 'platform' },
          retry: { maxAttempts: 3, backoff: '1m' },
        },
      ],
    });
  }
}
