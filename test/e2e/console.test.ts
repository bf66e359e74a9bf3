/**
 * The console in a real browser: playwright-core driving Debian's Chromium (/usr/bin/chromium, or
 * $PUNCTUAL_CHROMIUM; .ci/run installs it) against a local runtime on DynamoDB Local and the SQS emulator,
 * served as `punctual dev --allow-actions` serves it. Writes the screenshots of docs/console.md
 * (docs/console/*.png).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../../shared/client/index.js';
import { type ConsoleFixture, consoleFixture, mixedOutcomes, tickGap } from '../support/console.js';
import { T0 } from '../support/runtime.js';
import { root } from '../unit/docs/pages.js';

const CHROMIUM = process.env.PUNCTUAL_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(root, 'docs', 'console');

async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium; .ci/run does) or set PUNCTUAL_CHROMIUM`,
    );
  return chromium.launch({
    executablePath: CHROMIUM,
    // Root in a container: Chromium's sandbox needs user namespaces. The host rule lets a test reach the
    // console under a foreign name, as a DNS-rebinding page would.
    args: ['--no-sandbox', '--host-resolver-rules=MAP rebind.test 127.0.0.1'],
  });
}

/** A window holding every slot of the scenario (T0 − 1 h … now). */
async function runsOf(fixture: ConsoleFixture, jobId: string): Promise<Run[]> {
  const page = await fixture.client.listJobRuns(jobId, { from: T0 - 3_600_000, to: fixture.clock.now + 1 });
  return page.runs;
}

