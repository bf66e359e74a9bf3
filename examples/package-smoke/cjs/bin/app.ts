// A `cdk init app --language typescript`-shaped consumer: CommonJS output, the default (node10) module
// resolution of `"module": "commonjs"`. .ci/package-smoke.sh compiles it with tsc and synthesizes it.
import * as cdk from 'aws-cdk-lib';
import { Scheduler } from 'punctual/cdk';

const app = new cdk.App();
const stack = new cdk.Stack(app, 'PunctualCjs');
new Scheduler(stack, 'Scheduler', { pools: { default: { concurrency: 2 } } });
app.synth();
