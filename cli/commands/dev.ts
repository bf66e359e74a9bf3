/**
 * `punctual dev`: the local runtime (DynamoDB Local + the SQS emulator + the tick and executors) with a
 * live view, until `--duration` passes or Ctrl-C / SIGTERM. Stopping is orderly: ticks and pollers end
 * (the message in hand finishes), the run records are read for `--report`, then the emulators stop, so
 * no Java process outlives the command.
 *
 * The CLI finds this runtime through `./.punctual/local.json` in the directory it runs in, whatever
 * `--data-dir` says (written by the runtime once ready, removed when it stops) and reads the heartbeat item the tick writes (with its interval).
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import {
  assertEmulatorsInstalled,
  type Emulator,
  localDynamoClient,
  startDynamoLocal,
  startSqsEmulator,
} from '../../local/emulators.js';
import { buildReport, scanRuns, writeReport } from '../../local/report.js';
import { LocalRuntime } from '../../local/runtime.js';
import { PunctualClient } from '../../shared/client/client.js';
import { type DevState, devRuns, stateFilePath } from '../../shared/client/connection.js';
import { JobValidationError, PunctualError } from '../../shared/errors.js';
import { readDocument } from '../../shared/jobs/file.js';
import { type JobsFile, loadJobsFile, parseDuration } from '../../shared/jobs/index.js';
import { listJobs, putJob } from '../../shared/ops/jobs.js';
import type { Log } from '../../shared/runs/lifecycle.js';
import { decodeJob } from '../../shared/store/decode.js';
import { type JobItem, RUNNING_MAX, type RunItem } from '../../shared/store/model.js';
import { Store } from '../../shared/store/store.js';
import { parseApplicationsDocument, type TargetAccessPolicy } from '../../shared/targets/access.js';
import {
  LOCAL_TARGET_POLICY,
  parseTargetPolicy,
  type ResolvedTargetPolicy,
} from '../../shared/targets/policy.js';
import {
  isAwsReserved,
  type SecretResolver,
  secretNameProblem,
  secretResolver,
} from '../../shared/targets/secrets.js';
import { errorMessage } from '../../shared/util.js';
import { type EchoServer, startEchoServer } from '../echo-server.js';
import { type Io, palette, roughDuration } from '../format.js';
import { outcomeLines, renderView, SCREEN } from '../view.js';

export interface DevOptions {
  jobs?: string;
  tick?: string;
  duration?: string;
  report?: string;
  dataDir?: string;
  echoServer?: number;
  /** Start examples/worker.ts in-process, with job `async-agent` handing it runs (completion: async). */
  exampleWorker?: boolean;
  /** Shard groups the tick fans out to (as `tickGroups` on a stack). */
  tickGroups?: number;
  /** Call AWS targets (else their runs end skipped(aws-targets-off)); a region or profile implies it. */
  awsTargets?: boolean;
  awsRegion?: string;
  awsProfile?: string;
  /** A target policy file (JSON or YAML, the construct's `targetPolicy` shape) over the local default. */
  targetPolicy?: string;
  /**
   * An applications file (JSON or YAML, the construct's `applications` shape, or `{ targetAccess,
   * applications }`): each application's jobs reach only its own list, as on a stack.
   */
  applications?: string;
  /** `NAME=ENV_VAR`, repeatable: declares secret NAME, read from this process's ENV_VAR at run time. */
  secret?: string[];
  /** A file of `NAME=$ENV_VAR` or `NAME=value` lines (parseSecretsFile). */
  secretsFile?: string;
  /** `--no-console` sets it false: no console is served. */
  console?: boolean;
  consolePort?: number;
  /** The console may act (trigger, pause, resume, replay, redrive). */
  allowActions?: boolean;
}

/**
 * `--secret NAME=ENV_VAR`: the secrets jobs may name, each read from an environment variable of this
 * process when a request needs it. Neither side may be an AWS_* variable.
 */
export function parseSecretFlags(
  flags: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  fromFile: SecretSources = {},
): SecretResolver {
  const sources: SecretSources = { ...fromFile };
  for (const flag of flags) {
    const match = /^([^=]+)=([A-Za-z_][A-Za-z0-9_]*)$/.exec(flag);
    if (!match)
      throw new PunctualError(
        `--secret ${JSON.stringify(flag)}: write NAME=ENV_VAR, e.g. --secret billing-hook=BILLING_HOOK_SECRET`,
      );
    const [, name, variable] = match as unknown as [string, string, string];
    const problem = secretNameProblem(name);
    if (problem) throw new PunctualError(`--secret ${JSON.stringify(flag)}: the name ${problem}`);
    if (isAwsReserved(variable))
      throw new PunctualError(
        `--secret ${JSON.stringify(flag)}: ${variable} is an AWS_* variable; no secret is read from those`,
      );
    if (Object.hasOwn(sources, name))
      throw new PunctualError(`--secret ${JSON.stringify(flag)}: secret ${name} is declared twice`);
    sources[name] = () => env[variable];
  }
  return secretResolver(sources);
}