describe('console in Chromium', () => {
  let fixture: ConsoleFixture;
  let browser: Browser;
  let page: Page;
  let evil: Server;
  let evilOrigin: string;

  beforeAll(async () => {
    browser = await launch();
    fixture = await consoleFixture({ allowActions: true });
    await tickGap(fixture);
    await mixedOutcomes(fixture);
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    // Logs in: the token of the URL becomes the cookie.
    await page.goto(fixture.server.url);
    await mkdir(SHOTS, { recursive: true });
    // Another site, whose page posts a form to the console.
    evil = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(
        `<form method="post" action="${fixture.server.origin}/jobs/batch/trigger"><button>win</button></form>`,
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilOrigin = `http://localhost:${(evil.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => evil?.close(resolve));
    await fixture?.stop();
  });

  it('lists the jobs (screenshot)', async () => {
    await page.goto(`${fixture.server.origin}/`);
    await expect.poll(() => page.locator('tr[data-job]').count()).toBe(2);
    await page.screenshot({ path: join(SHOTS, 'jobs.png'), fullPage: true });
  });

  it("a tick gap: the job's timeline shows each missed slot with its reason (screenshot)", async () => {
    await page.goto(`${fixture.server.origin}/jobs/gappy`);
    const missed = page.locator('.timeline .cell[data-fate="missed"]');
    expect(await missed.count()).toBe(7);
    expect(
      await missed.evaluateAll((cells) => cells.map((cell) => cell.getAttribute('data-reason'))),
    ).toEqual(Array(7).fill('catch-up-skip'));
    await missed.first().hover();
    await expect
      .poll(() => page.locator('#cell-detail').textContent())
      .toBe('2026-12-01 00:02:00Z: missed(catch-up-skip)');
    await page.screenshot({ path: join(SHOTS, 'job-timeline.png'), fullPage: true });
    // Click: the run.
    await missed.first().click();
    await page.waitForURL(/\/runs\/gappy/);
    expect(await page.locator('h1').textContent()).toBe('gappy@2026-12-01T00:02:00.000Z');
  });

  it('bulk replay from the UI reruns exactly the failed runs of the window', async () => {
    const before = await runsOf(fixture, 'batch');
    const failed = before.filter((run) => run.status === 'failed').map((run) => run.runId);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThan(before.length);

    await page.goto(`${fixture.server.origin}/jobs/batch`);
    expect(await page.locator('.timeline .cell[data-fate="failed"]').count()).toBe(failed.length);
    await page.screenshot({ path: join(SHOTS, 'job-actions.png'), fullPage: true });
    await page.getByRole('button', { name: 'Replay runs of this window' }).click();
    await expect
      .poll(() => page.locator('.flash').first().textContent())
      .toContain(`replayed ${failed.length} of ${failed.length} failed run(s)`);
    await fixture.runtime.drain();

    const after = await runsOf(fixture, 'batch');
    expect(after.filter((run) => run.replays > 0).map((run) => run.runId)).toEqual(failed);
    for (const run of after) expect(run.attempts).toHaveLength(failed.includes(run.runId) ? 2 : 1);
  });

  it('pauses with a note and resumes a job', async () => {
    await page.goto(`${fixture.server.origin}/jobs/gappy`);
    await page.getByLabel('pause note').fill('db migration (browser test)');
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect
      .poll(() => page.locator('[data-pause-note]').textContent())
      .toContain('db migration (browser test)');
    expect((await fixture.client.getJob('gappy')).note).toBe('db migration (browser test)');
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => page.locator('.flash').first().textContent()).toBe('resumed');
    expect((await fixture.client.getJob('gappy')).enabled).toBe(true);
  });

  it('shows a run with its attempts, the DLQ and health (screenshots)', async () => {
    const replayed = (await runsOf(fixture, 'batch')).find((run) => run.replays > 0)!;
    await page.goto(`${fixture.server.origin}/runs/${encodeURIComponent(replayed.runId)}`);
    expect(await page.locator('tr[data-attempt]').count()).toBe(2);
    await page.screenshot({ path: join(SHOTS, 'run.png'), fullPage: true });
    await page.goto(`${fixture.server.origin}/dlq`);
    expect(await page.locator('table.dlq tbody tr').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SHOTS, 'dlq.png'), fullPage: true });
    await page.goto(`${fixture.server.origin}/health`);
    expect(await page.locator('h1 .badge').getAttribute('data-healthy')).toBe(
      String((await fixture.client.status()).healthy),
    );
    await page.screenshot({ path: join(SHOTS, 'health.png'), fullPage: true });
  });

  it('filters the jobs by tag through the client, and names a tag it cannot read', async () => {
    await fixture.client.putJob({
      id: 'tagged',
      schedule: 'rate(1 hour)',
      target: { type: 'handler', name: 'noop' },
      tags: { team: 'payments' },
    });
    await page.goto(`${fixture.server.origin}/`);
    await page.getByLabel('tags').fill('team=payments');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/tag=team%3Dpayments/);
    expect(
      await page.locator('tr[data-job]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job'))),
    ).toEqual(['tagged']);
    expect(await page.locator('tr[data-job] .tags').textContent()).toBe('team=payments');

    const answer = await page.goto(`${fixture.server.origin}/?tag=team`);
    expect(answer?.status()).toBe(400);
    expect(await page.locator('.refusal').textContent()).toContain('tag "team": write key=value');
  });

  it('triggers a job and replays a single run from the UI', async () => {
    await page.goto(`${fixture.server.origin}/jobs/gappy`);
    await page.getByRole('button', { name: 'Trigger now' }).click();
    await expect
      .poll(() => page.locator('.flash').first().textContent())
      .toMatch(/^triggered: run gappy@manual-/);
    await fixture.runtime.drain();
    const manual = (await runsOf(fixture, 'gappy')).filter((run) => run.manual);
    expect(manual.map((run) => run.status)).toEqual(['succeeded']);

    // A missed slot of the gap, replayed from its run page: it runs under its own run id.
    const runId = 'gappy@2026-12-01T00:03:00.000Z';
    expect((await fixture.client.getRun(runId)).status).toBe('missed');
    await page.goto(`${fixture.server.origin}/runs/${encodeURIComponent(runId)}`);
    await page.getByRole('button', { name: 'Replay this run' }).click();
    await expect.poll(() => page.locator('.flash').first().textContent()).toContain(`replayed: run ${runId}`);
    await fixture.runtime.drain();
    const replayed = await fixture.client.getRun(runId);
    expect({ status: replayed.status, replays: replayed.replays }).toEqual({
      status: 'succeeded',
      replays: 1,
    });
  });

  it('redrives a DLQ, then purges one job’s messages after the confirmation', async () => {
    const inDlq = (await fixture.client.listDlq()).filter((entry) => entry.jobId === 'batch');
    expect(inDlq.length).toBeGreaterThan(0);
    await page.goto(`${fixture.server.origin}/dlq`);
    await page.getByRole('button', { name: 'Redrive pool default' }).click();
    await expect.poll(() => page.locator('.flash').first().textContent()).toMatch(/^redrive: pool default/);
    await expect.poll(async () => (await fixture.client.listDlq()).length, { timeout: 20_000 }).toBe(0);
    // Each redriven message replays its run once more (the flaky handler's fate is fixed per run: they fail again).
    await fixture.runtime.drain();
    const back = (await fixture.client.listDlq()).filter((entry) => entry.jobId === 'batch');
    // (A run that failed twice before, once scheduled and once in the bulk replay, had two copies: one replay.)
    expect(back.map((entry) => entry.runId).sort()).toEqual(
      [...new Set(inDlq.map((entry) => entry.runId))].sort(),
    );

    await page.goto(`${fixture.server.origin}/dlq`);
    await page.getByLabel("purge which job's messages").selectOption('batch');
    await page.getByLabel('their runs stay failed and can no longer be redriven').check();
    await page.getByRole('button', { name: 'Purge pool default' }).click();
    await expect
      .poll(() => page.locator('.flash').first().textContent())
      .toBe(`purge of job batch's messages: pool default: ${back.length} deleted`);
    expect(await fixture.client.listDlq()).toEqual([]);
    for (const entry of back) expect((await fixture.client.getRun(entry.runId!)).status).toBe('failed');
  });

  describe('refusals', () => {
    it('a browser without the token gets 403 and the reason', async () => {
      const stranger = await browser.newPage();
      const answer = await stranger.goto(`${fixture.server.origin}/`);
      expect(answer?.status()).toBe(403);
      expect(await stranger.locator('.refusal').textContent()).toContain('no valid token');
      await stranger.close();
    });

    it('a foreign Host (a rebound name) gets 403, even with the token', async () => {
      const stranger = await browser.newPage();
      const answer = await stranger.goto(
        `http://rebind.test:${fixture.server.port}/?token=${fixture.server.token}`,
      );
      expect(answer?.status()).toBe(403);
      expect(await stranger.locator('.refusal').textContent()).toContain(
        `Host "rebind.test:${fixture.server.port}" is not this console`,
      );
      await stranger.close();
    });

    it("another site's form post gets 403 and triggers nothing", async () => {
      const triggeredBefore = (await runsOf(fixture, 'batch')).filter((run) => run.manual).length;
      await page.goto(`${evilOrigin}/`);
      const [answer] = await Promise.all([
        page.waitForNavigation(),
        page.getByRole('button', { name: 'win' }).click(),
      ]);
      expect(answer?.status()).toBe(403);
      expect(await page.locator('.refusal').textContent()).toContain(
        `Origin "${evilOrigin}" is not this console`,
      );
      expect((await runsOf(fixture, 'batch')).filter((run) => run.manual)).toHaveLength(triggeredBefore);
    });
  });
});
