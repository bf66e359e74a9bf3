/**
 * Bad props fail synth, before any resource is built, with every violation named `path "value": rule`.
 */
import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { gapWindow, longestInterval, resolveConfig } from '../../cdk/config.js';
import { Scheduler, type SchedulerProps } from '../../cdk/scheduler.js';
import { JobValidationError } from '../../shared/errors.js';
import { parseJob } from '../../shared/jobs/index.js';
import { STACK_TARGET_POLICY } from '../../shared/targets/policy.js';
import { newStack } from './fixtures.js';

function synthError(props: SchedulerProps): Error {
  const stack = newStack({ bundle: false });
  try {
    new Scheduler(stack, 'Scheduler', props);
  } catch (error) {
    return error as Error;
  }
  throw new Error('the Scheduler was built');
}

const noop = { type: 'handler', name: 'noop' };

describe('declared jobs are validated at synth', () => {
  it('fails on a bad job, naming the field, the value and the rule', () => {
    const error = synthError({
      jobs: [
        { id: 'ok', schedule: 'rate(1 hour)', target: noop },
        { id: 'Bad Id', schedule: 'rate(0 minutes)', target: noop },
      ],
    });
    expect(error).toBeInstanceOf(JobValidationError);
    expect(error.message).toContain('invalid Scheduler "Scheduler" props:');
    expect(error.message).toContain('jobs[1].id "Bad Id": must be lowercase');
    expect(error.message).toContain(
      'jobs[1].schedule "rate(0 minutes)": the period must be at least 1 second',
    );
    expect(error.message).not.toContain('jobs[0]');
  });

  it('reports every violation of every job at once', () => {
    const error = synthError({
      jobs: [
        {
          id: 'a',
          schedule: 'cron(99 * * * ? *)',
          timezone: 'Mars/Olympus',
          target: { type: 'carrier-pigeon' },
        },
        { id: 'a', schedule: 'rate(1 hour)', target: noop },
      ],
    });
    const lines = error.message.split('\n').slice(1);
    expect(lines.some((line) => line.includes('jobs[0].schedule'))).toBe(true);
    expect(lines.some((line) => line.includes('jobs[0].timezone "Mars/Olympus"'))).toBe(true);
    expect(lines.some((line) => line.includes('jobs[0].target.type "carrier-pigeon"'))).toBe(true);
    expect(lines).toContain('  - jobs[1].id "a": is already the id of jobs[0]: job ids must be unique');
  });

  it('checks each job against the declared pools and their timeouts', () => {
    const error = synthError({
      pools: { fast: { concurrency: 2, timeout: '30s' } },
      jobs: [
        { id: 'elsewhere', schedule: 'rate(1 hour)', pool: 'gpu', target: noop },
        {
          id: 'too-long',
          schedule: 'rate(1 hour)',
          pool: 'fast',
          target: { type: 'handler', name: 'sleep', timeout: '1m' },
        },
      ],
    });
    expect(error.message).toContain(
      'jobs[0].pool "gpu": is not a pool of this Scheduler (pools: default, fast)',
    );
    expect(error.message).toContain(
      'jobs[1].target.timeout "1m": is longer than the timeout of pool "fast" (30s)',
    );
  });

  it('refuses a handler target the executor bundle does not have', () => {
    const error = synthError({
      jobs: [{ id: 'x', schedule: 'rate(1 hour)', target: { type: 'handler', name: 'mine' } }],
    });
    expect(error.message).toContain(
      'jobs[0].target.name "mine": is not a handler bundled into the executor (bundled: fail, flaky, log, noop, sleep)',
    );
  });

  it('refuses CDK tokens in a job: declared jobs must be concrete at synth', () => {
    const stack = newStack({ bundle: false });
    const queue = new sqs.Queue(stack, 'Target');
    expect(
      () =>
        new Scheduler(stack, 'Scheduler', {
          jobs: [{ id: 'x', schedule: 'rate(1 hour)', target: { type: 'sqs', queueUrl: queue.queueUrl } }],
        }),
    ).toThrow(/jobs\[0\]\.target\.queueUrl: is a CDK token, unresolved at synth/);
  });

  it('checks gap alarm options', () => {
    const error = synthError({
      jobs: [
        { id: 'once', schedule: 'at(2030-01-01T00:00:00)', target: noop, gapAlarm: { factor: 2 } },
        { id: 'weekly', schedule: 'rate(7 days)', target: noop, gapAlarm: { factor: 2 } },
        { id: 'small', schedule: 'rate(1 hour)', target: noop, gapAlarm: { factor: 0.5 } },
      ],
    });
    expect(error.message).toContain(
      'jobs[0].gapAlarm: needs a recurring schedule; "at(2030-01-01T00:00:00)" runs once',
    );
    expect(error.message).toContain(
      'jobs[1].gapAlarm.factor 2: gives a window of 14d, longer than the 7 days',
    );
    expect(error.message).toContain('jobs[2].gapAlarm.factor 0.5: must be a number of at least 1');
  });
});