type SecretSources = Record<string, () => string | undefined>;

/**
 * `--secrets-file FILE`: one secret a line, `NAME=$ENV_VAR` (read from this process's ENV_VAR at run time,
 * as `--secret NAME=ENV_VAR`) or `NAME=value` (the value itself, optionally in single or double quotes).
 * Blank lines and lines starting with `#` are skipped. An error names the file, the line and the secret,
 * never a value.
 */
export function parseSecretsFile(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): SecretSources {
  const sources: SecretSources = {};
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `--secrets-file ${file}:${index + 1}`;
    const eq = line.indexOf('=');
    if (eq <= 0)
      throw new PunctualError(`${where}: write NAME=$ENV_VAR or NAME=value (the line has no NAME=)`);
    const name = line.slice(0, eq).trim();
    const problem = secretNameProblem(name);
    if (problem) throw new PunctualError(`${where}: the name ${JSON.stringify(name)} ${problem}`);
    if (Object.hasOwn(sources, name)) throw new PunctualError(`${where}: secret ${name} is declared twice`);
    const given = line.slice(eq + 1).trim();
    const reference = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/.exec(given);
    if (reference) {
      const variable = (reference[1] ?? reference[2]) as string;
      if (isAwsReserved(variable))
        throw new PunctualError(
          `${where}: secret ${name} names ${variable}, an AWS_* variable; no secret is read from those`,
        );
      sources[name] = () => env[variable];
      continue;
    }
    const quoted = /^(['"])(.*)\1$/.exec(given);
    const value = quoted ? (quoted[2] as string) : given;
    if (value === '') throw new PunctualError(`${where}: secret ${name} has an empty value`);
    sources[name] = () => value;
  }
  return sources;
}

/** Reads `--secrets-file`: a file others can read gets a warning (it holds values). */
export async function loadSecretsFile(io: Io, path: string): Promise<SecretSources> {
  const file = resolve(io.cwd, path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
    const { mode } = await stat(file);
    if (mode & 0o077) io.err(`warning: --secrets-file ${path} can be read by others (chmod 600 ${path})\n`);
  } catch (error) {
    throw new PunctualError(`--secrets-file ${path}: ${errorMessage(error)}`);
  }
  return parseSecretsFile(text, path);
}

/**
 * Reads `--target-policy FILE`: the fields it sets replace those of `LOCAL_TARGET_POLICY` (http and
 * loopback allowed besides the stack's default).
 *
 * @throws JobValidationError naming each field, value and rule broken; PunctualError when unreadable.
 */
export async function loadTargetPolicyFile(path: string): Promise<ResolvedTargetPolicy> {
  const subject = `target policy file ${JSON.stringify(path)}`;
  return parseTargetPolicy((await readPolicyFile(path, subject)) ?? {}, LOCAL_TARGET_POLICY, subject);
}

/** A YAML or JSON file of `dev`'s policy flags, read and parsed; its own errors name `subject`. */
async function readPolicyFile(path: string, subject: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PunctualError(`cannot read ${subject}: ${errorMessage(error)}`, { cause: error });
  }
  const document = readDocument(text, path);
  if (!document.ok) throw new JobValidationError(document.violations, subject);
  return document.value;
}

/**
 * Reads `--applications FILE` (shared/targets/access.ts parseApplicationsDocument): what each
 * application's jobs may reach, enforced by the local executors and by clients of this runtime at put.
 *
 * @throws JobValidationError naming each field, value and rule broken; PunctualError when unreadable.
 */
export async function loadApplicationsFile(path: string): Promise<TargetAccessPolicy> {
  const subject = `applications file ${JSON.stringify(path)}`;
  const parsed = parseApplicationsDocument(await readPolicyFile(path, subject));
  if (!parsed.ok) throw new JobValidationError(parsed.violations, subject);
  return parsed.policy;
}

/** The shortest tick: one second is the schedule floor. */
const MIN_TICK_MS = 1000;
const RECENT_LINES = 8;

function durationOption(flag: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new PunctualError(`${flag} ${errorMessage(error)}`);
  }
}

