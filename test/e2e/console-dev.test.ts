/** `punctual dev` serves the console and prints its URL; the page lists the jobs it put. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPage } from '../support/console.js';
import { type DevProcess, startDev } from '../support/dev.js';

describe('punctual dev serves the console', () => {
  let dir: string;
  let dev: DevProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'punctual-console-dev-'));
    await writeFile(
      join(dir, 'jobs.yaml'),
      'jobs:\n  - id: console-hello\n    schedule: rate(10 seconds)\n    target: { type: handler, name: noop }\n',
    );
    dev = await startDev(['--jobs', 'jobs.yaml', '--tick', '1s'], dir);
  });
  afterAll(async () => {
    await dev?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the URL with its token; the page it opens lists the jobs, read-only', async () => {
    const line =
      /console \(read-only; --allow-actions to act\): (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(
        dev.stderr(),
      );
    expect(line, dev.stderr()).not.toBeNull();
    const login = await getPage(line![1]!);
    expect(login.status).toBe(303);
    const page = await getPage(new URL('/', line![1]!).href, login.cookie);
    expect(page.status).toBe(200);
    expect(page.body).toContain('data-job="console-hello"');
    expect(page.body).toContain('read-only');
  });
});
