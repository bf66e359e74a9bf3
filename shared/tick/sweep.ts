/**
 * The sweep: the run records, not the queue, are the source of truth (SPEC §2). Every open run carries
 * `openUntil`, the time by which something should have happened to it; the sweep looks at those whose
 * time has passed:
 *   dispatched  its message never arrived → re-send while its starting deadline allows, else missed(lost)
 *   retrying    its retry message never arrived (or the backoff exceeds SQS's 15 min delay) → re-send
 *   running     its executor stopped (lease expired) → retry if attempts are left, else failed(lost);
 *               an asynchronous attempt (handed off, heartbeating, or past its executor's lease) is
 *               judged by its deadlines instead: heartbeats stopped → lost, past maxRunDuration →
 *               failed(timeout), then retried alike (shared/runs/completion.ts)
 *               still within its lease (the start leaves `openUntil` where it was) → look again at its end
 *   queued      held (overlap `queue`) past its starting deadline → missed(deadline)
 */
import { delayFor, MAX_DELAY_SECONDS } from '../queue/dispatcher.js';
import { type CheckExternal, sweepAsync } from '../runs/completion.js';
import { recoverExpired } from '../runs/execute.js';
import { endRun, type RunDeps, sendAttempt } from '../runs/lifecycle.js';
import { assertReadable, FormatTooNewError, iso, isScheduledRun, type RunItem } from '../store/model.js';
import { errorMessage, jitterMs, mapLimit } from '../util.js';

/** How long a manual, backfill or replay run waits for its message (re-sent each grace period). */
const OPERATOR_RUN_PATIENCE_MS = 24 * 3_600_000;

export interface SweepReport {
  examined: number;
  resent: number;
  missed: number;
  retried: number;
  failed: number;
}

export interface SweepOptions {
  now: number;
  graceMs: number;
  pageSize: number;
  outOfTime: () => boolean;
  /** The shards of the open index to sweep (a tick's shard group); all when omitted. */
  shards?: number[];
}

/** What the sweep needs: the run lifecycle's deps and, for stepfunctions/ecs attempts, a look at AWS. */
export interface SweepDeps extends RunDeps {
  checkExternal?: CheckExternal;
}

export async function sweep(deps: SweepDeps, options: SweepOptions): Promise<SweepReport> {
  const report: SweepReport = { examined: 0, resent: 0, missed: 0, retried: 0, failed: 0 };
  await mapLimit(
    options.shards ?? Array.from({ length: deps.store.shards }, (_, shard) => shard),
    options.shards?.length ?? deps.store.shards,
    async (shard) => {
      let next: Record<string, unknown> | undefined;
      do {
        if (options.outOfTime()) return;
        const page = await deps.store.queryOpenDue(shard, options.now, options.pageSize, next);
        next = page.next;
        await mapLimit(page.items, 4, async (run) => {
          report.examined += 1;
          try {
            await sweepRun(deps, run, options, report);
          } catch (error) {
            deps.log.warn('sweep could not settle run', { runId: run.runId, error: errorMessage(error) });
          }
        });
      } while (next);
    },
  );
  if (report.resent + report.missed + report.retried + report.failed > 0) {
    deps.signals.metric('SweepRecovered', report.resent + report.missed + report.retried + report.failed);
    deps.log.info('sweep settled runs', { ...report });
  }
  return report;
}

