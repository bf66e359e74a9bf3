/**
 * `completion: async`, `heartbeatTimeout` and `maxRunDuration` in a job: accepted where a hand-off exists,
 * refused elsewhere with an error naming the field, the value and the rule.
 */
import { describe, expect, it } from 'vitest';
import { formatViolation } from '../../../shared/errors.js';
import { isAsyncTarget, validateJob } from '../../../shared/jobs/schema.js';

const base = { id: 'agent', schedule: 'rate(10 minutes)' };

function violations(input: Record<string, unknown>): string[] {
  const result = validateJob({ ...base, ...input });
  return result.ok ? [] : result.violations.map(formatViolation);
}

describe('completion: async', () => {
  it.each([
    ['http', { url: 'https://example.com/agents' }],
    ['sqs', { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/work' }],
    ['lambda', { functionName: 'agent' }],
    ['eventbridge', {}],
  ])('is accepted on a %s target, with the bounds in ms', (type, fields) => {
    const result = validateJob({
      ...base,
      target: { type, ...fields, completion: 'async' },
      heartbeatTimeout: '2m',
      maxRunDuration: '6h',
    });

    expect(result.ok && result.job).toMatchObject({
      target: { completion: 'async' },
      heartbeatTimeout: 120_000,
      maxRunDuration: 21_600_000,
    });
    expect(result.ok && isAsyncTarget(result.job.target)).toBe(true);
  });

  it('is refused on a handler target, which ends when its invocation returns', () => {
    expect(violations({ target: { type: 'handler', name: 'noop', completion: 'async' } })).toEqual([
      'target.completion "async": is for targets that hand a run off (http, lambda, sqs, eventbridge); a handler target ends when its invocation returns',
    ]);
  });

  it('refuses a completion mode that does not exist', () => {
    expect(
      violations({ target: { type: 'sqs', queueUrl: 'https://q.example/1/q', completion: 'later' } }),
    ).toEqual([expect.stringMatching(/^target\.completion "later": .*sync.*async/)]);
  });
});

describe('heartbeatTimeout and maxRunDuration', () => {
  it('apply only to an asynchronous target', () => {
    expect(
      violations({ target: { type: 'handler', name: 'noop' }, heartbeatTimeout: '1m', maxRunDuration: '1h' }),
    ).toEqual([
      'heartbeatTimeout "1m": applies only to an asynchronous target (target.completion: async, stepfunctions, ecs)',
      'maxRunDuration "1h": applies only to an asynchronous target (target.completion: async, stepfunctions, ecs)',
    ]);
  });

  it('the heartbeat timeout must be shorter than the run duration (defaults 5m and 24h)', () => {
    const target = { type: 'sqs', queueUrl: 'https://q.example/1/q', completion: 'async' };
    expect(violations({ target, heartbeatTimeout: '2h', maxRunDuration: '1h' })).toEqual([
      'heartbeatTimeout "2h": heartbeatTimeout (2h) must be shorter than maxRunDuration (1h)',
    ]);
    expect(violations({ target, maxRunDuration: '4m' })).toEqual([
      'maxRunDuration "4m": heartbeatTimeout (5m) must be shorter than maxRunDuration (4m)',
    ]);
  });

  it('are bounded: a heartbeat timeout of 10 s to 12 h, a run of 1 minute to 7 days', () => {
    const target = { type: 'sqs', queueUrl: 'https://q.example/1/q', completion: 'async' };
    expect(violations({ target, heartbeatTimeout: '5s' })).toEqual([
      expect.stringMatching(/^heartbeatTimeout "5s": must be at least 10s/),
    ]);
    expect(violations({ target, maxRunDuration: '8d' })).toEqual([
      expect.stringMatching(/^maxRunDuration "8d": must be at most 7d/),
    ]);
  });
});
