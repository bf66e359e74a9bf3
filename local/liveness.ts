/**
 * The liveness of `punctual dev`, held by the process itself: a loopback socket that greets whoever
 * connects with the nonce its state file records. The kernel closes it when the process ends however it
 * ends (kill -9, a crash, a container without an init that never reaps the zombie), so a state file whose
 * socket does not answer with its nonce belongs to a runtime that is gone, whatever `kill(pid, 0)` says.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { type DevLiveness, livenessGreeting } from '../shared/client/connection.js';

export interface HeldLiveness {
  liveness: DevLiveness;
  stop(): Promise<void>;
}

/** Listens on a free loopback port until `stop`; the socket does not keep the process alive. */
export async function holdLiveness(): Promise<HeldLiveness> {
  const nonce = randomUUID();
  const server = createServer((socket) => {
    socket.on('error', () => {}); // a prober that hangs up early is no concern of ours
    socket.end(livenessGreeting(nonce));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  const { port } = server.address() as { port: number };
  return {
    liveness: { port, nonce },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
