/**
 * An example worker for asynchronous completion (docs/jobs.md "Runs that outlive a Lambda"): it takes runs from
 * the SQS queue an `sqs` target with `completion: async` sends them to, works on each for a while,
 * heartbeats meanwhile, and reports `complete` (or `fail`) on the scheduler's completions queue, holding
 * nothing but the run context's `completionToken` and `sqs:SendMessage` on that queue.
 *
 *   npm start                                   # runs it in-process (punctual dev --example-worker)
 *   npx tsx examples/worker.ts <target-queue-url> [--work 20s] [--heartbeat 5s]   # beside a punctual dev
 *
 * The same loop works against a stack: point it at the target queue and the stack's completions queue
 * (output CompletionsQueueUrl) with AWS credentials that may send to it.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** The run context an asynchronous target delivers (shared/targets/types.ts RunContext). */
export interface HandedRun {
  jobId: string;
  runId: string;
  scheduledAt: string;
  attempt: number;
  payload: unknown;
  completionToken: string;
}

export interface WorkerDeps {
  sqs: SQSClient;
  /** Where the target sends the runs. */
  queueUrl: string;
  /** The scheduler's completions queue. */
  completionsQueueUrl: string;
  /** Milliseconds since the epoch; tests pass a clock they move. */
  clock?: () => number;
  wait?: (ms: number) => Promise<void>;
  log?: (line: string) => void;
}

export interface WorkOptions {
  /** How long each run's work takes. */
  workMs: number;
  /** How often the worker heartbeats meanwhile (well inside the job's heartbeatTimeout). */
  heartbeatMs: number;
  /** `{ "fail": "why" }` in the payload makes the work fail with that error (to see retries). */
}

/** Takes one run off the target queue: the message is deleted, the worker now owns the attempt. */
export async function takeRun(deps: WorkerDeps, waitSeconds = 1): Promise<HandedRun | undefined> {
  const { Messages = [] } = await deps.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: deps.queueUrl,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: waitSeconds,
    }),
  );
  const message = Messages[0];
  if (!message) return undefined;
  // If the worker dies from here on, its heartbeats stop and the scheduler retries the run (new token).
  await deps.sqs.send(
    new DeleteMessageCommand({ QueueUrl: deps.queueUrl, ReceiptHandle: message.ReceiptHandle }),
  );
  const run = JSON.parse(message.Body ?? '{}') as Partial<HandedRun>;
  if (typeof run.runId !== 'string' || typeof run.completionToken !== 'string') {
    deps.log?.(`ignored a message that is not an asynchronous run: ${message.Body?.slice(0, 120)}`);
    return undefined;
  }
  return run as HandedRun;
}

/** Sends one report to the completions queue: `{ runId, token, type, output | error }`. */
export async function sendReport(
  deps: WorkerDeps,
  run: HandedRun,
  type: 'heartbeat' | 'complete' | 'fail',
  extra: { output?: unknown; error?: string } = {},
): Promise<void> {
  await deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: deps.completionsQueueUrl,
      MessageBody: JSON.stringify({ runId: run.runId, token: run.completionToken, type, ...extra }),
    }),
  );
}

/** Works on one run: a heartbeat every `heartbeatMs` until `workMs` have passed, then its end. */
export async function work(deps: WorkerDeps, run: HandedRun, options: WorkOptions): Promise<void> {
  const clock = deps.clock ?? Date.now;
  const wait = deps.wait ?? ((ms: number) => sleep(ms));
  const started = clock();
  deps.log?.(`worker: took ${run.runId} (attempt ${run.attempt})`);
  while (clock() - started < options.workMs) {
    await wait(Math.min(options.heartbeatMs, options.workMs - (clock() - started)));
    if (clock() - started < options.workMs) await sendReport(deps, run, 'heartbeat');
  }
  const failure = (run.payload as { fail?: unknown } | null)?.fail;
  if (typeof failure === 'string') await sendReport(deps, run, 'fail', { error: failure });
  else await sendReport(deps, run, 'complete', { output: { workedMs: clock() - started } });
  deps.log?.(`worker: ${typeof failure === 'string' ? 'failed' : 'completed'} ${run.runId}`);
}

/** Takes and works runs one after another until stopped. */
export function startWorker(deps: WorkerDeps, options: WorkOptions): { stop(): Promise<void> } {
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      try {
        const run = await takeRun(deps);
        if (run) await work(deps, run, options);
      } catch (error) {
        if (stopping) return;
        deps.log?.(`worker: ${(error as Error).message}`);
        await sleep(500);
      }
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
    },
  };
}

async function main(argv: string[]): Promise<void> {
  const [{ SQSClient }, { LOCAL_CREDENTIALS, LOCAL_REGION }, { parseDuration }] = await Promise.all([
    import('@aws-sdk/client-sqs'),
    import('../local/emulators.js'),
    import('../shared/jobs/duration.js'),
  ]);
  const queueUrl = argv[0];
  if (!queueUrl)
    throw new Error('usage: tsx examples/worker.ts <target-queue-url> [--work 20s] [--heartbeat 5s]');
  const flag = (name: string, fallback: string) => {
    const at = argv.indexOf(name);
    return parseDuration(at >= 0 ? (argv[at + 1] ?? fallback) : fallback);
  };
  // The running `punctual dev` says where its emulator and completions queue are.
  const state = JSON.parse(await readFile(resolve('.punctual/local.json'), 'utf8')) as {
    sqsEndpoint: string;
    completionsQueueUrl: string;
  };
  const sqs = new SQSClient({
    endpoint: state.sqsEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const worker = startWorker(
    { sqs, queueUrl, completionsQueueUrl: state.completionsQueueUrl, log: (line) => console.log(line) },
    { workMs: flag('--work', '20s'), heartbeatMs: flag('--heartbeat', '5s') },
  );
  process.once('SIGINT', () => void worker.stop().then(() => sqs.destroy()));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  });
}
