/**
 * Tags and search (issue 20 feature 1) against DynamoDB Local: `tags` on a job, the tag index a put and a
 * delete keep, and `listJobs` / `listJobsPage` / `jobs list` filtered by tag, prefix, status and overdue.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runList } from '../../cli/commands/jobs.js';
import type { LocalRuntime } from '../../local/runtime.js';
import { stateFilePath } from '../../shared/client/connection.js';
import {
  type JobFilter,
  type JobInput,
  JobValidationError,
  PunctualClient,
} from '../../shared/client/index.js';
import { jobSchema } from '../../shared/client/views.js';
import { listAllJobs } from '../../shared/ops/list.js';
import { job, ManualClock, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime | undefined;
let client: PunctualClient | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await runtime?.stop();
  runtime = undefined;
});

function def(
  id: string,
  tags: Record<string, string> | undefined,
  fields: Record<string, unknown> = {},
): JobInput {
  return job(id, { schedule: 'rate(1 hour)', ...(tags ? { tags } : {}), ...fields }) as JobInput;
}

async function setup(clock: ManualClock) {
  const dir = await mkdtemp(join(tmpdir(), 'punctual-tags-'));
  runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 }, stateFile: stateFilePath(dir) });
  client = await PunctualClient.local(dir, { clock: clock.fn });
  return { runtime, client };
}

/** The names of the DynamoDB commands the client's store sends from now on. */
function recordCommands(rt: LocalRuntime): string[] {
  const names: string[] = [];
  rt.dynamo.middlewareStack.add(
    (next, context) => (args) => {
      names.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'recordTagCommands' },
  );
  return names;
}

