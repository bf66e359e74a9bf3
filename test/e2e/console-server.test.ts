/**
 * The console's server over HTTP, against a local runtime on DynamoDB Local and the SQS emulator: the
 * token, Host and Origin checks, read-only refusals, and the pages' content (a tick gap's missed cells
 * with their reason). The browser tests (console.test.ts) drive the same pages in Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowRuns } from '../../console/pages.js';
import { putCalendar } from '../../shared/ops/calendars.js';
import { ask, type ConsoleFixture, consoleFixture, tickGap, tokenCookie } from '../support/console.js';
import { job, put, T0 } from '../support/runtime.js';

describe('console server', () => {
  let fixture: ConsoleFixture;
  let cookie: string;

  beforeAll(async () => {
    fixture = await consoleFixture();
    await tickGap(fixture);
    cookie = tokenCookie(fixture.server);
  });
  afterAll(async () => fixture?.stop());

  describe("a job page's window", () => {
    it('reads the same runs in slot order in spans side by side as in one query, and cuts at the bound', async () => {
      const [from, to] = [T0 - 3_600_000, fixture.clock.now + 1];
      const one = await windowRuns(fixture.client, 'gappy', from, to, 20_000, 1);
      const spans = await windowRuns(fixture.client, 'gappy', from, to, 20_000, 4);
      const cut = await windowRuns(fixture.client, 'gappy', from, to, 3, 4);

      expect(one.runs.length).toBe(9); // 00:00 … 00:08, two run and seven missed
      expect(spans).toEqual(one);
      expect(cut.runs.map((run) => run.runId)).toEqual(one.runs.slice(0, 3).map((run) => run.runId));
      expect(cut.truncated).toBe(true);
    });
  });

  describe('the token', () => {
    it('refuses a request without it, saying where to find it', async () => {
      const answer = await ask(fixture.server, '/');
      expect(answer.status).toBe(403);
      expect(answer.body).toContain('no valid token: open the URL the console printed');
    });

    it('refuses a wrong token', async () => {
      const answer = await ask(fixture.server, '/?token=guessed');
      expect(answer.status).toBe(403);
      expect(answer.body).toContain('is not this console');
    });

    it('takes it from the URL once, sets an HttpOnly SameSite=Strict cookie and drops it from the URL', async () => {
      const answer = await ask(fixture.server, `/jobs/gappy?window=day&token=${fixture.server.token}`);
      expect(answer.status).toBe(303);
      expect(answer.headers.location).toBe('/jobs/gappy?window=day');
      expect(String(answer.headers['set-cookie'])).toContain(`${cookie}; HttpOnly; SameSite=Strict; Path=/`);
    });

    it('serves the pages with the cookie', async () => {
      const answer = await ask(fixture.server, '/', { headers: { cookie } });
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('href="/jobs/gappy"');
    });
  });

  describe('Host and Origin', () => {
    it('refuses a foreign Host (DNS rebinding), token or not', async () => {
      const answer = await ask(fixture.server, `/?token=${fixture.server.token}`, {
        headers: { host: `rebind.example:${fixture.server.port}`, cookie },
      });
      expect(answer.status).toBe(403);
      expect(answer.body).toContain('Host &quot;rebind.example:');
      expect(answer.body).toContain('DNS-rebinding');
    });

    it('accepts localhost:PORT as well as 127.0.0.1:PORT', async () => {
      const answer = await ask(fixture.server, '/health', {
        headers: { host: `localhost:${fixture.server.port}`, cookie },
      });
      expect(answer.status).toBe(200);
    });

    it('refuses a cross-origin POST and a POST without Origin', async () => {
      const form = { 'content-type': 'application/x-www-form-urlencoded', cookie };
      const foreign = await ask(fixture.server, '/jobs/gappy/trigger', {
        method: 'POST',
        headers: { ...form, origin: 'https://evil.example' },
        body: '',
      });
      expect(foreign.status).toBe(403);
      expect(foreign.body).toContain('Origin &quot;https://evil.example&quot; is not this console');
      const none = await ask(fixture.server, '/jobs/gappy/trigger', {
        method: 'POST',
        headers: form,
        body: '',
      });
      expect(none.status).toBe(403);
      expect(none.body).toContain('a POST must carry the Origin header');
    });

    it('refuses every action when read-only, and nothing changes', async () => {
      const answer = await ask(fixture.server, '/jobs/gappy/trigger', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie,
          origin: fixture.server.origin,
        },
        body: '',
      });
      expect(answer.status).toBe(403);
      expect(answer.body).toContain('read-only: start it with --allow-actions');
      const runs = await fixture.client.listRuns({ jobId: 'gappy', limit: 100 });
      expect(runs.some((run) => run.manual)).toBe(false);
    });
  });

  describe('pages', () => {
    it('the job page shows each slot of the gap as a missed cell with its reason', async () => {
      const answer = await ask(fixture.server, '/jobs/gappy', { headers: { cookie } });
      expect(answer.status).toBe(200);
      const cells = [
        ...answer.body.matchAll(
          /<a class="cell fate-(\w+)" data-fate="\w+" data-at="([^"]+)" data-reason="([^"]*)"/g,
        ),
      ];
      const missed = cells.filter(([, fate]) => fate === 'missed');
      expect(missed.map(([, , at]) => at?.slice(11, 16))).toEqual([
        '00:02',
        '00:03',
        '00:04',
        '00:05',
        '00:06',
        '00:07',
        '00:08',
      ]);
      expect(new Set(missed.map(([, , , reason]) => reason))).toEqual(new Set(['catch-up-skip']));
      expect(cells.filter(([, fate]) => fate === 'succeeded')).toHaveLength(2);
      expect(answer.body).toContain('00:02:00Z: missed(catch-up-skip)');
      // The slots still to come are cells too (not yet claimed: no run).
      expect(answer.body).toContain('class="cell fate-upcoming"');
      // What the view read, as DynamoDB reported it.
      const cost = /this page: ([\d.]+) DynamoDB read capacity units/.exec(answer.body);
      expect(Number(cost?.[1])).toBeGreaterThan(0);
    });

    it('the run page shows the run with its attempts', async () => {
      const answer = await ask(
        fixture.server,
        `/runs/${encodeURIComponent('gappy@2026-12-01T00:01:00.000Z')}`,
        {
          headers: { cookie },
        },
      );
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('gappy@2026-12-01T00:01:00.000Z');
      expect(answer.body).toMatch(
        /<tr data-attempt="1"><td>1<\/td><td><span class="badge fate-succeeded">succeeded/,
      );
    });

    it('a run that does not exist answers 404 naming it', async () => {
      const answer = await ask(
        fixture.server,
        `/runs/${encodeURIComponent('gappy@2030-01-01T00:00:00.000Z')}`,
        {
          headers: { cookie },
        },
      );
      expect(answer.status).toBe(404);
      expect(answer.body).toContain('gappy@2030-01-01T00:00:00.000Z');
    });

    it('the health page says what status says', async () => {
      const [answer, status] = await Promise.all([
        ask(fixture.server, '/health', { headers: { cookie } }),
        fixture.client.status(),
      ]);
      expect(answer.body).toContain(`data-healthy="${status.healthy}"`);
      for (const problem of status.problems) expect(answer.body).toContain(problem.replaceAll("'", '&#39;'));
    });

    it('the jobs page filters by id substring and by outcome', async () => {
      const hit = await ask(fixture.server, '/?q=APP', { headers: { cookie } });
      expect(hit.body).toContain('data-job="gappy"');
      const miss = await ask(fixture.server, '/?q=nothing', { headers: { cookie } });
      expect(miss.body).not.toContain('data-job="gappy"');
      expect(miss.body).toContain('no job matches');
      // The last run that ended is 00:01's (the missed slots were recorded, not run).
      const succeeded = await ask(fixture.server, '/?status=succeeded', { headers: { cookie } });
      expect(succeeded.body).toContain('data-job="gappy"');
      const failed = await ask(fixture.server, '/?status=failed', { headers: { cookie } });
      expect(failed.body).not.toContain('data-job="gappy"');
    });

    it('the DLQ page lists each pool', async () => {
      const answer = await ask(fixture.server, '/dlq', { headers: { cookie } });
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('data-pool="default"');
    });

    it('serves uPlot and its own assets', async () => {
      const js = await ask(fixture.server, '/assets/uPlot.iife.min.js', { headers: { cookie } });
      expect(js.status).toBe(200);
      expect(js.body).toContain('uPlot');
      const css = await ask(fixture.server, '/assets/console.css', { headers: { cookie } });
      expect(css.headers['content-type']).toBe('text/css');
    });
  });

  describe('exclusion calendars', () => {
    const local = (at: number) => new Date(at).toISOString().slice(0, 19);
    const minute = (m: number) => T0 + m * 60_000;

    it("shows a job's excluded slots, passed and upcoming, and the calendars page names who excludes what", async () => {
      // Job `quiet` runs every minute and excludes `maintenance`: 00:10 (passed by the end) and 00:12 (ahead).
      await putCalendar(
        fixture.runtime.store,
        'maintenance',
        {
          description: 'database upgrade',
          ranges: [
            { from: local(minute(10)), to: local(minute(10.5)) },
            { from: local(minute(12)), to: local(minute(12.5)) },
          ],
        },
        fixture.clock.now,
      );
      await put(
        fixture.runtime,
        job('quiet', { schedule: 'cron(* * * * ? *)', exclude: ['maintenance'] }),
        fixture.clock.now,
      );
      for (const at of [minute(9), minute(10), minute(10.5)]) {
        fixture.clock.set(at);
        await fixture.runtime.tick();
        await fixture.runtime.drain();
      }

      const page = await ask(fixture.server, '/jobs/quiet?window=hour', { headers: { cookie } });
      expect(page.status).toBe(200);
      expect(page.body).toContain('excludes <a href="/calendars#maintenance">maintenance</a>');
      // 00:10 was recorded skipped(calendar) by the tick; 00:12 is still ahead, shown excluded.
      expect(page.body).toMatch(
        /data-fate="skipped" data-at="2026-12-01T00:10:00.000Z" data-reason="calendar" title="[^"]*calendar maintenance/,
      );
      expect(page.body).toMatch(
        /data-fate="excluded" data-at="2026-12-01T00:12:00.000Z"[^>]*title="[^"]*excluded by calendar maintenance/,
      );
      expect(page.body).toMatch(/data-fate="upcoming" data-at="2026-12-01T00:11:00.000Z"/);
      expect(page.body).toMatch(
        /<li>2026-12-01 00:12:00Z <span class="badge fate-excluded" data-excluded="maintenance">/,
      );

      const calendars = await ask(fixture.server, '/calendars', { headers: { cookie } });
      expect(calendars.status).toBe(200);
      expect(calendars.body).toMatch(
        /<tr id="maintenance" data-calendar="maintenance">[\s\S]*database upgrade[\s\S]*2026-12-01T00:12:00 → 2026-12-01T00:12:30[\s\S]*<td data-users><a href="\/jobs\/quiet">quiet<\/a><\/td>/,
      );
    });
  });
});
