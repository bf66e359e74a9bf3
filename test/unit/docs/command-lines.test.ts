/**
 * Every `punctual …` command line the README and docs/ show parses as written: the command exists, its
 * options exist and take what is given, required arguments are there. Parsed only (the action never
 * runs); what the snippets do is not executed here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import type { Io } from '../../../cli/format.js';
import { createProgram, localBeforeCommand } from '../../../cli/program.js';
import { pages, root } from './pages.js';

/** Sample values for the placeholders the docs write (`<run-id>`, FILE, NAME, …). */
const PLACEHOLDERS: Record<string, string> = {
  '<run-id>': 'job@2026-12-01T00:00:00.000Z',
  '<run id>': 'job@2026-12-01T00:00:00.000Z',
  '<id>': 'job',
  '<expression>': 'rate(5 minutes)',
  '<stack name>': 'Punctual',
  '<queue-url>': 'http://127.0.0.1:9324/000000000000/q',
  '<file>': 'jobs.yaml',
};
const WORDS: Record<string, string> = {
  FILE: 'jobs.yaml',
  NAME: 'Punctual',
  ID: 'job',
  DIR: '.',
  T: 'token',
  TEXT: 'text',
  JSON: '{}',
  N: '3',
};

/** A shell line as words: quotes ('…', "…") kept together, a trailing comment or `||`/`|`/`&&` tail dropped. */
function words(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote = '';
  let inWord = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = '';
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(current);
  const end = out.findIndex(
    (w) => w === '#' || w === '||' || w === '|' || w === '&&' || w === '>' || w === '2>',
  );
  return end < 0 ? out : out.slice(0, end);
}

/**
 * The command lines of a page: the shell lines of its fenced blocks (bash, sh, none), and the inline
 * `punctual …` code spans of its prose (not of tables and headings, which name commands, not lines).
 */
function commandLines(text: string): string[] {
  const lines: string[] = [];
  let fence: string | null = null;
  for (const raw of text.split('\n')) {
    const open = /^\s*```(\w*)/.exec(raw);
    if (open) {
      fence = fence === null ? (open[1] ?? '') : null;
      continue;
    }
    if (fence !== null) {
      if (!['', 'bash', 'sh', 'shell', 'console'].includes(fence)) continue;
      const m = /^(?:npx (?:--no-install )?)?punctual\s+(.*)$/.exec(raw.replace(/^\s*\$\s+/, '').trim());
      if (m) lines.push(`punctual ${m[1]}`);
      continue;
    }
    if (/^\s*(\||#)/.test(raw)) continue;
    for (const span of raw.matchAll(/`((?:npx )?punctual [^`]+)`/g)) {
      const line = (span[1] ?? '').replace(/^npx /, '');
      // A span naming a family of commands ("punctual … --stack NAME", "punctual jobs validate|put") is no command line.
      if (/…|\||\.\.\./.test(line)) continue;
      lines.push(line);
    }
  }
  return lines;
}

function argvOf(line: string): string[] {
  let text = line;
  for (const [placeholder, value] of Object.entries(PLACEHOLDERS)) text = text.split(placeholder).join(value);
  text = text.replace(/\[([^\]]*)\]/g, '$1'); // optional parts written [--output JSON]
  return words(text)
    .slice(1)
    .map((w) => WORDS[w] ?? w);
}

/** Parses argv as the CLI would and stops before the action: null when it parses, else commander's message. */
async function parseOnly(argv: string[]): Promise<string | null> {
  let errors = '';
  const io: Io = {
    out: () => {},
    err: (t) => (errors += t),
    isTTY: false,
    color: false,
    columns: 100,
    env: {},
    cwd: root,
  };
  const program = createProgram(io, { exitCode: 0 });
  const parsed = new Error('parsed');
  program.hook('preAction', () => {
    throw parsed;
  });
  try {
    await program.parseAsync(localBeforeCommand(argv, program), { from: 'user' });
    return argv.includes('--help') || argv.includes('-h') ? null : 'no action ran';
  } catch (error) {
    if (error === parsed) return null;
    if (error instanceof CommanderError && error.exitCode === 0) return null;
    return errors.trim() || String(error);
  }
}

/** `punctual runs show` in prose names a command ("`punctual runs show` shows …"), it is no command line. */
function namesACommand(line: string): boolean {
  const program = createProgram(
    { out() {}, err() {}, isTTY: false, color: false, columns: 100, env: {}, cwd: root },
    { exitCode: 0 },
  );
  let command = program;
  for (const word of line.split(/\s+/).slice(1)) {
    const sub = command.commands.find((c) => c.name() === word);
    if (!sub) return false;
    command = sub;
  }
  return true;
}

const cases = pages.flatMap((page) =>
  commandLines(readFileSync(join(root, page), 'utf8'))
    .filter((line) => !namesACommand(line))
    .map((line) => [page, line] as const),
);

describe('command lines in the README and docs/', () => {
  it('finds the command lines of the tour and the runbook', () => {
    const lines = cases.map(([, line]) => line);
    expect(lines).toContain('punctual --stack Punctual status');
    expect(lines.length).toBeGreaterThan(20);
  });

  it.each(cases)('%s: `%s` parses', async (_page, line) => {
    expect(await parseOnly(argvOf(line))).toBeNull();
  });

  it('a global option before the command is the command’s own; an unknown one is still refused', async () => {
    expect(await parseOnly(['--stack', 'Punctual', '--region', 'eu-west-1', 'status'])).toBeNull();
    expect(await parseOnly(['--local', 'jobs', 'list'])).toBeNull();
    expect(await parseOnly(['--stack', 'Punctual', 'schedule', 'next', 'rate(5 minutes)'])).toMatch(
      /--stack does not apply to `punctual schedule next`/,
    );
    expect(await parseOnly(['status', '--no-such-flag'])).toMatch(/unknown option '--no-such-flag'/);
  });
});
