/**
 * Runs the `punctual` command line and maps what a command ends with to the exit code: 0 ok, 1 failure or bad
 * input (a PunctualError, with its message), 2 usage (commander's parse errors), 3 unhealthy (`status`).
 */
import { CommanderError } from 'commander';
import { PunctualError } from '../shared/errors.js';
import { errorMessage } from '../shared/util.js';
import { type Io, palette, processIo } from './format.js';
import { createProgram, localBeforeCommand, type RunState } from './program.js';

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const state: RunState = { exitCode: 0 };
  const program = createProgram(io, state);
  const red = palette(io.color && Boolean(process.stderr.isTTY)).red;
  try {
    await program.parseAsync(localBeforeCommand(argv, program), { from: 'user' });
    return state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end with code 0; every other commander error is a usage error (printed already).
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof PunctualError) {
      io.err(`${red('error')}: ${error.message}\n`);
      return error.exitCode;
    }
    io.err(`${red('error')}: ${errorMessage(error)}\n`);
    if (io.env.PUNCTUAL_DEBUG) io.err(`${(error as Error)?.stack ?? ''}\n`);
    return 1;
  }
}
