/**
 * Your own code in the executor: this module registers the handlers the jobs of stack.ts name. The Scheduler
 * bundles it with the executor (`handlers: { entry }`), so it runs in the executor Lambda of every pool.
 */
import { registerHandler, TargetError } from 'punctual/handlers';

interface ReportPayload {
  /** Where the report is posted (a chat webhook, your API). */
  url: string;
  team: string;
}

/**
 * Posts the daily report of a team to a webhook. `ctx.runId` is the idempotency key: a retried attempt posts
 * the same id, so the receiver can drop duplicates. `signal` aborts at the job's target timeout.
 */
registerHandler('daily-report', async (ctx, signal) => {
  const { url, team } = ctx.payload as ReportPayload;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': ctx.runId },
    body: JSON.stringify({
      text: `Daily report for ${team}, ${ctx.scheduledAt.slice(0, 10)}`,
      runId: ctx.runId,
    }),
    signal,
  });
  // A 4xx will not get better with a retry: fail the run at once. A 5xx is retried (the job's retry policy).
  if (!response.ok) throw new TargetError(`report webhook: HTTP ${response.status}`, response.status >= 500);
  return `posted (HTTP ${response.status})`;
});
