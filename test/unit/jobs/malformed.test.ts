import { describe, expect, it } from 'vitest';
import { formatViolation } from '../../../shared/errors.js';
import { MAX_PAYLOAD_BYTES, validateJob } from '../../../shared/jobs/index.js';

const base = {
  id: 'nightly-report',
  schedule: 'cron(0 2 * * ? *)',
  target: { type: 'http', url: 'https://example.com/hook' },
};
const http = (fields: Record<string, unknown>) => ({ target: { ...base.target, ...fields } });

function nested(depth: number): unknown {
  return depth === 0 ? 'leaf' : { next: nested(depth - 1) };
}

interface Case {
  name: string;
  /** Fields merged over a valid job; `undefined` removes one. */
  change: Record<string, unknown>;
  /**
   * The violation expected, as `formatViolation` writes it (`path "value": rule`): a part of the line, or
   * a pattern where the value is too long to write out (formatViolation cuts it at 120 characters).
   */
  expected: string | RegExp;
}

const cases: Case[] = [
  {
    name: 'id with a space',
    change: { id: 'nightly report' },
    expected: 'id "nightly report": must contain only a-z, 0-9, "-", "_" and "." (found " ")',
  },
  { name: 'uppercase id', change: { id: 'Nightly' }, expected: 'id "Nightly": must be lowercase' },
  {
    name: 'id with @',
    change: { id: 'job@1' },
    expected: 'id "job@1": must not contain "@": run ids are jobId@slot',
  },
  {
    name: 'id too long',
    change: { id: 'a'.repeat(129) },
    expected: /^id "a{119}: must be at most 128 characters \(is 129\)$/,
  },
  {
    name: 'id starting with a dash',
    change: { id: '-job' },
    expected: 'id "-job": must start with a lowercase letter or a digit',
  },
  { name: 'id missing', change: { id: undefined }, expected: 'id: is required' },
  { name: 'id not a string', change: { id: 42 }, expected: 'id 42: must be a string, not a number' },
  { name: 'schedule missing', change: { schedule: undefined }, expected: 'schedule: is required' },
  { name: 'schedule empty', change: { schedule: '' }, expected: 'schedule "": must not be empty' },
  {
    name: 'rate of zero',
    change: { schedule: 'rate(0 minutes)' },
    expected: 'schedule "rate(0 minutes)": the period must be at least 1 second',
  },
  {
    name: 'five-field cron in EventBridge form',
    change: { schedule: 'cron(0 2 * * *)' },
    expected: 'schedule "cron(0 2 * * *)": cron expressions take six fields',
  },
  {
    name: 'schedule in words',
    change: { schedule: 'every day' },
    expected: 'schedule "every day": a crontab line takes five fields',
  },
  {
    name: 'unknown time zone',
    change: { timezone: 'Mars/Olympus' },
    expected: 'timezone "Mars/Olympus": is not an IANA time zone',
  },
  {
    name: 'offset instead of a zone',
    change: { timezone: '+02:00' },
    expected: 'timezone "+02:00": is not an IANA time zone',
  },
  { name: 'target missing', change: { target: undefined }, expected: 'target: is required' },
  {
    name: 'target as a bare URL',
    change: { target: 'https://example.com' },
    expected:
      'target "https://example.com": must be an object with a type (http, lambda, sqs, eventbridge, handler, stepfunctions, ecs)',
  },
  {
    name: 'unknown target type',
    change: { target: { type: 'webhook' } },
    expected:
      'target.type "webhook": must be one of http, lambda, sqs, eventbridge, handler, stepfunctions, ecs',
  },
  {
    name: 'target without a type',
    change: { target: { url: 'https://example.com' } },
    expected: 'target.type: is required: one of http, lambda, sqs, eventbridge, handler, stepfunctions, ecs',
  },
  { name: 'http without url', change: { target: { type: 'http' } }, expected: 'target.url: is required' },
  {
    name: 'non-http url',
    change: http({ url: 'ftp://example.com/x' }),
    expected: 'target.url "ftp://example.com/x": must be an http or https URL',
  },
  {
    name: 'url without a scheme',
    change: http({ url: 'example.com/hook' }),
    expected: 'target.url "example.com/hook": is not a URL',
  },
  {
    name: 'bad method',
    change: http({ method: 'FETCH' }),
    expected: 'target.method "FETCH": must be one of GET, POST, PUT, PATCH, DELETE',
  },
  {
    name: 'bad header name',
    change: http({ headers: { 'X Key': '1' } }),
    expected: 'target.headers["X Key"] "1": is not a valid HTTP header name',
  },
  {
    name: 'header value with a line break',
    change: http({ headers: { 'X-Trace': 'a\r\nHost: evil' } }),
    expected: 'target.headers.X-Trace "a\\r\\nHost: evil": must not contain line breaks',
  },
  {
    name: 'misspelt target field',
    change: http({ urll: 'https://example.com' }),
    expected: 'target.urll "https://example.com": is not a known field (did you mean "url"?)',
  },
  {
    name: 'lambda without a function',
    change: { target: { type: 'lambda' } },
    expected: 'target.functionName: is required',
  },
  {
    name: 'bad lambda function name',
    change: { target: { type: 'lambda', functionName: 'my function' } },
    expected: 'target.functionName "my function": must be a Lambda function name or ARN',
  },
  {
    name: 'sqs queue name instead of URL',
    change: { target: { type: 'sqs', queueUrl: 'orders' } },
    expected: 'target.queueUrl "orders": must be a queue URL',
  },
  {
    name: 'eventbridge source reserved by AWS',
    change: { target: { type: 'eventbridge', source: 'aws.events' } },
    expected: 'target.source "aws.events": must not start with "aws."',
  },
  {
    name: 'handler name with a space',
    change: { target: { type: 'handler', name: 'do it' } },
    expected: 'target.name "do it": must be a handler name',
  },
  {
    name: 'target timeout over 15 minutes',
    change: http({ timeout: '20m' }),
    expected: 'target.timeout "20m": must be at most 15m',
  },
  {
    name: 'target timeout under a second',
    change: http({ timeout: '500ms' }),
    expected: 'target.timeout "500ms": must be at least 1s',
  },
  { name: 'negative maxCatchUp', change: { maxCatchUp: -1 }, expected: 'maxCatchUp -1: must be at least 1' },
  {
    name: 'maxCatchUp over 1000',
    change: { maxCatchUp: 1001 },
    expected: 'maxCatchUp 1001: must be at most 1000',
  },
  {
    name: 'fractional maxCatchUp',
    change: { maxCatchUp: 2.5 },
    expected: 'maxCatchUp 2.5: must be a whole number',
  },
  {
    name: 'maxCatchUp as text',
    change: { maxCatchUp: 'ten' },
    expected: 'maxCatchUp "ten": must be a number, not a string',
  },
  {
    name: 'unknown catchUp',
    change: { catchUp: 'newest' },
    expected: 'catchUp "newest": must be one of skip, latest, all',
  },
  {
    name: 'unknown overlap',
    change: { overlap: 'parallel' },
    expected: 'overlap "parallel": must be one of allow, skip, queue',
  },
  {
    name: 'maxAttempts 0',
    change: { retry: { maxAttempts: 0 } },
    expected: 'retry.maxAttempts 0: must be at least 1',
  },
  {
    name: 'maxAttempts over 20',
    change: { retry: { maxAttempts: 21 } },
    expected: 'retry.maxAttempts 21: must be at most 20',
  },
  {
    name: 'backoff over 12 hours',
    change: { retry: { backoff: '13h' } },
    expected: 'retry.backoff "13h": must be at most 12h',
  },
  {
    name: 'backoff under a second',
    change: { retry: { backoff: 10 } },
    expected: 'retry.backoff 10: must be at least 1s',
  },
  {
    name: 'seconds written as a bare number',
    change: http({ timeout: 30 }),
    expected:
      'target.timeout 30: must be at least 1s (a bare number counts milliseconds: write 30s for seconds)',
  },
  {
    name: 'bad duration text',
    change: { startingDeadline: '5 minutes' },
    expected: 'startingDeadline "5 minutes": is not a duration: use a number with a unit, e.g. 30s, 5m, 2h',
  },
  { name: 'negative duration', change: { jitter: -5 }, expected: 'jitter -5: is negative' },
  {
    name: 'jitter over 15 minutes',
    change: { jitter: '20m' },
    expected: 'jitter "20m": must be at most 15m',
  },
  {
    name: 'jitter reaching the deadline',
    change: { jitter: '10m', startingDeadline: '5m' },
    expected: 'jitter "10m": must be shorter than startingDeadline (5m)',
  },
  {
    name: 'negative pauseAfterFailures',
    change: { pauseAfterFailures: -1 },
    expected: 'pauseAfterFailures -1: must be at least 0',
  },
  {
    name: 'bad pool name',
    change: { pool: 'GPU pool' },
    expected: 'pool "GPU pool": is not a valid pool name',
  },
  {
    name: 'enabled as yes',
    change: { enabled: 'yes' },
    expected: 'enabled "yes": must be true or false, not a string',
  },
  {
    name: 'description too long',
    change: { description: 'd'.repeat(1025) },
    expected: /^description "d+: must be at most 1024 characters \(is 1025\)$/,
  },
  {
    name: 'oversized payload',
    change: { payload: { blob: 'x'.repeat(MAX_PAYLOAD_BYTES) } },
    expected: /^payload \{"blob":"x+: is 65547 bytes as JSON; the limit is 65536 bytes \(64 KiB\)/,
  },
  {
    name: 'payload that is not JSON',
    change: { payload: { when: new Date(0) } },
    expected: 'payload.when "1970-01-01T00:00:00.000Z": must be JSON: a Date is not a plain object',
  },
  {
    name: 'payload with a function',
    change: { payload: { run: () => 1 } },
    expected: 'payload.run "[function]": must be JSON: a function is not a JSON value',
  },
  {
    name: 'payload nested too deep',
    change: { payload: nested(20) },
    expected: /^payload(\.next){16} \{"next":.*: nests deeper than 16 levels/,
  },
  {
    name: 'startAt without a zone',
    change: { startAt: '2026-12-01T00:00:00' },
    expected: 'startAt "2026-12-01T00:00:00": must be an ISO-8601 time with a zone offset or Z',
  },
  {
    name: 'startAt on a day that does not exist',
    change: { startAt: '2026-02-30T00:00:00Z' },
    expected: 'startAt "2026-02-30T00:00:00Z": must be an ISO-8601 time',
  },
  {
    name: 'endAt as a date only',
    change: { endAt: '2027-01-01' },
    expected: 'endAt "2027-01-01": must be an ISO-8601 time',
  },
  {
    name: 'endAt before startAt',
    change: { startAt: '2027-01-01T00:00:00Z', endAt: '2026-12-31T23:00:00+02:00' },
    expected: 'endAt "2026-12-31T23:00:00+02:00": must be after startAt (2027-01-01T00:00:00.000Z)',
  },
  {
    name: 'unknown key',
    change: { schedul: 'rate(5 minutes)' },
    expected: 'schedul "rate(5 minutes)": is not a known field (did you mean "schedule"?)',
  },
  {
    name: 'snake_case key',
    change: { catch_up: 'all' },
    expected: 'catch_up "all": is not a known field (did you mean "catchUp"?)',
  },
  {
    name: 'unknown key far from any field',
    change: { owner: 'ops' },
    expected: 'owner "ops": is not a known field; known fields: id, description, schedule',
  },
  {
    name: 'unknown key in retry',
    change: { retry: { attempts: 3 } },
    expected: 'retry.attempts 3: is not a known field (did you mean "maxAttempts"?)',
  },
];

function withChange(change: Record<string, unknown>): Record<string, unknown> {
  const job: Record<string, unknown> = { ...base, ...change };
  for (const [key, value] of Object.entries(change)) if (value === undefined) delete job[key];
  return job;
}

describe('malformed jobs are refused with the field, the value and the rule', () => {
  it('covers at least 30 kinds of mistake', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('$name', ({ change, expected }) => {
    const result = validateJob(withChange(change));

    expect(result.ok).toBe(false);
    const lines = result.ok ? [] : result.violations.map(formatViolation);
    expect(
      lines.some((line) => (typeof expected === 'string' ? line.includes(expected) : expected.test(line))),
      `${expected}\nnot in:\n${lines.join('\n')}`,
    ).toBe(true);
  });

  it('refuses a job that is not an object', () => {
    const result = validateJob('nightly-report');

    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.violations.map(formatViolation)).toStrictEqual([
      '(root) "nightly-report": must be an object, not a string',
    ]);
  });
});
