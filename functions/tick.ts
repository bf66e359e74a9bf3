/**
 * The tick Lambda: fired every minute by an EventBridge rule. Thin: build the dependencies once, run one
 * tick of shared/tick, log its report. With shard groups (`tickGroups` on the construct) the same bundle
 * is also the tick worker: an event `{ kind: 'punctual.tick-group', group, groups }` runs that group's part
 * of the minute, anything else (EventBridge's scheduled event) the coordinator (shared/tick/fanout.ts).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Log } from '../shared/runs/lifecycle.js';
import type { Signals } from '../shared/signals.js';
import { createExternalCheck } from '../shared/targets/external.js';
import {
  LambdaTickInvoker,
  parseGroupRequest,
  runCoordinator,
  type TickInvoker,
} from '../shared/tick/fanout.js';
import { runTick, type TickConfig, type TickDeps, type TickReport } from '../shared/tick/tick.js';
import { configFromEnv, createClients } from './commons/config.js';
import { asLog, createLogger, createMetrics, PowertoolsSignals } from './commons/powertools.js';

export interface TickHandlerDeps extends Omit<TickDeps, 'clock'> {
  config: TickConfig;
  clock?: () => number;
  /** Starts the further shard groups' ticks (`config.groups` > 1). */
  invoker?: TickInvoker;
}

/** The tick's handler over explicit dependencies: Lambda below, and the local runtime, use it. */
export function createTickHandler(deps: TickHandlerDeps) {
  return async (event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<TickReport> => {
    const remaining = context?.getRemainingTimeInMillis?.();
    // Never run into the function timeout: keep 10 s to flush metrics and events.
    const budgetMs = remaining
      ? Math.min(deps.config.budgetMs, Math.max(1_000, remaining - 10_000))
      : deps.config.budgetMs;
    const tickDeps = { ...deps, clock: deps.clock ?? Date.now };
    const config = { ...deps.config, budgetMs };
    const request = parseGroupRequest(event);
    const report = request
      ? await runTick(tickDeps, { ...config, groups: request.groups }, { group: request.group })
      : await runCoordinator(tickDeps, config, deps.invoker);
    const level = report.errors.length || report.invalidJobs || report.overdueJobs.length ? 'warn' : 'info';
    deps.log[level]('tick done', { ...report, errors: report.errors.slice(0, 10) });
    return report;
  };
}

const logger = createLogger('punctual-tick');
const metrics = createMetrics('punctual-tick');
let lambdaHandler: ReturnType<typeof createTickHandler> | undefined;

function lambda() {
  if (!lambdaHandler) {
    const clients = createClients();
    const config = configFromEnv(process.env, clients);
    const signals: Signals = new PowertoolsSignals(metrics, logger, clients.eventBridge, config.busName);
    const log: Log = asLog(logger);
    const invoker = config.tickWorker ? new LambdaTickInvoker(clients.lambda, config.tickWorker) : undefined;
    lambdaHandler = createTickHandler({
      ...config,
      signals,
      log,
      config: config.tick,
      // Before the sweep declares a stepfunctions/ecs attempt lost or timed out, it asks AWS.
      checkExternal: createExternalCheck(clients, config.stack),
      ...(invoker ? { invoker } : {}),
    });
  }
  return lambdaHandler;
}

export const handler = middy((event: unknown, context: Context) => lambda()(event, context))
  .use(injectLambdaContext(logger))
  // No ColdStart metric: a custom metric billed for every hour with a cold start, for a figure Lambda's
  // REPORT lines (Init Duration) already give.
  .use(logMetrics(metrics));