/** Refuses to start a second runtime in a directory whose runtime is still running. */
async function checkNotRunning(stateFile: string): Promise<void> {
  let state: DevState;
  try {
    state = JSON.parse(await readFile(stateFile, 'utf8')) as DevState;
  } catch {
    return; // absent or unreadable: the runtime overwrites it
  }
  if (state.pid !== process.pid && (await devRuns(state))) {
    throw new PunctualError(
      `punctual dev already runs here (pid ${state.pid}, ${stateFile}); stop it, or start this one in another directory`,
    );
  }
}

export async function runDev(
  io: Io,
  options: DevOptions,
  signals: NodeJS.EventEmitter = process,
  stdin: NodeJS.ReadStream = process.stdin,
): Promise<number> {
  const tickMs = durationOption('--tick', options.tick ?? '60s');
  if (tickMs < MIN_TICK_MS) throw new PunctualError(`--tick ${options.tick}: must be at least 1s`);
  const durationMs =
    options.duration !== undefined ? durationOption('--duration', options.duration) : undefined;
  const jobsFile: JobsFile | undefined = options.jobs ? await loadJobsFile(options.jobs) : undefined;
  const secrets = parseSecretFlags(
    options.secret ?? [],
    process.env,
    options.secretsFile ? await loadSecretsFile(io, options.secretsFile) : {},
  );
  const targetPolicy = options.targetPolicy
    ? await loadTargetPolicyFile(resolve(io.cwd, options.targetPolicy))
    : undefined;
  const targetAccess = options.applications
    ? await loadApplicationsFile(resolve(io.cwd, options.applications))
    : undefined;
  // The state file stays in the working directory whatever --data-dir says: that is where the CLI and
  // `PunctualClient.local()` look for it. It records the data directory.
  const dataDir = options.dataDir ? resolve(io.cwd, options.dataDir) : undefined;
  const stateFile = stateFilePath(io.cwd);
  await checkNotRunning(stateFile);
  const reportPath = options.report ? resolve(io.cwd, options.report) : undefined;
  const p = palette(io.color);
  const live = io.isTTY;

  const recent: string[] = [];
  const note = (line: string) => {
    if (live) {
      recent.push(line);
      if (recent.length > RECENT_LINES) recent.shift();
    } else io.err(`${line}\n`);
  };
  const log: Log = {
    debug() {},
    info() {},
    warn: (message, extra) => note(`warn ${message}${extra ? ` ${JSON.stringify(extra)}` : ''}`),
    error: (message, extra) => note(`error ${message}${extra ? ` ${JSON.stringify(extra)}` : ''}`),
  };

  const started: Emulator[] = [];
  let echo: EchoServer | undefined;
  let runtime: LocalRuntime | undefined;
  let stopWorker: (() => Promise<void>) | undefined;
  let consoleServer: { url: string; close(): Promise<void> } | undefined;
  let consoleClient: PunctualClient | undefined;
  const stopStarted = async () => {
    await consoleServer?.close();
    consoleClient?.close();
    await echo?.close();
    await Promise.allSettled(started.map((emulator) => emulator.stop()));
  };

  try {
    // Optional peer dependencies: say which are missing (and the command) before starting either.
    await assertEmulatorsInstalled();
    io.err(
      `starting DynamoDB Local${dataDir ? ` (data in ${dataDir})` : ' (in memory)'} and the SQS emulator…\n`,
    );
    const [dynamo, sqs] = await Promise.allSettled([
      startDynamoLocal(dataDir ? { dataDir } : {}),
      startSqsEmulator(),
    ]);
    for (const result of [dynamo, sqs]) if (result.status === 'fulfilled') started.push(result.value);
    if (dynamo.status === 'rejected') throw dynamo.reason;
    if (sqs.status === 'rejected') throw sqs.reason;
    const endpoints = { dynamo: dynamo.value.endpoint, sqs: sqs.value.endpoint };

    if (options.echoServer !== undefined) {
      echo = await startEchoServer(options.echoServer, {
        hmacSecretOf: async (jobId) => {
          const raw = runtime ? await runtime.store.getJobRaw(jobId) : undefined;
          const decoded = raw ? decodeJob(raw) : undefined;
          const target = decoded?.ok ? decoded.job.definition.target : undefined;
          return target?.type === 'http' ? (target.hmacSecret ?? target.hmacSecretEnv) : undefined;
        },
        secrets,
        log: note,
      });
    }

    runtime = await LocalRuntime.start({
      ...(jobsFile ? { jobs: jobsFile } : {}),
      tickMs,
      ...(options.tickGroups ? { tick: { groups: options.tickGroups } } : {}),
      endpoints,
      // One table per data directory: a restart on the same --data-dir finds its jobs again.
      name: 'punctual',
      ...(dataDir ? { dataDir } : {}),
      stateFile,
      log,
      ...(targetPolicy ? { targetPolicy } : {}),
      ...(targetAccess ? { targetAccess } : {}),
      secrets,
      ...(options.awsTargets || options.awsRegion || options.awsProfile
        ? {
            awsTargets: {
              ...(options.awsRegion ? { region: options.awsRegion } : {}),
              ...(options.awsProfile ? { profile: options.awsProfile } : {}),
            },
          }
        : {}),
    });
    if (options.exampleWorker) {
      const worker = await startExampleWorker(runtime);
      stopWorker = worker.stop;
    }
    if (options.console !== false) {
      // The console reads this runtime as any client does: through the state file just written.
      const { startConsole } = await import('../../console/server.js');
      consoleClient = await PunctualClient.local(io.cwd);
      consoleServer = await startConsole({
        client: consoleClient,
        allowActions: options.allowActions ?? false,
        ...(options.consolePort !== undefined ? { port: options.consolePort } : {}),
      });
    }
  } catch (error) {
    await stopWorker?.();
    await stopStarted();
    throw error;
  }

  const startedAt = Date.now();
  const stopsAt = durationMs !== undefined ? startedAt + durationMs : undefined;
  runtime.run();
  const jobCount = await listJobs(runtime.store).then(
    (jobs) => jobs.length,
    () => 0,
  );
  io.err(
    `punctual dev: ${jobCount} job(s), tick every ${roughDuration(tickMs)}` +
      `${stopsAt ? `, stopping after ${roughDuration(durationMs ?? 0)}` : ''}; state file ${stateFile}` +
      `${echo ? `; echo server on http://127.0.0.1:${echo.port}` : ''}` +
      `${runtime.options.awsTargets ? '; AWS targets are called' : '; AWS targets off (runs end skipped(aws-targets-off); --aws-targets calls them)'}\n`,
  );
  if (consoleServer) note(`console: ${consoleServer.url}`);
  if (consoleServer)
    io.err(
      `console (${options.allowActions ? 'actions allowed' : 'read-only; --allow-actions to act'}): ${consoleServer.url}\n`,
    );
  if (!live) io.err('Ctrl-C or SIGTERM stops it\n');

  // The view: a redrawn table on a terminal, outcome lines otherwise. One refresh at a time.
  let stopping = false;
  const previous = new Map<string, string>();
  let refreshing: Promise<void> | undefined;
  const draw = async (current: LocalRuntime) => {
    const jobs = await listJobs(current.store);
    if (live) {
      const [queues, inProgress] = await Promise.all([current.queueDepths(), runsInProgress(current, jobs)]);
      const snapshot = {
        now: Date.now(),
        startedAt,
        tickMs,
        ...(stopsAt ? { stopsAt } : {}),
        jobs,
        queues,
        inProgress,
        recent,
      };
      io.out(SCREEN.redraw + renderView(snapshot, { color: io.color, columns: io.columns }));
    } else for (const line of outcomeLines(jobs, previous)) io.out(`${line}\n`);
  };
  const refresh = () => {
    if (refreshing || stopping || !runtime) return;
    refreshing = draw(runtime)
      .catch((error) => {
        if (!stopping) note(`view: ${errorMessage(error)}`);
      })
      .finally(() => {
        refreshing = undefined;
      });
  };
  if (live) io.out(SCREEN.hideCursor);
  const viewTimer = setInterval(refresh, 1000);

  // Stop once, on whichever comes first; a second Ctrl-C while stopping kills the emulators at once.
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolveFn) => {
    resolveDone = resolveFn;
  });
  let durationTimer: NodeJS.Timeout | undefined;
  const stop = async (why: string) => {
    if (stopping) {
      io.err('stopping now\n');
      await stopStarted();
      resolveDone(130);
      return;
    }
    stopping = true;
    clearInterval(viewTimer);
    clearTimeout(durationTimer);
    await refreshing;
    if (live) io.out(`${SCREEN.showCursor}\n`);
    io.err(`${why}: stopping (waiting for runs in hand)…\n`);
    let code = 0;
    try {
      await stopWorker?.();
      await runtime?.stop();
      const stoppedAt = Date.now();
      if (reportPath && started[0]) {
        const reader = localDynamoClient(started[0].endpoint);
        try {
          const runs = await scanRuns(
            new Store(reader, { tableName: runtime?.state.tableName ?? 'punctual' }),
          );
          await writeReport(reportPath, buildReport(startedAt, stoppedAt, runs));
          io.err(`report: ${runs.length} run(s) written to ${reportPath}\n`);
        } finally {
          reader.destroy();
        }
      }
    } catch (error) {
      io.err(`${p.red('error')}: ${errorMessage(error)}\n`);
      code = 1;
    } finally {
      await stopStarted();
    }
    io.err('stopped\n');
    resolveDone(code);
  };
  if (stopsAt !== undefined)
    durationTimer = setTimeout(() => void stop(`--duration ${options.duration} passed`), stopsAt - startedAt);
  const onSignal = (signal: string) => void stop(signal);
  io.onClosed?.((stream) => void stop(`${stream} closed`));
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  // A crash must not leave DynamoDB Local running: stop as for a signal, and exit 1.
  const onCrash = (error: unknown) => {
    io.err(`${p.red('error')}: ${errorMessage(error)}\n`);
    crashed = true;
    void stop('unexpected error');
  };
  let crashed = false;
  signals.on('unhandledRejection', onCrash);
  signals.on('uncaughtException', onCrash);
  // On a terminal, Ctrl-C sends SIGINT to the whole foreground process group, DynamoDB Local included,
  // which would die before the runs in hand end and the report is read. In raw mode the keypress reaches
  // only this process, as a byte; Ctrl-C (or q) then stops everything in order.
  const keys = live && stdin.isTTY ? stdin : undefined;
  const onKey = (data: Buffer) => {
    if (data.includes(0x03) || data.includes(0x71)) void stop(data.includes(0x03) ? 'Ctrl-C' : 'q');
  };
  if (keys) {
    keys.setRawMode(true);
    keys.on('data', onKey);
    keys.resume();
  }
  try {
    const code = await done;
    return crashed && code === 0 ? 1 : code;
  } finally {
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
    signals.off('unhandledRejection', onCrash);
    signals.off('uncaughtException', onCrash);
    if (keys) {
      keys.off('data', onKey);
      keys.setRawMode(false);
      keys.pause();
    }
  }
}

