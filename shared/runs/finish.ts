/**
 * `afterLastRun: delete`: a job whose schedule has ended (an `at()` job's slot, `endAt` passed, `maxRuns`
 * started) is deleted once its last run has a final fate. Its run records stay until they expire.
 * Called where that can become true: a run's end (lifecycle.ts endRun) and the tick's advance past the
 * last slot (tick.ts).
 */
import type { JobDefinition } from '../jobs/types.js';
import type { Store } from '../store/store.js';
import type { Log } from './lifecycle.js';

/**
 * Deletes the job if it asks to be deleted after its last run and nothing of it is left to run; the
 * definition item it referenced gets its TTL (`now` + run retention + 1 day) in the same write.
 */
export async function deleteIfFinished(
  deps: { store: Store; log: Log },
  jobId: string,
  now: number,
): Promise<boolean> {
  const raw = await deps.store.getJobRaw(jobId);
  if (!raw) return false;
  const definition = raw.definition as Partial<JobDefinition> | undefined;
  if (definition?.afterLastRun !== 'delete') return false;
  const running = raw.running as Set<string> | undefined;
  if (
    raw.nextRunAt !== undefined ||
    (raw.deferred as unknown[] | undefined)?.length ||
    raw.held ||
    running?.size
  )
    return false;
  if (await deps.store.hasOpenRun(jobId)) return false;
  const definitionId = typeof raw.definitionId === 'string' ? raw.definitionId : undefined;
  if (
    typeof raw.version !== 'number' ||
    !(await deps.store.deleteFinishedJob(
      jobId,
      raw.version,
      definitionId ? { definitionId, now } : undefined,
    ))
  )
    return false;
  if (definition.tags && Object.keys(definition.tags).length)
    await deps.store.deleteTagEntries(jobId, definition.tags);
  deps.log.info('job deleted after its last run (afterLastRun: delete)', { jobId });
  return true;
}
