/**
 * The `punctual dev --report` file (SPEC §6): one JSON object holding every run record when the runtime
 * stopped. Times are ISO-8601 UTC; a step that did not happen is null.
 *
 * @example
 * {"startedAt":"2026-12-01T00:00:00.000Z","stoppedAt":"2026-12-01T00:01:30.000Z","runs":[{"jobId":"a",
 *  "runId":"a@2026-12-01T00:00:05.000Z","scheduledAt":"2026-12-01T00:00:05.000Z","dispatchedAt":"…",
 *  "startedAt":"…","finishedAt":"…","status":"succeeded","reason":"ok","attempt":1}]}
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { RunItem } from '../shared/store/model.js';
import type { Store } from '../shared/store/store.js';

export interface ReportRun {
  jobId: string;
  runId: string;
  scheduledAt: string;
  dispatchedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  status: string;
  reason: string | null;
  attempt: number;
}

export interface RunReport {
  startedAt: string;
  stoppedAt: string;
  runs: ReportRun[];
}

/** An ISO-8601 UTC time with milliseconds, or null when absent or unreadable. */
function utc(value: string | undefined): string | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** The report of a run of the local runtime; runs sorted by slot, then id. */
export function buildReport(startedAt: number, stoppedAt: number, runs: readonly RunItem[]): RunReport {
  return {
    startedAt: new Date(startedAt).toISOString(),
    stoppedAt: new Date(stoppedAt).toISOString(),
    runs: runs
      .map((run) => ({
        jobId: run.jobId,
        runId: run.runId,
        scheduledAt: utc(run.scheduledAt) ?? run.scheduledAt,
        dispatchedAt: utc(run.dispatchedAt),
        startedAt: utc(run.startedAt),
        finishedAt: utc(run.finishedAt),
        status: run.status,
        reason: run.reason ?? null,
        attempt: typeof run.attempt === 'number' ? run.attempt : 0,
      }))
      .sort((a, b) => a.scheduledAt.localeCompare(b.scheduledAt) || a.runId.localeCompare(b.runId)),
  };
}

/** Every run record of the table (a scan: the local table is small). */
export async function scanRuns(store: Store): Promise<RunItem[]> {
  const runs: RunItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await store.doc.send(
      new ScanCommand({
        TableName: store.tableName,
        FilterExpression: '#type = :run',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':run': 'run' },
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }),
    );
    runs.push(...((page.Items ?? []) as RunItem[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return runs;
}

export async function writeReport(path: string, report: RunReport): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}