async function sweepRun(
  deps: SweepDeps,
  run: RunItem,
  options: SweepOptions,
  report: SweepReport,
): Promise<void> {
  const { now, graceMs } = options;
  // A run record of a newer format (a deploy in progress) is the new build's sweep's to act on.
  if (leftForNewerBuild(deps, `run record ${run.runId}`, run)) return;
  const slot = Date.parse(run.scheduledAt) + jitterMs(run.runId, run.definition.jitter);
  if (
    (run.status === 'dispatched' || run.status === 'retrying') &&
    !deps.pools.queueUrl(run.definition.pool)
  ) {
    // Its pool was removed (a deploy moved the job elsewhere): nothing can run it any more.
    const error = `pool "${run.definition.pool}" no longer exists; replay the run to run it in the job's current pool`;
    if (await endRun(deps, run, 'failed', 'error', now, { from: [run.status], error })) report.failed += 1;
    return;
  }
  switch (run.status) {
    case 'dispatched': {
      const firstAttempt = run.attempt === (run.attemptBase ?? 0);
      // Scheduled slots give up at their starting deadline; runs an operator asked for (manual, backfill,
      // replay) after a day of re-sends.
      const giveUpAfter =
        firstAttempt && isScheduledRun(run) ? run.definition.startingDeadline : OPERATOR_RUN_PATIENCE_MS;
      const since = isScheduledRun(run) ? slot : Date.parse(run.dispatchedAt ?? run.scheduledAt);
      if (now - since > giveUpAfter) {
        if (await endRun(deps, run, 'missed', 'lost', now, { from: ['dispatched'] })) report.missed += 1;
        return;
      }
      if (await pushBack(deps, run, now, graceMs, ['dispatched'])) {
        await sendAttempt(deps, run, run.attempt + 1, delayFor(slot, now), run.replays);
        report.resent += 1;
      }
      return;
    }
    case 'retrying': {
      const due = run.nextAttemptAt ? Date.parse(run.nextAttemptAt) : now;
      if (due - now > MAX_DELAY_SECONDS * 1000) {
        await pushBack(deps, run, due - MAX_DELAY_SECONDS * 1000, 0, ['retrying']);
        return;
      }
      if (await pushBack(deps, run, Math.max(now, due), graceMs, ['retrying'])) {
        await sendAttempt(deps, run, run.attempt + 1, delayFor(due, now));
        report.resent += 1;
      }
      return;
    }
    case 'running': {
      // An asynchronous attempt that may have been handed off — the hand-off recorded, a heartbeat
      // accepted, or the executor's lease over (it may have died after the target took the run, before
      // it could record so) — is judged by its heartbeat and run deadlines, never by the lease: a second
      // attempt at the lease would start beside a live worker, execution or task.
      if (run.runDeadline && (!run.leaseUntil || run.lastHeartbeatAt || Date.parse(run.leaseUntil) <= now)) {
        const outcome = await sweepAsync({ ...deps, graceMs }, run, now);
        if (outcome === 'retried') report.retried += 1;
        if (outcome === 'failed') report.failed += 1;
        return;
      }
      if (run.leaseUntil && Date.parse(run.leaseUntil) > now) {
        // Most runs end before their delivery deadline and never get here; a longer one is looked at
        // again when its lease ends.
        await deps.store.transitionRun(
          run.runId,
          ['running'],
          { openUntil: run.leaseUntil },
          {
            attempt: run.attempt,
            now,
            extraCondition: 'openUntil = :openBefore',
            extraValues: { ':openBefore': run.openUntil },
          },
        );
        return;
      }
      if (!run.leaseUntil) return;
      const retried = run.definition.retry.maxAttempts - (run.attempt - (run.attemptBase ?? 0)) > 0;
      if (await recoverExpired(deps, run, now, graceMs)) {
        if (retried) report.retried += 1;
        else report.failed += 1;
      }
      return;
    }
    case 'queued': {
      if (await endRun(deps, run, 'missed', 'deadline', now, { from: ['queued'] })) {
        report.missed += 1;
        await deps.store.releaseHeld(run.jobId, run.runId);
      }
      return;
    }
    default:
      return;
  }
}

/**
 * Whether `item` (a job item, a run record) is of a newer format than this build reads: then it is logged
 * and counted (metric `FormatTooNew`) and the caller leaves it alone, for the new build.
 */
export function leftForNewerBuild(
  deps: Pick<SweepDeps, 'log' | 'signals'>,
  what: string,
  item: object,
): boolean {
  try {
    assertReadable(what, item);
    return false;
  } catch (error) {
    if (!(error instanceof FormatTooNewError)) throw error;
    deps.log.warn('item of a newer format left for a newer build', { error: error.message });
    deps.signals.metric('FormatTooNew', 1);
    return true;
  }
}

/** Moves a run's `openUntil` forward (conditional on it being unchanged), so one sweep acts on it once. */
async function pushBack(
  deps: RunDeps,
  run: RunItem,
  from: number,
  graceMs: number,
  status: RunItem['status'][],
) {
  // Each re-send of the same run waits twice as long as the last (capped at 16 grace periods): a message
  // that is merely queued behind a saturated pool is not duplicated every minute.
  const resends = run.resends ?? 0;
  const wait = graceMs * 2 ** Math.min(resends, 4);
  const updated = await deps.store.transitionRun(
    run.runId,
    status,
    { openUntil: iso(from + wait), ...(graceMs > 0 ? { resends: resends + 1 } : {}) },
    {
      attempt: run.attempt,
      now: from,
      extraCondition: 'openUntil = :openBefore',
      extraValues: { ':openBefore': run.openUntil },
    },
  );
  return Boolean(updated);
}
