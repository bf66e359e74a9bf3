/** The example app: `npx cdk synth --app "npx tsx examples/app/app.ts"` (after `npm run build`). */
import { App } from 'aws-cdk-lib';
import { ReportsStack } from './stack.js';

const app = new App();
new ReportsStack(app, 'Reports', { reportUrl: 'https://hooks.example.com/reports/daily' });