describe('pools are validated at synth', () => {
  it('rejects a pool concurrency below 2, the event source mapping minimum', () => {
    const error = synthError({ pools: { small: { concurrency: 1 } } });
    expect(error).toBeInstanceOf(JobValidationError);
    expect(error.message).toContain('pools.small.concurrency 1: must be a whole number from 2 to 1000');
    expect(error.message).toContain('maximumConcurrency, whose minimum is 2');
  });

  it('rejects a batch size outside 1–10 (more needs a batching window, which would delay starts)', () => {
    const error = synthError({ pools: { wide: { batchSize: 11 } } });
    expect(error).toBeInstanceOf(JobValidationError);
    expect(error.message).toContain('pools.wide.batchSize 11: must be a whole number from 1 to 10');
    expect(error.message).toContain('batching window');
  });

  it('rejects the default pool at concurrency 1 too', () => {
    expect(synthError({ pools: { default: { concurrency: 1 } } }).message).toContain(
      'pools.default.concurrency 1',
    );
  });

  it('rejects bad names, timeouts, memory sizes and unknown settings, all at once', () => {
    const error = synthError({
      pools: { 'Bad.Name': {}, slow: { timeout: '20m', memorySize: 64, retries: 3 } as never },
    });
    expect(error.message).toContain('pools.Bad.Name "Bad.Name": is not a valid pool name');
    expect(error.message).toContain('pools.slow.timeout "20m": must be whole seconds from 1s to 15m');
    expect(error.message).toContain('pools.slow.memorySize 64: must be a whole number from 128 to 10240');
    expect(error.message).toContain('pools.slow.retries: is not a pool setting');
  });

  it('accepts a timeout as a Duration, a duration text or milliseconds', () => {
    const config = resolveConfig({
      pools: { a: { timeout: Duration.minutes(2) }, b: { timeout: '90s' }, c: { timeout: 45_000 } },
    });
    expect(
      config.pools.map((pool) => [pool.name, pool.timeoutMs, pool.concurrency, pool.memorySize]),
    ).toEqual([
      ['default', 300_000, 2, 512],
      ['a', 120_000, 2, 512],
      ['b', 90_000, 2, 512],
      ['c', 45_000, 2, 512],
    ]);
  });
});

describe('tick settings are validated at synth', () => {
  it('keeps the lookahead within SQS delays and the budget within the tick timeout', () => {
    const error = synthError({
      lookahead: Duration.minutes(20),
      tickBudget: Duration.seconds(58),
      shards: 0,
    });
    expect(error.message).toContain('lookahead "20 minutes": must be from 60s');
    expect(error.message).toContain('tickBudget "58 seconds": must be from 5s to 50s');
    expect(error.message).toContain('shards 0: must be a whole number from 1 to 100');
  });

  it('refuses a wildcard in target access', () => {
    const stack = newStack({ bundle: false });
    expect(
      () =>
        new Scheduler(stack, 'Scheduler', {
          targetAccess: { functions: ['arn:aws:lambda:eu-west-1:123456789012:function:*'] },
        }),
    ).toThrow(
      /targetAccess arn:aws:lambda:eu-west-1:123456789012:function:\*: must name resources, not wildcards/,
    );
  });
});

