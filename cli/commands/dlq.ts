/**
 * `punctual dlq list|redrive`: the dead-letter queue of each pool, through the client (shared/client/dlq.ts
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
