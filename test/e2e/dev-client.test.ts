/**
 * `punctual dev` started empty (no --jobs) with its data in a sub-directory (--data-dir data), as a user
 * runs it: the CLI and `PunctualClient.local()` in the same working directory find it (the state file
 * stays in ./.punctual/, recording the data directory), a one-shot at() job put through the client runs
 * and succeeds, the package-smoke script does the same, and every --json output parses with the schema
 * docs/cli.md is generated from.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { JSON_OUTPUTS } from '../../cli/json-output.js';
import { PunctualClient, type Run } from '../../shared/client/index.js';
import { BIN, type DevProcess, exists, startDev } from '../support/dev.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let dir: string;
let dev: DevProcess;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], options: { cwd?: string } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: options.cwd ?? dir, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** The schema docs/cli.md documents for `command`'s --json output. */
function schemaFor(command: string): z.ZodType {
  const entry = JSON_OUTPUTS.find((output) => output.commands.includes(command));
  if (!entry) throw new Error(`no --json schema for ${command}`);
  return entry.schema;
}

/** `punctual <command…> --json`, its output parsed with the documented schema (which drops nothing). */
async function json<T>(command: string, ...args: string[]): Promise<T> {
  const result = await run([BIN, ...command.split(' '), ...args, '--json']);
  // `status` exits 3 when something needs attention; its output is the same document.
  if (result.code !== 0 && !(command === 'status' && result.code === 3))
    throw new Error(`punctual ${command} exited ${result.code}: ${result.stderr}`);
  const output = JSON.parse(result.stdout) as unknown;
  const parsed = schemaFor(command).safeParse(output);
  if (!parsed.success) throw new Error(`punctual ${command} --json: ${parsed.error.message}`);
  // zod drops fields its schema does not name: equal means the schema names every field printed.
  expect(parsed.data, `punctual ${command} --json prints only documented fields`).toEqual(output);
  return output as T;
}

function atExpression(ms: number): string {
  return `at(${new Date(ms).toISOString().slice(0, 19)})`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'punctual-dev-client-'));
  dev = await startDev(['--tick', '1s', '--data-dir', 'data'], dir);
}, 120_000);

afterAll(async () => {
  await dev?.stop();
});

describe('punctual dev without --jobs, with --data-dir', () => {
  it('keeps its state file in the working directory, recording the data directory', async () => {
    const state = JSON.parse(await readFile(join(dir, '.punctual', 'local.json'), 'utf8')) as {
      dataDir?: string;
    };

    expect(state.dataDir).toBe(join(dir, 'data'));
    expect(await exists(join(dir, 'data', '.punctual', 'local.json'))).toBe(false);
    expect(dev.stderr()).toContain('punctual dev: 0 job(s)');
  });

  it('starts empty: the CLI run in the same directory finds it and lists no job', async () => {
    const jobs = await json<unknown[]>('jobs list');

    expect(jobs).toEqual([]);
  });

  it('runs a one-shot at() job put through PunctualClient.local() to success', async () => {
    const client = await PunctualClient.local(dir);
    try {
      const at = Math.ceil(Date.now() / 1000) * 1000 + 3000;
      const { job } = await client.putJob({
        id: 'one-shot',
        schedule: atExpression(at),
        target: { type: 'handler', name: 'noop' },
      });
      let runs: Run[] = [];
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && runs[0]?.status !== 'succeeded') {
        await sleep(500);
        runs = await client.listRuns({ jobId: 'one-shot' });
      }

      expect(job.nextRunAt).toBe(new Date(at).toISOString());
      expect(runs.map((r) => `${r.runId} ${r.status}`)).toEqual([
        `one-shot@${new Date(at).toISOString()} succeeded`,
      ]);
    } finally {
      client.close();
    }
  }, 90_000);

  it('the package-smoke script puts an at() job and sees it succeed (exit 0)', async () => {
    // The script imports 'punctual': here a stand-in package re-exporting the client's source.
    const pkg = join(dir, 'node_modules', 'punctual');
    await mkdir(pkg, { recursive: true });
    await writeFile(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'punctual', type: 'module', exports: { '.': './index.js' } }),
    );
    await writeFile(
      join(pkg, 'index.js'),
      `export * from ${JSON.stringify(join(ROOT, 'shared', 'client', 'index.ts'))};\n`,
    );
    await copyFile(join(ROOT, 'examples', 'package-smoke', 'client.mjs'), join(dir, 'client.mjs'));

    const result = await run(['--import', import.meta.resolve('tsx'), 'client.mjs', '60']);

    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^ok: smoke-\d+@\S+ succeeded\(ok\)$/m);
    expect(result.code).toBe(0);
  }, 90_000);

  it('prints every --json output with the fields docs/cli.md lists', async () => {
    await writeFile(
      join(dir, 'jobs.yaml'),
      'jobs:\n  - id: doc-check\n    schedule: rate(1 hour)\n    target: { type: handler, name: noop }\n',
    );

    await json('schedule next', 'rate(5 minutes)', '--count', '2');
    await json('jobs validate', 'jobs.yaml');
    await json('jobs put', '-f', 'jobs.yaml');
    await json('jobs get', 'doc-check');
    await json('jobs pause', 'doc-check', '--note', 'docs');
    await json('jobs resume', 'doc-check');
    const manual = await json<{ runId: string }>('jobs trigger', 'doc-check');
    await json('runs show', `one-shot@${await firstRunSlot()}`);
    await json('runs list', '--job', 'doc-check');
    await json(
      'runs backfill',
      'doc-check',
      '--from',
      '2026-01-01T00:00:00Z',
      '--to',
      '2026-01-01T02:00:00Z',
    );
    await json('dlq list');
    await json('status');
    await json('jobs delete', 'doc-check');

    expect(manual.runId).toMatch(/^doc-check@manual-/);
  }, 300_000);
});

async function firstRunSlot(): Promise<string> {
  const client = await PunctualClient.local(dir);
  try {
    const [first] = await client.listRuns({ jobId: 'one-shot' });
    return first?.scheduledAt ?? '';
  } finally {
    client.close();
  }
}
