/**
 * Where `punctual runs heartbeat|complete|fail` takes the completion token from. It is a credential (it
 * ends the attempt it was made for): on argv it shows in `ps` and the shell's history, so a worker can
 * give it in the environment or on stdin instead. The token never appears in what the CLI prints.
 */
import { PunctualError } from '../shared/errors.js';
import type { Io } from './format.js';

/** The environment variable read when `--token` is not given. */
export const TOKEN_ENV = 'PUNCTUAL_COMPLETION_TOKEN';

/** `--token T`, `--token -` (stdin, surrounding whitespace dropped), else `$PUNCTUAL_COMPLETION_TOKEN`. */
export async function reportToken(io: Io, flags: { token?: string }): Promise<string> {
  let token: string | undefined;
  let from: string;
  if (flags.token === '-') {
    if (!io.readStdin) throw new PunctualError('--token -: this command has no stdin to read the token from');
    token = (await io.readStdin()).trim();
    from = '--token - (stdin)';
  } else if (flags.token !== undefined) {
    token = flags.token;
    from = '--token';
  } else {
    token = io.env[TOKEN_ENV];
    from = TOKEN_ENV;
  }
  if (!token) {
    throw new PunctualError(
      flags.token === undefined
        ? `no completion token: set ${TOKEN_ENV}, pipe it with --token -, or give --token <token> (visible in ps)`
        : `${from}: the completion token is empty`,
    );
  }
  if (/\s/.test(token)) {
    // Say where, never what: a token is a credential.
    throw new PunctualError(
      `${from}: a completion token has no whitespace inside (${token.length} characters given)`,
    );
  }
  return token;
}
