/**
 * An application's Lambda function that schedules one reminder per user action: when a user starts a
 * trial, it creates a one-shot `at(...)` job that invokes the reminder function when the trial ends.
 * The job id is derived from the action, so a retried invocation puts the same job again (idempotent)
 * instead of scheduling a second reminder.
 *
 * In your app, import from the package: `import { PunctualClient, JobValidationError } from 'punctual'`.
 * (This copy imports the repository's source so that `npm run typecheck` checks it.)
 *
 * Environment (set by stack.ts next to this file):
 *   PUNCTUAL_TABLE_NAME  the scheduler's table
 *   PUNCTUAL_QUEUES      JSON { pool: queueUrl }
 *   PUNCTUAL_SHARDS      the construct's `shards`
 *   REMINDER_FUNCTION    the function the reminder invokes (granted to the executors by targetAccess)
 */
import { JobValidationError, PunctualClient } from '../../shared/client/index.js';

export interface TrialStarted {
  userId: string;
  /** How long the trial lasts, in days (default 14). */
  trialDays?: number;
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set; see examples/app-lambda/stack.ts`);
  return value;
}

// Made once per container and reused by every invocation; it connects on the first call.
const client = new PunctualClient({
  tableName: requiredEnv('PUNCTUAL_TABLE_NAME'),
  queues: JSON.parse(requiredEnv('PUNCTUAL_QUEUES')) as Record<string, string>,
  shards: Number(process.env.PUNCTUAL_SHARDS ?? 4),
});

/** `at()` takes a wall-clock time without a zone, in the job's `timezone` (UTC by default). */
function atExpression(when: Date): string {
  return `at(${when.toISOString().slice(0, 19)})`;
}

export async function handler(event: TrialStarted): Promise<{ jobId: string; remindAt: string }> {
  const remindAt = new Date(Date.now() + (event.trialDays ?? 14) * 86_400_000);
  const jobId = `trial-end-${event.userId}`.toLowerCase().replace(/[^a-z0-9-_.]/g, '-');
  try {
    const { job } = await client.putJob({
      id: jobId,
      description: `trial of ${event.userId} ends`,
      schedule: atExpression(remindAt),
      target: { type: 'lambda', functionName: requiredEnv('REMINDER_FUNCTION') },
      payload: { userId: event.userId, kind: 'trial-ending' },
      retry: { maxAttempts: 3, backoff: '1m' },
    });
    return { jobId: job.id, remindAt: job.nextRunAt ?? remindAt.toISOString() };
  } catch (error) {
    // Every rule the input broke, each naming the field, the value and the rule.
    if (error instanceof JobValidationError) {
      throw new Error(`cannot schedule the reminder: ${error.violations.map((v) => v.message).join('; ')}`);
    }
    throw error;
  }
}
