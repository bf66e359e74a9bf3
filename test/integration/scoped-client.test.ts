/**
 * A client made for one application (`jobIdPrefix`, as its grant `grantManageJobs(fn, { jobIdPrefix })`)
 * refuses job and run ids outside the prefix with a clear error, before any request; its own jobs work.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { PunctualClient } from '../../shared/client/client.js';
import { stateFilePath } from '../../shared/client/connection.js';
import { JobValidationError, PunctualError } from '../../shared/errors.js';
import { ManualClock, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime;
let dir: string;
let client: PunctualClient;
const clock = new ManualClock(T0);
const job = (id: string) => ({ id, schedule: 'rate(1 hour)', target: { type: 'handler', name: 'noop' } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'punctual-scoped-'));
  runtime = await testRuntime({ clock: clock.fn, tick: { lookaheadMs: 0 }, stateFile: stateFilePath(dir) });
  const operator = await PunctualClient.local(dir, { clock: clock.fn });
  await operator.putJob({ ...job('reports-nightly'), tags: { team: 'reports' } } as never);
  operator.close();
  client = await PunctualClient.local(dir, { clock: clock.fn, jobIdPrefix: 'billing-' });
});

afterAll(async () => {
  client?.close();
  await runtime?.stop();
});

describe('a client with jobIdPrefix', () => {
  it('puts, reads, pauses and lists (by tag) its own jobs', async () => {
    await client.putJob({ ...job('billing-invoice-42'), tags: { team: 'billing' } } as never);

    expect((await client.getJob('billing-invoice-42')).id).toBe('billing-invoice-42');
    expect((await client.pauseJob('billing-invoice-42')).id).toBe('billing-invoice-42');
    expect((await client.listJobs({ tags: { team: 'billing' } })).map((j) => j.id)).toEqual([
      'billing-invoice-42',
    ]);
    for (const run of await client.listRuns({ jobId: 'billing-invoice-42' }))
      expect(run.jobId).toBe('billing-invoice-42');
  });

  it('refuses a put outside its prefix with JobValidationError naming the id', async () => {
    const put = client.putJob(job('reports-nightly') as never);

    await expect(put).rejects.toThrow(JobValidationError);
    await expect(put).rejects.toThrow(
      /id "reports-nightly": must start with this client's jobIdPrefix "billing-"/,
    );
  });

  it("refuses another application's job and run ids, and listings a scoped grant cannot serve", async () => {
    const outside = /"reports-nightly": outside this client's jobIdPrefix "billing-"/;
    for (const call of [
      () => client.getJob('reports-nightly'),
      () => client.deleteJob('reports-nightly'),
      () => client.pauseJob('reports-nightly'),
      () => client.triggerJob('reports-nightly'),
      () => client.listRuns({ jobId: 'reports-nightly' }),
      () => client.getRun('reports-nightly@2026-12-01T01:00Z'),
      () => client.replayRun('reports-nightly@2026-12-01T01:00:00.000Z'),
      () => client.complete('reports-nightly@2026-12-01T01:00:00.000Z', 't'.repeat(43)),
    ]) {
      await expect(call()).rejects.toThrow(outside);
    }
    await expect(client.listJobs()).rejects.toThrow(
      /needs a tags filter: a grant scoped to a prefix allows no Scan/,
    );
    await expect(client.listJobs({ tags: { team: 'reports' }, prefix: 'reports-' })).rejects.toThrow(
      PunctualError,
    );
    expect(await client.listJobs({ tags: { team: 'reports' } })).toEqual([]);
    await expect(client.listRuns()).rejects.toThrow(/listRuns with jobIdPrefix "billing-" needs a jobId/);
    // The other application's job is untouched.
    const operator = await PunctualClient.local(dir, { clock: clock.fn });
    expect((await operator.getJob('reports-nightly')).enabled).toBe(true);
    operator.close();
  });

  it('refuses a prefix that is not the start of a job id', () => {
    expect(() => new PunctualClient({ stackName: 'P', jobIdPrefix: 'Billing*' })).toThrow(
      /jobIdPrefix "Billing\*": must be the start of a job id/,
    );
  });
});
