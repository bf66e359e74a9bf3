/**
 * The executor Lambda: one per pool, on the pool's SQS queue (the pool's batch size, 1 by default;
 * ReportBatchItemFailures). Each record is one attempt of one run, and the records of a batch run side by
 * side (Powertools' BatchProcessor processes them in parallel); shared/runs/execute decides everything. A record whose
 * processing throws (DynamoDB or SQS unavailable) is reported as a batch item failure, so SQS delivers
 * it again after the visibility timeout and, after maxReceiveCount, moves it to the DLQ.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type ExecuteDeps, type ExecuteOutcome, executeMessage } from '../shared/runs/execute.js';
import type { Log } from '../shared/runs/lifecycle.js';
import { parseTargetAccessPolicy } from '../shared/targets/access.js';
import { parseEcsNetworkPolicy } from '../shared/targets/ecs-network.js';
import { createExternalCheck } from '../shared/targets/external.js';
import { defaultHandlers } from '../shared/targets/handlers.js';
import { invokeTarget } from '../shared/targets/index.js';
import { TargetGuard } from '../shared/targets/policy.js';
import { configFromEnv, createClients, ENV, reservedFromEnv, targetPolicyFromEnv } from './commons/config.js';
import { asLog, createLogger, createMetrics, PowertoolsSignals } from './commons/powertools.js';
import { secretsFromEnv } from './commons/secrets.js';

export interface ExecutorHandlerDeps extends ExecuteDeps {
  pool: string;
  /** Called with each record's outcome (the local runtime's live view and the tests listen here). */
  onOutcome?: (outcome: ExecuteOutcome, record: SQSRecord) => void;
}

/** The executor's handler over explicit dependencies: Lambda below, and the local runtime, use it. */
export function createExecutorHandler(deps: ExecutorHandlerDeps) {
  return async (
    event: SQSEvent,
    context: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<SQSBatchResponse> => {
    const processor = new BatchProcessor(EventType.SQS);
    const recordHandler = async (record: SQSRecord) => {
      const outcome = await executeMessage(deps, record.body, {
        pool: deps.pool,
        remainingMs: () => context.getRemainingTimeInMillis(),
      });
      deps.onOutcome?.(outcome, record);
      return outcome;
    };
    try {
      return await processPartialResponse(event, recordHandler, processor, {
        context: context as Context,
        // Items are independent runs; a failed item must not fail the others.
        throwOnFullBatchFailure: false,
      });
    } finally {
      await deps.signals.flush();
    }
  };
}

const logger = createLogger('punctual-executor');
const metrics = createMetrics('punctual-executor');
let lambdaHandler: ReturnType<typeof createExecutorHandler> | undefined;

function lambda() {
  if (!lambdaHandler) {
    const clients = createClients();
    const config = configFromEnv(process.env, clients);
    const handlers = defaultHandlers;
    const policy = new TargetGuard(targetPolicyFromEnv(process.env));
    const reserved = reservedFromEnv(process.env);
    const ecsNetwork = parseEcsNetworkPolicy(process.env[ENV.ecsNetwork]);
    const secrets = secretsFromEnv(process.env);
    const access = parseTargetAccessPolicy(process.env[ENV.targetAccess], ENV.targetAccess);
    const log: Log = asLog(logger);
    lambdaHandler = createExecutorHandler({
      store: config.store,
      dispatcher: config.dispatcher,
      pools: config.pools,
      successEvents: config.successEvents,
      signals: new PowertoolsSignals(metrics, logger, clients.eventBridge, config.busName),
      log,
      pool: config.pool,
      clock: Date.now,
      // Overlap replace: the executor stops the run a later slot replaces (StopExecution, StopTask).
      checkExternal: createExternalCheck(clients, config.stack),
      invoke: (target, context, signal) =>
        invokeTarget(target, context, {
          clients: {
            lambda: clients.lambda,
            sqs: clients.sqs,
            eventBridge: clients.eventBridge,
            sfn: clients.sfn,
            ecs: clients.ecs,
            secrets,
          },
          handlers,
          signal,
          policy,
          reserved,
          ecsNetwork,
          ...(access ? { access } : {}),
          stack: config.stack,
        }),
    });
  }
  return lambdaHandler;
}

export const handler = middy((event: SQSEvent, context: Context) => lambda()(event, context))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));

/**
 * The handler names this bundle holds (builtins and those registered by modules bundled in with
 * `handlers: { entry }`). The construct imports the bundle at synth to check the declared jobs against it.
 */
export const handlerNames = (): string[] => defaultHandlers.names();
