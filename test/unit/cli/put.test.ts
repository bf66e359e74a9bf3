import { describe, expect, it } from 'vitest';
import { jobInputFromFlags, parseTargetOption } from '../../../cli/commands/jobs.js';
import { UsageError } from '../../../cli/context.js';
import { PunctualError } from '../../../shared/errors.js';
import { parseJob } from '../../../shared/jobs/index.js';

describe('--target of jobs put', () => {
  it('reads the shorthands handler:NAME and http:URL', () => {
    expect(parseTargetOption('handler:noop')).toEqual({ type: 'handler', name: 'noop' });
    expect(parseTargetOption('http:https://example.com/hook?x=1')).toEqual({
      type: 'http',
      url: 'https://example.com/hook?x=1',
    });
  });

  it('reads JSON', () => {
    expect(parseTargetOption('{"type":"sqs","queueUrl":"https://sqs/q"}')).toEqual({
      type: 'sqs',
      queueUrl: 'https://sqs/q',
    });
  });

  it('refuses anything else, showing both accepted forms', () => {
    expect(() => parseTargetOption('webhook:x')).toThrow(PunctualError);
    expect(() => parseTargetOption('webhook:x')).toThrow(
      /JSON such as .* or a shorthand: handler:NAME, http:URL/,
    );
  });
});

describe('jobs put from flags', () => {
  it('needs --schedule and --target to create a job', () => {
    expect(() => jobInputFromFlags('new', { schedule: ['rate(1 hour)'] }, undefined)).toThrow(UsageError);
    expect(() => jobInputFromFlags('new', { schedule: ['rate(1 hour)'] }, undefined)).toThrow(
      'needs --target',
    );
  });

  it('changes only the flags given on an existing job', () => {
    const existing = parseJob({
      id: 'x',
      schedule: 'rate(1 hour)',
      target: { type: 'handler', name: 'noop' },
      retry: { maxAttempts: 5, backoff: '1m' },
    });

    const input = jobInputFromFlags('x', { schedule: ['rate(2 hours)'], backoff: '10s' }, existing);

    expect(parseJob(input)).toEqual({
      ...existing,
      schedule: 'rate(2 hours)',
      retry: { maxAttempts: 5, backoff: 10_000 },
    });
  });
});

describe('jobs put flags for tags and run limits', () => {
  const existing = parseJob({
    id: 'x',
    schedule: 'rate(1 hour)',
    target: { type: 'handler', name: 'noop' },
    tags: { team: 'payments', env: 'prod' },
  });

  it('sets tags on top of the kept ones and removes those --untag names', () => {
    const input = jobInputFromFlags(
      'x',
      { tag: { env: 'staging', tier: 'gold' }, untag: ['team'] },
      existing,
    );

    expect(parseJob(input).tags).toEqual({ env: 'staging', tier: 'gold' });
  });

  it('keeps the tags when no tag flag is given, and sets maxRuns and afterLastRun', () => {
    const input = jobInputFromFlags('x', { maxRuns: 3, afterLastRun: 'delete' }, existing);

    expect(parseJob(input)).toMatchObject({
      tags: { team: 'payments', env: 'prod' },
      maxRuns: 3,
      afterLastRun: 'delete',
    });
  });

  it('leaves a bad value to validation, which names the field', () => {
    const input = jobInputFromFlags('x', { afterLastRun: 'archive' }, existing);

    expect(() => parseJob(input)).toThrow('afterLastRun');
  });
});

describe('jobs put --schedule repeated', () => {
  it('makes a list of the expressions (the union of their slots); one stays an expression', () => {
    const flags = {
      schedule: ['cron(0 9 ? * MON-FRI *)', 'cron(0 12 ? * SAT *)'],
      target: 'handler:noop',
    };
    expect(parseJob(jobInputFromFlags('x', flags, undefined)).schedule).toEqual([
      'cron(0 9 ? * MON-FRI *)',
      'cron(0 12 ? * SAT *)',
    ]);
    const one = jobInputFromFlags('x', { schedule: ['rate(1 hour)'], target: 'handler:noop' }, undefined);
    expect(one.schedule).toBe('rate(1 hour)');
  });
});
