/**
 * `handlers: { entry }`: the consumer's module is bundled with the executor at synth; every executor deploys
 * that bundle; the declared jobs are checked against the handlers it registers; and the bundle, imported as
 * Lambda imports it, holds the consumer's handler (test/e2e/deployed.test.ts runs it end to end).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleDir, ESM_REQUIRE_BANNER } from '../../cdk/functions.js';
import { Scheduler } from '../../cdk/scheduler.js';
import { newStack, type Resource } from './fixtures.js';

const ENTRY = fileURLToPath(new URL('../../examples/app/handlers.ts', import.meta.url));
const BROKEN = fileURLToPath(new URL('../fixtures/handlers/broken.ts', import.meta.url));
const report = { type: 'handler', name: 'daily-report' };

function synthError(build: () => void): Error {
  try {
    build();
  } catch (error) {
    return error as Error;
  }
  throw new Error('the Scheduler was built');
}

describe('handlers: { entry }', () => {
  let template: Template;
  let outdir: string;
  let scheduler: Scheduler;

  beforeAll(() => {
    const stack = newStack();
    scheduler = new Scheduler(stack, 'Scheduler', {
      pools: { default: {}, batch: { concurrency: 2 } },
      handlers: { entry: ENTRY },
      jobs: [
        { id: 'report', schedule: 'rate(1 day)', target: report, payload: { url: 'https://x', team: 't' } },
      ],
    });
    template = Template.fromStack(stack);
    outdir = (stack.node.root as App).outdir;
  });

  function assetOf(fn: IFunction): string {
    const id = Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnElement);
    const resource = template.toJSON().Resources[id] as Resource;
    const key = String((resource.Properties.Code as { S3Key: string }).S3Key).replace(/\.zip$/, '');
    return join(outdir, `asset.${key}`, 'index.mjs');
  }

  it('deploys one bundle with the handlers to every executor, and the prebuilt bundles elsewhere', () => {
    const executors = Object.values(scheduler.pools).map((pool) => assetOf(pool.executor));
    expect(new Set(executors).size).toBe(1);
    const bundle = readFileSync(executors[0]!, 'utf8');
    expect(bundle.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    expect(bundle).not.toBe(readFileSync(join(bundleDir('executor'), 'index.mjs'), 'utf8'));
    expect(readFileSync(assetOf(scheduler.tickFunction), 'utf8')).toBe(
      readFileSync(join(bundleDir('tick'), 'index.mjs'), 'utf8'),
    );
  });

  it('holds the consumer handler next to the builtins when imported as Lambda imports it', async () => {
    const executor = assetOf(scheduler.pools.default!.executor);
    const module = (await import(pathToFileURL(executor).href)) as {
      handler: unknown;
      handlerNames: () => string[];
    };
    expect(typeof module.handler).toBe('function');
    expect(module.handlerNames()).toEqual(['daily-report', 'fail', 'flaky', 'log', 'noop', 'sleep']);
  });

  it('refuses a declared job naming a handler the module does not register, listing those it does', () => {
    const error = synthError(
      () =>
        new Scheduler(newStack(), 'Scheduler', {
          handlers: { entry: ENTRY },
          jobs: [{ id: 'x', schedule: 'rate(1 hour)', target: { type: 'handler', name: 'weekly-report' } }],
        }),
    );
    expect(error.message).toContain(
      'jobs[0].target.name "weekly-report": is not a handler bundled into the executor (bundled: daily-report, fail, flaky, log, noop, sleep)',
    );
  });

  it('fails synth on an entry that does not exist, naming the prop and the path', () => {
    const error = synthError(
      () => new Scheduler(newStack(), 'Scheduler', { handlers: { entry: 'src/absent.ts' } }),
    );
    expect(error.message).toMatch(
      /^Scheduler "Scheduler" props: handlers.entry "src\/absent.ts": no such file/,
    );
  });

  it('fails synth on a module that throws at import, with its error', () => {
    const error = synthError(() => new Scheduler(newStack(), 'Scheduler', { handlers: { entry: BROKEN } }));
    expect(error.message).toContain('the executor bundle with it fails to load');
    expect(error.message).toContain('this module fails at import');
  });
});
