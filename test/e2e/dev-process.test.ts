/**
 * `punctual dev` as a process among others (issue 17 defects 11 and 12): it ends cleanly when the reader
 * of its output goes away, and a restart right after `kill -9` is not refused because the dead runtime's
 * pid lingers as a zombie. Real processes, DynamoDB Local and the SQS emulator.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { access, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/punctual.js', import.meta.url));
const JOBS = [
  'jobs:',
  '  - id: every-second',
  '    schedule: rate(1 second)',
  '    target: { type: handler, name: noop }',
  '',
];

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'punctual-dev-process-'));
  await writeFile(join(dir, 'jobs.yaml'), JOBS.join('\n'));
  return dir;
}

const stateFile = (dir: string) => join(dir, '.punctual', 'local.json');

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Waits (polling, bounded) until the runtime in `dir` has written its state file. */
async function untilReady(dir: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await exists(stateFile(dir))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`punctual dev in ${dir} wrote no state file in 60 s`);
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('punctual dev when its output pipe closes', () => {
  it('stops in order, removes its state file and exits, instead of spinning on EPIPE', async () => {
    const dir = await workDir();
    const child = spawn(process.execPath, [BIN, 'dev', '--jobs', 'jobs.yaml', '--tick', '1s'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const exit = exited(child);
    await untilReady(dir);
    // As `punctual dev | head -3` does once head has its lines: the reading ends go away; dev keeps writing
    // a line per run to stdout, and its first write after this fails with EPIPE.
    child.stdout?.destroy();
    child.stderr?.destroy();

    const { code } = await exit;

    expect(code).toBe(0);
    expect(await exists(stateFile(dir))).toBe(false);
  });
});

describe('punctual dev restarted right after kill -9', () => {
  it('starts although the killed runtime is a zombie nobody reaps (a container without an init)', async () => {
    const dir = await workDir();
    // `exec sleep` replaces the shell with a parent that never waits: once dev is killed it stays a zombie,
    // which kill(pid, 0) still finds.
    const parent = spawn(
      'sh',
      [
        '-c',
        `"${process.execPath}" "${BIN}" dev --jobs jobs.yaml --tick 1s >dev.log 2>&1 & echo $!; exec sleep 600`,
      ],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    children.push(parent);
    const pid = Number(
      await new Promise<string>((resolve) => parent.stdout?.once('data', (chunk) => resolve(String(chunk)))),
    );
    await untilReady(dir);
    const state = JSON.parse(await readFile(stateFile(dir), 'utf8')) as { pid: number };
    expect(state.pid).toBe(pid);

    process.kill(pid, 'SIGKILL');
    let stat = '';
    for (let i = 0; i < 50 && !stat.includes(') Z'); i++) {
      stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(stat).toContain(') Z'); // the precondition: a zombie, found by kill(pid, 0)
    expect(() => process.kill(pid, 0)).not.toThrow();

    let stderr = '';
    const again = spawn(
      process.execPath,
      [BIN, 'dev', '--jobs', 'jobs.yaml', '--tick', '1s', '--duration', '2s'],
      {
        cwd: dir,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.push(again);
    again.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const { code } = await exited(again);

    expect(stderr).not.toContain('already runs here');
    expect({ code, stderr }).toMatchObject({ code: 0 });
    expect(stderr).toContain('--duration 2s passed: stopping');
  });
});
