/**
 * `punctual runs heartbeat|complete|fail` take the completion token from --token, stdin (--token -) or
 * PUNCTUAL_COMPLETION_TOKEN: a credential on argv shows in `ps`. The token is resolved before any
 * connection, and no message repeats it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Io } from '../../../cli/format.js';
import { main } from '../../../cli/run.js';
import { reportToken } from '../../../cli/token.js';

const TOKEN = 'tok_3kQp9Zx2Lm7Vb4Nc8Rt1Ws6Yh0Ja5Ud';
const RUN = 'agent@2026-12-01T01:00:00.000Z';

function io(env: NodeJS.ProcessEnv = {}, stdin?: string): Io & { text: () => string } {
  let text = '';
  return {
    out: (t) => {
      text += t;
    },
    err: (t) => {
      text += t;
    },
    ...(stdin !== undefined ? { readStdin: async () => stdin } : {}),
    isTTY: false,
    color: false,
    columns: 120,
    env,
    // An empty directory: no `punctual dev` state file, so the command stops at finding its target.
    cwd: mkdtempSync(join(tmpdir(), 'punctual-token-')),
    text: () => text,
  };
}

describe('the completion token of runs complete', () => {
  it('comes from --token, from stdin with --token -, or from PUNCTUAL_COMPLETION_TOKEN', async () => {
    expect(await reportToken(io(), { token: TOKEN })).toBe(TOKEN);
    expect(await reportToken(io({}, `${TOKEN}\n`), { token: '-' })).toBe(TOKEN);
    expect(await reportToken(io({ PUNCTUAL_COMPLETION_TOKEN: TOKEN }), {})).toBe(TOKEN);
  });

  it('is refused when missing, naming the three ways, before any connection', async () => {
    // prepare
    const out = io();

    // act
    const code = await main(['runs', 'complete', RUN], out);

    // assert
    expect(code).toBe(1);
    expect(out.text()).toMatch(/no completion token: set PUNCTUAL_COMPLETION_TOKEN, pipe it with --token -/);
  });

  it('from the environment or stdin, lets the command go on to its target', async () => {
    for (const [env, stdin, args] of [
      [{ PUNCTUAL_COMPLETION_TOKEN: TOKEN }, undefined, []],
      [{}, TOKEN, ['--token', '-']],
    ] as const) {
      // prepare
      const out = io({ ...env }, stdin);

      // act
      const code = await main(['runs', 'complete', RUN, ...args, '--local', out.cwd], out);

      // assert: past the token, the command looked for the local runtime (there is none here)
      expect(code).toBe(1);
      expect(out.text()).not.toContain('completion token');
      expect(out.text()).toMatch(/punctual dev|local/);
      expect(out.text()).not.toContain(TOKEN);
    }
  });

  it('never repeats a malformed token in its error', async () => {
    // prepare
    const out = io({}, `${TOKEN} ${TOKEN}`);

    // act
    const code = await main(['runs', 'fail', RUN, '--token', '-', '--error', 'x'], out);

    // assert
    expect(code).toBe(1);
    expect(out.text()).toContain('--token - (stdin): a completion token has no whitespace inside');
    expect(out.text()).not.toContain(TOKEN.slice(0, 8));
  });
});
