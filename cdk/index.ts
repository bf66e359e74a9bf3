/**
 * `punctual/cdk`: the `Scheduler` construct (needs the peer dependencies `aws-cdk-lib` and `constructs`).
 *
 * @example
 * import { App, Stack } from 'aws-cdk-lib';
 * import { Scheduler } from 'punctual/cdk';
 *
 * const app = new App();
 * new Scheduler(new Stack(app, 'Punctual'), 'Scheduler', {
 *   jobs: [{ id: 'heartbeat', schedule: 'rate(5 minutes)', target: { type: 'handler', name: 'log' } }],
 * });
 *
 * @packageDocumentation
 */

export type {
  AllowableAddressClass,
  TargetAllowList,
  TargetPolicy,
  TargetScheme,
} from '../shared/targets/policy.js';
export {
  type AsyncEcsNetwork,
  type AsyncEcsTask,
  AsyncTargets,
  type AsyncTargetsApplication,
  type AsyncTargetsProps,
} from './async-targets.js';
export type { GapAlarmOptions, PoolProps } from './config.js';
export type { SchedulerAlarmProps } from './monitoring.js';
export {
  type ClientGrantOptions,
  OUTPUT_KEYS,
  Scheduler,
  type SchedulerApplication,
  type SchedulerHandlers,
  type SchedulerPool,
  type SchedulerProps,
  type TargetAccess,
} from './scheduler.js';
