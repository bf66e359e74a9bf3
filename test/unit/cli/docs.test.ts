import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { Io } from '../../../cli/format.js';
import { DOCS_PATH, generateCliDocs, README_PATH, withReadmeCommands } from '../../../cli/gen-docs.js';
import { allCommands, createProgram } from '../../../cli/program.js';

describe('docs/cli.md', () => {
  it('is what `npx tsx cli/gen-docs.ts` generates from the commands (regenerate it when this fails)', async () => {
    const onDisk = await readFile(DOCS_PATH, 'utf8');

    expect(onDisk).toBe(generateCliDocs());
  });

  it("README.md's command summary is the one generated from the commands (npm run docs:cli)", async () => {
    const readme = await readFile(README_PATH, 'utf8');

    expect(readme).toBe(withReadmeCommands(readme));
  });
});

describe('--help', () => {
  it('shows an example for every command', () => {
    let text = '';
    const io: Io = {
      out: (t) => (text += t),
      err: () => {},
      isTTY: false,
      color: false,
      columns: 100,
      env: {},
      cwd: '.',
    };
    const program = createProgram(io, { exitCode: 0 }, { helpWidth: 100 });
    const missing: string[] = [];

    for (const command of allCommands(program)) {
      text = '';
      command.outputHelp();
      // The line may set the environment or pipe stdin first (PUNCTUAL_COMPLETION_TOKEN=… punctual runs complete …).
      if (!/\nExamples?:\n {2}\$ (?:.*[|;] )?(?:[A-Z_]+=\S+ )*punctual /.test(text))
        missing.push(command.name());
    }

    expect(missing).toEqual([]);
  });
});