describe('target policy', () => {
  it('fills the fields left out from the stack default', () => {
    // act
    const config = resolveConfig({ targetPolicy: { maxRedirects: 2, allow: { cidrs: ['10.20.0.0/16'] } } });

    // assert
    expect(config.targetPolicy).toEqual({
      schemes: ['https'],
      maxRedirects: 2,
      allow: { hosts: [], urlPrefixes: [], cidrs: ['10.20.0.0/16'], addressClasses: [] },
    });
    expect(resolveConfig({}).targetPolicy).toEqual(STACK_TARGET_POLICY);
  });

  it('fails synth on a bad policy, naming the field, the value and the rule', () => {
    // act
    const error = synthError({
      targetPolicy: {
        schemes: ['gopher' as 'http'],
        allow: { cidrs: ['10.0.0.0/40'], hosts: ['metadata.google.internal'] },
      },
    });

    // assert
    expect(error).toBeInstanceOf(JobValidationError);
    expect(error.message).toContain('targetPolicy.schemes[0] "gopher": must be http or https');
    expect(error.message).toContain('targetPolicy.allow.cidrs[0] "10.0.0.0/40": must be an address range');
    expect(error.message).toContain(
      'targetPolicy.allow.hosts[0] "metadata.google.internal": is metadata.google.internal, the host name of a cloud metadata service',
    );
  });

  it('fails synth on a declared http job the policy would refuse at every run', () => {
    // act
    const error = synthError({
      jobs: [
        { id: 'plain', schedule: 'rate(1 hour)', target: { type: 'http', url: 'http://example.com/hook' } },
        { id: 'inward', schedule: 'rate(1 hour)', target: { type: 'http', url: 'https://10.0.0.7/hook' } },
        { id: 'fine', schedule: 'rate(1 hour)', target: { type: 'http', url: 'https://example.com/hook' } },
      ],
    });

    // assert
    expect(error.message).toContain(
      'jobs[0].target.url "http://example.com/hook": refused by the target policy (rule: scheme)',
    );
    expect(error.message).toContain(
      'jobs[1].target.url "https://10.0.0.7/hook": refused by the target policy (rule: private)',
    );
    expect(error.message).not.toContain('jobs[2]');
  });

  it('accepts those jobs once the policy allows them', () => {
    // act
    const config = resolveConfig({
      jobs: [
        { id: 'plain', schedule: 'rate(1 hour)', target: { type: 'http', url: 'http://example.com/hook' } },
        { id: 'inward', schedule: 'rate(1 hour)', target: { type: 'http', url: 'https://10.0.0.7/hook' } },
      ],
      targetPolicy: { schemes: ['http', 'https'], allow: { cidrs: ['10.0.0.0/24'] } },
    });

    // assert
    expect(config.jobs).toHaveLength(2);
  });

  it("refuses a policy too large for the executors' environment", () => {
    // act
    const hosts = Array.from({ length: 120 }, (_, i) => `service-${i}.billing.example.internal`);
    const error = synthError({ targetPolicy: { allow: { hosts } } });

    // assert
    expect(error.message).toMatch(/targetPolicy: is \d+ characters as JSON, over 2048/);
  });
});

describe('gap windows', () => {
  const job = (schedule: string, timezone = 'UTC') => parseJob({ id: 'j', schedule, timezone, target: noop });

  it('is the period of a rate job', () => {
    expect(longestInterval(job('rate(5 minutes)'))).toBe(300_000);
  });

  it('is the longest interval of a cron job, across DST', () => {
    // 02:30 Berlin: the day the clocks go back is 25 hours long.
    expect(longestInterval(job('cron(30 2 * * ? *)', 'Europe/Berlin'))).toBe(25 * 3_600_000);
    expect(longestInterval(job('cron(0 9 ? * MON-FRI *)'))).toBe(3 * 86_400_000);
  });

  it('is undefined for a one-shot job', () => {
    expect(longestInterval(job('at(2030-01-01T00:00:00)'))).toBeUndefined();
  });

  it('evaluates one period up to a day, then hourly periods that must all be empty, up to 7 days', () => {
    expect(gapWindow(300_000, 3)).toEqual({ windowSeconds: 900, periodSeconds: 900, evaluationPeriods: 1 });
    expect(gapWindow(60_000, 2)).toEqual({ windowSeconds: 300, periodSeconds: 300, evaluationPeriods: 1 });
    expect(gapWindow(25 * 3_600_000, 2)).toEqual({
      windowSeconds: 50 * 3_600,
      periodSeconds: 3_600,
      evaluationPeriods: 50,
    });
    expect(gapWindow(4 * 86_400_000, 2)).toMatch(/longer than the 7 days/);
  });
});

describe('declared calendars are validated at synth', () => {
  it('checks each calendar and that a declared job excludes only a declared one', () => {
    const error = synthError({
      calendars: { 'uk-holidays': { timezone: 'Europe/London', dates: ['2026-13-01'] } },
      jobs: [{ id: 'payroll', schedule: 'cron(0 9 ? * MON-FRI *)', exclude: ['us-holidays'], target: noop }],
    });
    expect(error).toBeInstanceOf(JobValidationError);
    expect(error.message).toContain(
      'calendars.uk-holidays.dates[0] "2026-13-01": is not a day of the calendar',
    );
    expect(error.message).toContain(
      'jobs[0].exclude[0] "us-holidays": is not a calendar of this Scheduler (calendars: uk-holidays)',
    );
  });

  it('hands the declared calendars to the deploy with the jobs', () => {
    const config = resolveConfig({
      calendars: { 'uk-holidays': { timezone: 'Europe/London', dates: ['2026-12-25'] } },
      jobs: [{ id: 'payroll', schedule: 'cron(0 9 ? * MON-FRI *)', exclude: ['uk-holidays'], target: noop }],
    });
    expect(config.calendars).toEqual([
      { name: 'uk-holidays', timezone: 'Europe/London', dates: ['2026-12-25'] },
    ]);
    expect(config.jobs[0]?.definition.exclude).toEqual(['uk-holidays']);
  });
});
