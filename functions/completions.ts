/**
 * The completions function: consumes the stack's `completions` queue, where a worker holding only
 * `sqs:SendMessage` on it reports `heartbeat`, `complete` or `fail` for a run it was handed
 * (`{ runId, token, type, output | error }`). shared/runs/completion decides everything.
 *
 * A refused report (wrong token, older attempt, attempt already ended) is logged and acknowledged: sending
 * it again cannot change the answer. A body that is not a completion message cannot parse later either: a
 * copy without its token goes to the queue's DLQ and the message is acknowledged. An infrastructure error
 * fails the record, so SQS delivers it again and, after maxReceiveCount, moves it to the queue's DLQ.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  type CompletionDeps,
  malformedRecord,
  parseCompletionMessage,
  type ReportResult,
  reportCompletion,
} from '../shared/runs/completion.js';
import type { Log } from '../shared/runs/lifecycle.js';
import { configFromEnv, createClients, ENV } from './commons/config.js';
import { asLog, createLogger, createMetrics, PowertoolsSignals } from './commons/powertools.js';

export interface CompletionsHandlerDeps extends CompletionDeps {
  clock: () => number;
  /** Called with each record's result (the local runtime and the tests listen here). */
  onResult?: (result: ReportResult, record: SQSRecord) => void;
  /**
   * The completions queue's DLQ: a message that is not a completion message goes there without its token
   * (`malformedRecord`). Without it, such a message fails its record (SQS moves it to the DLQ as sent).
   */
  malformedTo?: string;
}

/** The handler over explicit dependencies: Lambda below, and the local runtime, use it. */
export function createCompletionsHandler(deps: CompletionsHandlerDeps) {
  return async (
    event: SQSEvent,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<SQSBatchResponse> => {
    const processor = new BatchProcessor(EventType.SQS);
    const recordHandler = async (record: SQSRecord) => {
      const parsed = parseCompletionMessage(record.body);
      if (!parsed.ok) {
        // It cannot parse on a later delivery either. The DLQ keeps a copy without the token (a
        // credential for its attempt); the message itself is acknowledged, so it never rests there whole.
        if (!deps.malformedTo) throw new Error(`not a completion message: ${parsed.error}`);
        await deps.dispatcher.sendRaw(deps.malformedTo, malformedRecord(record.body, parsed.error));
        deps.log.warn('not a completion message: kept without its token in the DLQ', { error: parsed.error });
        deps.signals.metric('PoisonMessages', 1);
        return 'malformed';
      }
      const result = await reportCompletion(deps, parsed.report, deps.clock());
      if (!result.ok) {
        // A run that kept changing under the report: let SQS deliver it again.
        if (result.refused === 'conflict') throw new Error(result.message);
        deps.log.warn('completion report refused', {
          runId: parsed.report.runId,
          type: parsed.report.type,
          refused: result.refused,
          kept: result.kept,
          reason: result.message,
        });
      }
      deps.onResult?.(result, record);
      return result.ok ? result.outcome : result.refused;
    };
    try {
      return await processPartialResponse(event, recordHandler, processor, {
        ...(context ? { context: context as Context } : {}),
        // Reports are independent; one bad report must not fail the others.
        throwOnFullBatchFailure: false,
      });
    } finally {
      await deps.signals.flush();
    }
  };
}

const logger = createLogger('punctual-completions');
const metrics = createMetrics('punctual-completions');
let lambdaHandler: ReturnType<typeof createCompletionsHandler> | undefined;

function lambda() {
  if (!lambdaHandler) {
    const clients = createClients();
    const config = configFromEnv(process.env, clients);
    const log: Log = asLog(logger);
    lambdaHandler = createCompletionsHandler({
      store: config.store,
      dispatcher: config.dispatcher,
      pools: config.pools,
      signals: new PowertoolsSignals(metrics, logger, clients.eventBridge, config.busName),
      log,
      clock: Date.now,
      ...(process.env[ENV.completionsDlq] ? { malformedTo: process.env[ENV.completionsDlq] } : {}),
    });
  }
  return lambdaHandler;
}

export const handler = middy((event: SQSEvent, context: Context) => lambda()(event, context))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
