/**
 * The events function: the target of the construct's EventBridge rules for "Step Functions Execution
 * Status Change" and "ECS Task State Change". Thin: map the event to a completion report
 * (shared/targets/aws-events.ts), check it belongs to this stack, apply it with `reportCompletion`.
 *
 * EventBridge invokes it asynchronously; an error thrown here (DynamoDB unavailable) makes Lambda and then
 * the rule's retry policy deliver the event again, and the rule's DLQ keeps it after that. Events are
 * delivered at least once, so a repeat must change nothing: `reportCompletion` makes it a duplicate.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type CompletionDeps, reportCompletion } from '../shared/runs/completion.js';
import type { RunItem } from '../shared/store/model.js';
import {
  type AwsEvent,
  type ExternalReport,
  reportFromEvent,
  tokenMatches,
} from '../shared/targets/aws-events.js';
import { configFromEnv, createClients } from './commons/config.js';
import { asLog, createLogger, createMetrics, PowertoolsSignals } from './commons/powertools.js';

export type AwsEventOutcome =
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'refused'; runId: string; reason: string }
  | { outcome: 'applied'; runId: string; result: string };

export interface AwsEventsHandlerDeps extends CompletionDeps {
  clock: () => number;
}

/** The hash of the token the attempt was started with, if the run record still names it. */
function attemptTokenHash(run: RunItem, attempt: number): string | undefined {
  if (attempt === run.attempt && run.completionTokenHash) return run.completionTokenHash;
  return run.attempts.find((a) => a.attempt === attempt)?.tokenHash;
}

/**
 * Whether the run this report names is this stack's: it exists, and the token the execution or task
 * carries (or, when the event left the input out, the execution name's digest of it) is the one its
 * attempt was given. Two stacks in one account may share a state machine or a cluster, and even job ids;
 * only the token tells their attempts apart.
 */
async function notOurs(
  deps: AwsEventsHandlerDeps,
  report: ExternalReport,
  carried: { token?: string; tokenDigest?: string },
): Promise<string | undefined> {
  const run = await deps.store.getRun(report.runId);
  if (!run) return `run ${report.runId} is not in this stack's table`;
  // A name of the previous form whose input the event left out carries nothing to check.
  if (carried.token === undefined && carried.tokenDigest === undefined) return undefined;
  const expected = attemptTokenHash(run, report.attempt);
  if (expected !== undefined && !tokenMatches(carried, expected)) {
    return `run ${report.runId} attempt ${report.attempt}: the token in the ${report.source} event is not this stack's`;
  }
  return undefined;
}

/** The events function's handler over explicit dependencies: Lambda below, and the tests, use it. */
export function createAwsEventsHandler(deps: AwsEventsHandlerDeps) {
  const handle = async (event: AwsEvent): Promise<AwsEventOutcome> => {
    const mapped = reportFromEvent(event);
    if ('ignored' in mapped) {
      deps.log.debug('event ignored', { reason: mapped.ignored });
      return { outcome: 'ignored', reason: mapped.ignored };
    }
    const { report } = mapped;
    const foreign = await notOurs(deps, report, mapped);
    if (foreign) {
      deps.log.info('event ignored', { reason: foreign });
      return { outcome: 'ignored', reason: foreign };
    }
    const result = await reportCompletion(deps, report, deps.clock());
    if (!result.ok) {
      // An event for an older attempt, or one after the sweep declared the attempt lost: the run keeps
      // what it has (a late report is kept in the attempt's history by reportCompletion).
      deps.log.info('event refused', {
        runId: report.runId,
        attempt: report.attempt,
        reason: result.message,
      });
      return { outcome: 'refused', runId: report.runId, reason: result.message };
    }
    deps.log.info('event applied', {
      runId: report.runId,
      attempt: report.attempt,
      source: report.source,
      outcome: result.outcome,
    });
    return { outcome: 'applied', runId: report.runId, result: result.outcome };
  };
  return async (event: AwsEvent): Promise<AwsEventOutcome> => {
    try {
      return await handle(event);
    } finally {
      // Run events (Run Succeeded, Run Failed) are sent here, before the invocation ends.
      await deps.signals.flush();
    }
  };
}

const logger = createLogger('punctual-aws-events');
const metrics = createMetrics('punctual-aws-events');
let lambdaHandler: ReturnType<typeof createAwsEventsHandler> | undefined;

function lambda() {
  if (!lambdaHandler) {
    const clients = createClients();
    const config = configFromEnv(process.env, clients);
    lambdaHandler = createAwsEventsHandler({
      store: config.store,
      dispatcher: config.dispatcher,
      pools: config.pools,
      signals: new PowertoolsSignals(metrics, logger, clients.eventBridge, config.busName),
      log: asLog(logger),
      clock: Date.now,
    });
  }
  return lambdaHandler;
}

export const handler = middy((event: AwsEvent, _context: Context) => lambda()(event))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