describe('tags and search', () => {
  it('lists by tag, prefix and status, reading the tag index and the jobs it names, not the table', async () => {
    // prepare
    const clock = new ManualClock(T0);
    const { runtime, client } = await setup(clock);
    await client.putJob(def('invoice-eu', { team: 'payments', env: 'prod' }));
    await client.putJob(def('invoice-us', { team: 'payments', env: 'staging' }));
    await client.putJob(def('refund-eu', { team: 'payments', env: 'prod' }));
    await client.putJob(def('report', { team: 'data' }));
    await client.putJob(def('untagged', undefined));
    await client.pauseJob('invoice-us', { note: 'migration' });
    // The same listing over the runtime's store, whose DynamoDB commands can be counted.
    const commands = recordCommands(runtime);
    const listed = async (filter: JobFilter) =>
      (await listAllJobs(runtime.store, filter, { now: clock.now, tickMs: 60_000 })).map((j) => j.jobId);

    // act
    const payments = await client.listJobs({ tags: { team: 'payments' } });
    const prodInvoices = await client.listJobs({
      tags: { team: 'payments', env: 'prod' },
      prefix: 'invoice-',
    });
    const paused = await client.listJobs({ tags: { team: 'payments' }, status: 'paused' });
    const byPrefix = await client.listJobs({ prefix: 'invoice-' });
    const active = await client.listJobs({ status: 'active' });
    const taggedIds = await listed({ tags: { team: 'payments' }, prefix: 'invoice-' });
    const taggedCommands = [...commands];
    await listed({ prefix: 'invoice-' });

    // assert
    expect(payments.map((j) => j.id)).toEqual(['invoice-eu', 'invoice-us', 'refund-eu']);
    expect(prodInvoices.map((j) => j.id)).toEqual(['invoice-eu']);
    expect(paused.map((j) => j.id)).toEqual(['invoice-us']);
    expect(byPrefix.map((j) => j.id)).toEqual(['invoice-eu', 'invoice-us']);
    expect(active.map((j) => j.id)).toEqual(['invoice-eu', 'refund-eu', 'report', 'untagged']);
    expect(taggedIds).toEqual(['invoice-eu', 'invoice-us']);
    expect(jobSchema.parse(payments[0])).toEqual(payments[0]);
    expect(payments[0]!.tags).toEqual({ team: 'payments', env: 'prod' });
    // A tag filter queries the tag's entries and reads the jobs they name; only a list without a tag scans.
    expect(taggedCommands).toEqual(['QueryCommand', 'BatchGetItemCommand']);
    expect(commands.slice(taggedCommands.length)).toContain('ScanCommand');
  });

  it('keeps the index true to puts and deletes: a changed tag moves the job, a deleted job leaves it', async () => {
    // prepare
    const clock = new ManualClock(T0);
    const { client } = await setup(clock);
    await client.putJob(def('invoice-eu', { team: 'payments' }));
    await client.putJob(def('invoice-us', { team: 'payments' }));

    // act
    await client.putJob(def('invoice-eu', { team: 'billing' }));
    await client.deleteJob('invoice-us');

    // assert
    expect(await client.listJobs({ tags: { team: 'payments' } })).toEqual([]);
    expect((await client.listJobs({ tags: { team: 'billing' } })).map((j) => j.id)).toEqual(['invoice-eu']);
    // The dropped entries are gone from the index itself, not only filtered out.
    const entries = await runtime!.store.queryTagged('team', 'payments', { limit: 10 });
    expect(entries.items).toEqual([]);
  });

  it('pages through a tag with a cursor, every match once, in id order', async () => {
    // prepare
    const clock = new ManualClock(T0);
    const { client } = await setup(clock);
    const ids = Array.from({ length: 7 }, (_, i) => `batch-${i}`);
    for (const id of ids) await client.putJob(def(id, { env: 'prod' }));

    // act
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listJobsPage({ tags: { env: 'prod' } }, { limit: 3, cursor });
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 10);

    // assert
    expect(seen).toEqual(ids);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it('lists overdue jobs only with overdue: the next slot more than two periods past', async () => {
    // prepare
    const clock = new ManualClock(T0);
    const { client } = await setup(clock);
    await client.putJob(def('stuck', { team: 'ops' }, { schedule: 'rate(1 minute)' }));
    await client.putJob(def('fine', { team: 'ops' }));

    // act: no tick runs for ten minutes
    clock.advance(10 * 60_000);
    const overdue = await client.listJobs({ tags: { team: 'ops' }, overdue: true });

    // assert
    expect(overdue.map((j) => j.id)).toEqual(['stuck']);
  });

  it('refuses a bad filter naming the field, the value and the rule', async () => {
    // prepare
    const clock = new ManualClock(T0);
    const { client } = await setup(clock);

    // act
    const error = await client
      .listJobsPage(
        { tags: { 'bad key': 'x' }, status: 'sleeping' as never },
        { limit: 0, cursor: 'nonsense' },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    // assert
    expect(error).toBeInstanceOf(JobValidationError);
    const messages = (error as JobValidationError).violations.map(
      (v) => `${v.path} ${JSON.stringify(v.value)}: ${v.message}`,
    );
    expect(messages).toEqual([
      expect.stringMatching(/^tags\.bad key "x": the tag key "bad key" is not 1–64 letters/),
      'status "sleeping": must be one of active, paused, invalid',
      'limit 0: must be a whole number from 1 to 1000',
    ]);
  });

  it('punctual jobs list --tag --prefix --status prints the matching jobs', async () => {
    // prepare
    const clock = new ManualClock(T0);
    const { client } = await setup(clock);
    await client.putJob(def('invoice-eu', { team: 'payments' }));
    await client.putJob(def('invoice-us', { team: 'payments' }));
    await client.putJob(def('refund-eu', { team: 'payments' }));
    await client.pauseJob('invoice-us', { note: 'migration' });
    const out: string[] = [];
    const io = {
      out: (text: string) => out.push(text),
      err() {},
      isTTY: false,
      color: false,
      columns: 160,
      env: {},
      cwd: '.',
    };
    const target = { ...(await client.deployment()), client, close() {} };

    // act
    await runList(io, target, { tag: { team: 'payments' }, prefix: 'invoice-', status: 'paused' }, clock.now);
    const matched = out.splice(0).join('');
    await runList(io, target, { tag: { team: 'nobody' } }, clock.now);
    const none = out.splice(0).join('');

    // assert
    const rows = matched.split('\n').filter((line) => /^(invoice|refund)-/.test(line));
    expect(rows.map((line) => line.split(/\s{2,}/)[0])).toEqual(['invoice-us']);
    expect(rows[0]).toContain('paused: migration');
    expect(none).toBe('no jobs match\n');
  });
});

describe('tags: validation', () => {
  it('refuses bad tags at put, every one at once, naming field, value and rule', async () => {
    // prepare
    const clock = new ManualClock(T0);
    const { client } = await setup(clock);
    const tags = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']));

    // act
    const tooMany = await client.putJob(def('a', tags)).catch((e: unknown) => e);
    const bad = await client
      .putJob(def('b', { 'no spaces': 'x', empty: '', long: 'v'.repeat(129), n: 5 as never }))
      .catch((e: unknown) => e);

    // assert
    expect(tooMany).toBeInstanceOf(JobValidationError);
    expect((tooMany as JobValidationError).message).toContain('has 11 tags; a job may have at most 10');
    const violations = (bad as JobValidationError).violations.map((v) => `${v.path}: ${v.message}`);
    expect(violations).toEqual([
      expect.stringMatching(/^tags\["no spaces"\]: the tag key "no spaces" is not 1–64/),
      'tags.empty: a tag value must have 1 to 128 characters',
      'tags.long: a tag value must have 1 to 128 characters',
      'tags.n: a tag value must be text (quote a number or true)',
    ]);
    expect(await client.listJobs()).toEqual([]);
  });
});
