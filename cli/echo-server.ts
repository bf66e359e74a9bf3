/**
 * `punctual dev --echo-server PORT`: a tiny HTTP receiver on 127.0.0.1 for the example http job. It answers
 * 204 and logs one line per request. When the job that sent it (named by the x-punctual-run-id header)
 * has `hmacSecret`, the signature (v2) is checked with `verifySignature` against that declared secret
 * (`--secret NAME=ENV_VAR`), as a real receiver would: a bad or missing signature is answered 401 (so the run
 * fails and shows it), a good one 204.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PunctualError } from '../shared/errors.js';
import { parseRunId } from '../shared/store/model.js';
import {
  ATTEMPT_HEADER,
  RUN_ID_HEADER,
  SIGNATURE_V2_HEADER,
  TIMESTAMP_HEADER,
  verifySignature,
} from '../shared/targets/http.js';
import type { SecretResolver } from '../shared/targets/secrets.js';

export interface EchoServer {
  port: number;
  close(): Promise<void>;
}

export interface EchoOptions {
  /** The `hmacSecret` of a job's http target, if any. */
  hmacSecretOf(jobId: string): Promise<string | undefined>;
  /** The declared secrets (`punctual dev --secret`). */
  secrets: SecretResolver;
  log(line: string): void;
  now?: () => number;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startEchoServer(port: number, options: EchoOptions): Promise<EchoServer> {
  const now = options.now ?? Date.now;
  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const runId = header(request, RUN_ID_HEADER);
      const attempt = header(request, ATTEMPT_HEADER);
      const jobId = runId ? parseRunId(runId)?.jobId : undefined;
      let status = 204;
      let check = 'unsigned';
      const secretName = jobId ? await options.hmacSecretOf(jobId).catch(() => undefined) : undefined;
      if (secretName) {
        const secret = await options.secrets.get(secretName).catch(() => undefined);
        if (!secret) check = `not verified: secret ${secretName} is not declared or has no value here`;
        else if (
          verifySignature(
            secret,
            {
              method: request.method ?? '',
              // A receiver on the internet builds this from its configured origin; the echo server
              // answers on loopback under whatever host the job's URL names.
              url: `http://${header(request, 'host') ?? `127.0.0.1:${port}`}${request.url ?? '/'}`,
              timestamp: header(request, TIMESTAMP_HEADER),
              body,
            },
            header(request, SIGNATURE_V2_HEADER),
            { now: now() },
          )
        ) {
          check = 'signature ok';
        } else {
          check = 'signature INVALID';
          status = 401;
        }
      } else if (header(request, SIGNATURE_V2_HEADER)) check = 'signed (no hmacSecret known to check it)';
      const who = runId ? `run ${runId} attempt ${attempt ?? '?'}` : 'no run id';
      options.log(
        `echo ${request.method} ${request.url} ${who}, ${Buffer.byteLength(body)} bytes, ${check} → ${status}`,
      );
      response.writeHead(status).end();
    })().catch((error: unknown) => {
      options.log(`echo: ${String(error)}`);
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new PunctualError(
          error.code === 'EADDRINUSE'
            ? `--echo-server ${port}: the port is in use; pick another`
            : `--echo-server ${port}: ${error.message}`,
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
