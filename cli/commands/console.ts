/**
 * `punctual console`: serves the console (console/server.ts) on 127.0.0.1 against the deployment the
 * target options name, through the same `PunctualClient` connection as every other command, until
 * Ctrl-C or SIGTERM.
 */
import { startConsole } from '../../console/server.js';
import type { Target } from '../context.js';
import type { Io } from '../format.js';

export interface ConsoleFlags {
  port?: number;
  allowActions?: boolean;
}

export async function runConsole(
  io: Io,
  target: Target,
  flags: ConsoleFlags,
  signals: NodeJS.EventEmitter = process,
): Promise<number> {
  const server = await startConsole({
    client: target.client,
    allowActions: flags.allowActions ?? false,
    ...(flags.port !== undefined ? { port: flags.port } : {}),
  });
  io.err(
    `punctual console: ${target.label}, ${flags.allowActions ? 'actions allowed' : 'read-only (--allow-actions to act)'}; Ctrl-C stops it\n`,
  );
  io.out(`${server.url}\n`);
  const signal = await new Promise<string>((resolve) => {
    const stop = (name: string) => {
      signals.off('SIGINT', stop);
      signals.off('SIGTERM', stop);
      resolve(name);
    };
    signals.on('SIGINT', stop);
    signals.on('SIGTERM', stop);
  });
  await server.close();
  io.err(`${signal}: console stopped\n`);
  return 0;
}