/**
 * The runs in progress, newest first: those the jobs' `running` sets name (overlap skip/queue: one
 * scheduled run per job, at most RUNNING_MAX with operator runs), and for overlap allow, whose runs the
 * job item does not track, those the open index holds (one query per such job, at most RUNNING_MAX).
 */
async function runsInProgress(runtime: LocalRuntime, jobs: JobItem[]): Promise<RunItem[]> {
  const allow = await Promise.all(
    jobs
      .filter((job) => (job.definition as { overlap?: string } | undefined)?.overlap === 'allow')
      .map((job) => runtime.store.runningOf(job.jobId, RUNNING_MAX)),
  );
  const ids = [...jobs.flatMap((job) => [...(job.running ?? [])]), ...allow.flat()];
  const runs = await Promise.all(ids.map((id) => runtime.store.getRun(id)));
  return runs
    .filter((run): run is RunItem => run?.status === 'running')
    .sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''));
}

/** The job `npm start` hands to the example worker: each run lasts 75 s, longer than its 1-minute period. */
export const EXAMPLE_WORKER_JOB = 'async-agent';

/**
 * `--example-worker`: a target queue on the emulator, the example worker reading it (examples/worker.ts,
 * in this process), and job `async-agent` sending its runs there with `completion: async`. The worker
 * heartbeats every 10 s and completes after 75 s, so the live view shows a run in progress with its last
 * heartbeat, and the slot that comes due meanwhile is skipped(overlap).
 */
async function startExampleWorker(runtime: LocalRuntime): Promise<{ stop: () => Promise<void> }> {
  const { startWorker } = await import('../../examples/worker.js');
  const queue = await runtime.sqs.send(
    new CreateQueueCommand({ QueueName: `${runtime.state.tableName}-example-work` }),
  );
  const queueUrl = queue.QueueUrl!;
  await putJob(
    runtime.store,
    {
      id: EXAMPLE_WORKER_JOB,
      description: 'hands each run to examples/worker.ts, which heartbeats and completes it after 75 s',
      schedule: 'rate(1 minute)',
      target: { type: 'sqs', queueUrl, completion: 'async' },
      overlap: 'skip',
      heartbeatTimeout: '30s',
      maxRunDuration: '10m',
    },
    Date.now(),
    { pools: runtime.pools.map((pool) => pool.name), claim: runtime.claim },
  );
  return startWorker(
    { sqs: runtime.sqs, queueUrl, completionsQueueUrl: runtime.state.completionsQueueUrl },
    { workMs: 75_000, heartbeatMs: 10_000 },
  );
}
