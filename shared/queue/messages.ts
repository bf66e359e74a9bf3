/**
 * The SQS message that carries one attempt of one run from the tick (or a retry, a replay, a release of a
 * held run) to the executor. Small on purpose: the run record holds the definition; the message names it.
 */
import { z } from 'zod';
import { parseRunId } from '../store/model.js';

export const RunMessageSchema = z
  .object({
    v: z.literal(1),
    runId: z
      .string()
      .min(3)
      .max(400)
      .refine((id) => parseRunId(id) !== undefined, { message: 'is not a run id (jobId@<ISO time>)' }),
    jobId: z.string().min(1).max(128),
    scheduledAt: z.string().datetime({ offset: false }),
    /** The attempt this message is for (1 = first). The executor starts it only if the run is at attempt − 1. */
    attempt: z.number().int().min(1),
    /** Set on replays and on the messages the executor sends to the DLQ, so a redrive replays the run. */
    replay: z.boolean().optional(),
    /**
     * With `replay`: the replay this message belongs to (the run's `replays` once it is reopened). A
     * duplicate delivery of a replay that already ran finds the run past it and changes nothing. A replay
     * of a failed run reopens it only with the run's `redrive` token (below): DLQ bodies written before
     * the token existed change nothing when redriven; `punctual runs replay` replays those runs.
     */
    replays: z.number().int().min(1).optional(),
    /**
     * DLQ bodies: the failed run's `redriveToken`, so that moving this body back to the queue (a redrive)
     * reopens the run, and a replay message without it (forged by a sender of the pool queue) does not.
     */
    redrive: z
      .string()
      .regex(/^[A-Za-z0-9_-]{16,64}$/)
      .optional(),
    /** DLQ only: why the run failed, for a person reading the queue. */
    failedAt: z.string().optional(),
    lastError: z.string().optional(),
    attempts: z.number().int().optional(),
    poolName: z.string().optional(),
  })
  .strict()
  .refine((message) => parseRunId(message.runId)?.jobId === message.jobId, {
    message: 'jobId must be the job of runId',
    path: ['jobId'],
  });

export type RunMessage = z.infer<typeof RunMessageSchema>;

/** Body the executor puts on the DLQ for a message it could not read (SPEC §7: it never blocks the pool). */
export interface PoisonMessage {
  v: 1;
  poison: true;
  error: string;
  body: string;
  receivedAt: string;
}

export type ParsedMessage = { ok: true; message: RunMessage } | { ok: false; error: string };

/** The run message format this build reads and writes (`v`). */
export const MESSAGE_FORMAT = 1;

/**
 * The format a message body says it has when it is newer than this build reads (a message of a later
 * build met during a deploy): the executor leaves it for a newer executor (the message comes again)
 * rather than move it to the DLQ as unreadable or act on part of it.
 */
export function newerMessageFormat(body: string): number | undefined {
  try {
    const v = (JSON.parse(body) as { v?: unknown } | null)?.v;
    return typeof v === 'number' && v > MESSAGE_FORMAT ? v : undefined;
  } catch {
    return undefined;
  }
}

export function parseRunMessage(body: string): ParsedMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { ok: false, error: `message body is not JSON: ${(error as Error).message}` };
  }
  const result = RunMessageSchema.safeParse(json);
  if (!result.success) {
    const first = result.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
      .join('; ');
    return { ok: false, error: `message body is not a punctual run message: ${first}` };
  }
  return { ok: true, message: result.data };
}
