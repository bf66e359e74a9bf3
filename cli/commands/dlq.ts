/**
 * `punctual dlq list|redrive|purge`: the dead-letter queue of each pool, through the client (shared/client/dlq.ts
 * says how a listing leaves the messages in place and how a redrive finds its destination).
 */
import type { Target } from '../context.js';
import { type Io, palette, printJson, roughDuration, table } from '../format.js';

export async function runDlqList(
  io: Io,
  target: Target,
  options: { pool?: string; limit?: number; json?: boolean },
): Promise<void> {
  const entries = await target.client.listDlq({
    ...(options.pool !== undefined ? { pool: options.pool } : {}),
    limit: options.limit ?? 100,
  });
  if (options.json) {
    printJson(io, entries);
    return;
  }
  if (!entries.length) {
    io.out('the dead-letter queues are empty\n');
    return;
  }
  const p = palette(io.color);
  io.out(
    table(
      ['POOL', 'RUN ID', 'JOB', 'ATTEMPTS', 'AGE', 'LAST ERROR'],
      entries.map((entry) => [
        entry.pool,
        entry.runId ?? p.red('(unreadable)'),
        entry.jobId ?? '-',
        entry.attempts === null ? '-' : String(entry.attempts),
        entry.ageMs === null ? '-' : roughDuration(Math.max(0, entry.ageMs)),
        entry.lastError ?? '',
      ]),
      { right: [3], maxWidth: { 5: 70 } },
    ),
  );
  io.out(
    p.dim(
      `listing leaves the messages in place; redrive them with: punctual dlq redrive${options.pool ? ` --pool ${options.pool}` : ''}\n`,
    ),
  );
}

export async function runDlqRedrive(
  io: Io,
  target: Target,
  options: { pool?: string; json?: boolean },
): Promise<number> {
  const results = await target.client.redriveDlq({
    ...(options.pool !== undefined ? { pool: options.pool } : {}),
    onProgress: (name, moved, total) => io.err(`redrive ${name}: ${moved}/${total} moved\n`),
    onPool: (result) => {
      if (options.json) return;
      const name = result.pool;
      if (result.status === 'EMPTY') io.out(`${name}: the DLQ is empty; nothing to redrive\n`);
      else
        io.out(
          `${name}: ${result.status.toLowerCase()}, ${result.moved} of ${result.toMove} message(s) moved back to the pool's queue${result.failureReason ? ` (${result.failureReason})` : ''}\n`,
        );
    },
  });
  if (options.json) printJson(io, results);
  else if (results.some((result) => result.moved > 0)) {
    io.out('each one replays its run once more; follow them with: punctual runs list --since 10m\n');
  }
  return results.some((result) => result.status === 'FAILED') ? 1 : 0;
}

/**
 * `dlq purge`: without `--yes`, what would be deleted and exit 1 (nothing is deleted by accident); with
 * it, the deletion, pool by pool.
 */
export async function runDlqPurge(
  io: Io,
  target: Target,
  options: { pool?: string; job?: string; yes?: boolean; json?: boolean },
): Promise<number> {
  const results = await target.client.purgeDlq({
    ...(options.pool !== undefined ? { pool: options.pool } : {}),
    ...(options.job !== undefined ? { jobId: options.job } : {}),
    dryRun: !options.yes,
  });
  const count = results.reduce((sum, result) => sum + result.entries.length, 0);
  if (options.json) printJson(io, { deleted: Boolean(options.yes), results });
  else {
    const whose = options.job ? ` of job ${options.job}` : '';
    for (const result of results) {
      const n = result.entries.length;
      io.out(
        `${result.pool}: ${options.yes ? `${n} message(s)${whose} deleted` : `${n} message(s)${whose} would be deleted`}` +
          `${result.kept ? `, ${result.kept} left in place` : ''}\n`,
      );
    }
  }
  if (options.yes || count === 0) return 0;
  const flags = [options.pool ? `--pool ${options.pool}` : '', options.job ? `--job ${options.job}` : '']
    .filter(Boolean)
    .join(' ');
  io.err(
    `nothing deleted; to delete these ${count} message(s): punctual dlq purge ${flags ? `${flags} ` : ''}--yes\n`,
  );
  return 1;
}
