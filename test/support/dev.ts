/**
 * `punctual dev` as a child process, the way a user starts it, for the end-to-end tests: started in a
 * directory, ready once its state file exists and its start-up line is printed, stopped with SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/punctual.js', import.meta.url));

export function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export interface DevProcess {
  child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Its exit code, once it exits. */
  exit: Promise<number | null>;
  /** SIGTERM unless it already ended; waits for it at most 20 s. */
  stop(): Promise<void>;
}

/** Starts `punctual dev ARGS` in `cwd` and waits until the CLI can find it. */
export async function startDev(args: string[], cwd: string, timeoutMs = 90_000): Promise<DevProcess> {
  const child = spawn(process.execPath, [BIN, 'dev', ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const dev: DevProcess = {
    child,
    stderr: () => stderr,
    exit,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exit, sleep(20_000)]);
      }
    },
  };
  // Ready: the state file is written, and the start-up line (printed after it) is out.
  const deadline = Date.now() + timeoutMs;
  while (!(await exists(join(cwd, '.punctual', 'local.json'))) || !stderr.includes('punctual dev:')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await dev.stop();
      throw new Error(`punctual dev did not start: ${stderr}`);
    }
    await sleep(200);
  }
  return dev;
}
