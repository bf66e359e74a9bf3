/**
 * The README's and docs/' runnable snippets run as written, the way a newcomer runs them: every fenced block
 * whose info string says `runnable` (```` ```bash runnable ````, ```` ```ts runnable ````,
 * ```` ```js runnable ````) is executed against a `punctual dev` started as `npm start` starts it (its tick
 * every 60 s), in one directory, and must exit 0 with nothing on stderr. Shell blocks run line by line (`npx punctual` is this checkout's CLI); js/ts
 * blocks run as modules from that directory, where `import … from 'punctual'` is this package (Node's
 * self-reference through package.json `exports`, so dist/ built by the test setup is what they import).
 *
 * The same js/ts programs also type-check with the project's compiler options (ts strict, js with checkJs).
 *
 * Fragments (a line of a handler, a construct prop) are not marked and only parse (command-lines.test.ts).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type DevProcess, startDev } from '../support/dev.js';
import { pages, root } from '../unit/docs/pages.js';

interface Snippet {
  page: string;
  line: number;
  lang: string;
  code: string;
}

/** Every block of a page opened by ```` ```<lang> runnable ````, with the line it starts on. */
async function runnableSnippets(page: string): Promise<Snippet[]> {
  const lines = (await readFile(join(root, page), 'utf8')).split('\n');
  const snippets: Snippet[] = [];
  let open: Snippet | null = null;
  let inFence = false;
  lines.forEach((raw, index) => {
    const fence = /^\s*```(\S*)(.*)$/.exec(raw);
    if (fence && !inFence) {
      inFence = true;
      const [, lang = '', rest = ''] = fence;
      if (/\brunnable\b/.test(rest)) open = { page, line: index + 1, lang, code: '' };
    } else if (fence) {
      inFence = false;
      if (open) snippets.push(open);
      open = null;
    } else if (open) {
      (open as Snippet).code += `${raw}\n`;
    }
  });
  return snippets;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A shell block's command lines: comments and blank lines dropped, `npx punctual` this checkout's CLI. */
function shellLines(code: string): string[] {
  return code
    .split('\n')
    .map((line) => line.replace(/\s+#\s.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.replace(/^npx punctual\b/, `"${process.execPath}" "${BIN}"`));
}

const TSX = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const all = (await Promise.all(pages.map(runnableSnippets))).flat();

// Inside the package, so that `punctual`, `aws-cdk-lib` and `constructs` resolve as in an app that installed them.
const dir = join(root, '.snippets', `run-${process.pid}`);
let dev: DevProcess;

beforeAll(async () => {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  // npm start's jobs, with the echo server on a free port instead of 8787.
  const jobs = (await readFile(join(root, 'examples', 'jobs.yaml'), 'utf8')).replaceAll('8787', String(port));
  await writeFile(join(dir, 'jobs.yaml'), jobs);
  process.env.PUNCTUAL_EXAMPLE_SECRET = 'local-example-secret';
  dev = await startDev(
    [
      '--jobs',
      'jobs.yaml',
      '--secret',
      'example-hook=PUNCTUAL_EXAMPLE_SECRET',
      '--echo-server',
      String(port),
      '--example-worker',
      '--no-console',
    ],
    dir,
  );
});

afterAll(async () => {
  await dev?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('runnable snippets of the README and docs/', () => {
  it('the tour and the library page mark their complete programs runnable', () => {
    const where = all.map((s) => `${s.page}:${s.lang}`);
    expect(where).toContain('README.md:bash');
    expect(where).toContain('docs/library.md:ts');
    expect(where).toContain('docs/library.md:js');
  });

  it('the js and ts programs type-check as written against the package’s types', async () => {
    // What an app's editor and tsc would say: the project's compiler options (strict), `punctual` mapped to
    // this checkout's sources as an app's node_modules maps it to the .d.ts built from them; js with checkJs.
    const programs = all.filter((s) => s.lang === 'js' || s.lang === 'ts');
    const types = join(root, '.snippets', `types-${process.pid}`);
    await mkdir(types, { recursive: true });
    try {
      const files = await Promise.all(
        programs.map(async (snippet) => {
          const name = `${snippet.page.replace(/\W/g, '-')}-${snippet.line}.${snippet.lang === 'ts' ? 'mts' : 'mjs'}`;
          await writeFile(join(types, name), snippet.code);
          return name;
        }),
      );
      const config = {
        extends: '../../tsconfig.json',
        compilerOptions: { allowJs: true, checkJs: true, noEmit: true },
        include: files,
      };
      await writeFile(join(types, 'tsconfig.json'), JSON.stringify(config));
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      const result = await run(process.execPath, [tsc, '-p', join(types, 'tsconfig.json')], types);
      // An error names the snippet's file: `docs-library-md-62.mts(12,5): error TS2339: …`.
      expect({ code: result.code, errors: result.stdout.trim() }).toEqual({ code: 0, errors: '' });
    } finally {
      await rm(types, { recursive: true, force: true });
    }
  });

  it.each(all.map((s) => [`${s.page}:${s.line} (${s.lang})`, s] as const))(
    '%s runs as written',
    async (_where, snippet) => {
      if (snippet.lang === 'bash' || snippet.lang === 'sh') {
        for (const line of shellLines(snippet.code)) {
          const result = await run('/bin/sh', ['-c', line], dir);
          // The output too, for the failure message (status says why it is unhealthy on stdout).
          expect({
            line,
            code: result.code,
            stderr: result.stderr,
            stdout: result.code ? result.stdout : '',
          }).toEqual({
            line,
            code: 0,
            stderr: '',
            stdout: '',
          });
        }
        return;
      }
      expect(['js', 'ts']).toContain(snippet.lang);
      const file = join(
        dir,
        `snippet-${snippet.page.replace(/\W/g, '-')}-${snippet.line}.${snippet.lang === 'ts' ? 'mts' : 'mjs'}`,
      );
      await writeFile(file, snippet.code);
      const result =
        snippet.lang === 'ts'
          ? await run(process.execPath, [TSX, file], dir)
          : await run(process.execPath, [file], dir);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    },
  );
});
