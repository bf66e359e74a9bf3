import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JobValidationError } from '../../../shared/errors.js';
import {
  formatDuration,
  isJobDefinition,
  type JobDefinition,
  MAX_DEFINITION_BYTES,
  MAX_PAYLOAD_BYTES,
  parseJob,
  serializeJob,
  validateJob,
} from '../../../shared/jobs/index.js';

const minimal = {
  id: 'nightly-report',
  schedule: 'cron(0 2 * * ? *)',
  target: { type: 'http', url: 'https://example.com/hook' },
};

function violationsOf(input: unknown) {
  const result = validateJob(input);
  if (result.ok) throw new Error('expected the job to be refused');
  return result.violations;
}

describe('defaults', () => {
  it('fills every optional field of a minimal job', () => {
    const job = parseJob(minimal);

    expect(job).toStrictEqual({
      id: 'nightly-report',
      schedule: 'cron(0 2 * * ? *)',
      timezone: 'UTC',
      target: { type: 'http', url: 'https://example.com/hook', method: 'POST', timeout: 30_000 },
      pool: 'default',
      catchUp: 'latest',
      maxCatchUp: 10,
      startingDeadline: 600_000,
      overlap: 'skip',
      retry: { maxAttempts: 3, backoff: 30_000 },
      jitter: 0,
      pauseAfterFailures: 0,
      enabled: true,
    } satisfies JobDefinition);
  });

  it('fills the rest of a partly written retry policy', () => {
    const job = parseJob({ ...minimal, retry: { maxAttempts: 5 } });

    expect(job.retry).toStrictEqual({ maxAttempts: 5, backoff: 30_000 });
  });

  it('keeps what the job says over the defaults', () => {
    const job = parseJob({
      ...minimal,
      description: 'the nightly report',
      timezone: 'Europe/Berlin',
      payload: { any: 'json' },
      pool: 'reports',
      catchUp: 'all',
      maxCatchUp: 3,
      startingDeadline: '1h',
      overlap: 'queue',
      retry: { maxAttempts: 1, backoff: '2m' },
      jitter: '30s',
      pauseAfterFailures: 5,
      startAt: '2026-12-01T01:00:00+01:00',
      endAt: '2027-12-01T00:00:00Z',
      enabled: false,
    });

    expect(job).toMatchObject({
      description: 'the nightly report',
      timezone: 'Europe/Berlin',
      payload: { any: 'json' },
      pool: 'reports',
      catchUp: 'all',
      maxCatchUp: 3,
      startingDeadline: 3_600_000,
      overlap: 'queue',
      retry: { maxAttempts: 1, backoff: 120_000 },
      jitter: 30_000,
      pauseAfterFailures: 5,
      enabled: false,
    });
  });

  it('normalizes startAt and endAt to UTC ISO', () => {
    const job = parseJob({
      ...minimal,
      startAt: '2026-12-01T01:30:00+01:30',
      endAt: '2027-06-30T23:00:00.5-02:00',
    });

    expect(job.startAt).toBe('2026-12-01T00:00:00.000Z');
    expect(job.endAt).toBe('2027-07-01T01:00:00.500Z');
  });

  it('takes durations as text or as milliseconds', () => {
    const job = parseJob({ ...minimal, startingDeadline: 5_400_000, jitter: '1m30s' });

    expect(job.startingDeadline).toBe(5_400_000);
    expect(job.jitter).toBe(90_000);
  });
});

describe('targets', () => {
  it('http: url, method, headers, HMAC secret and timeout', () => {
    const job = parseJob({
      ...minimal,
      target: {
        type: 'http',
        url: 'http://localhost:8080/run',
        method: 'PUT',
        headers: { 'X-Api-Key': { secret: 'api-key' }, Accept: 'application/json' },
        hmacSecret: 'hook',
        timeout: '5m',
      },
    });

    expect(job.target).toStrictEqual({
      type: 'http',
      url: 'http://localhost:8080/run',
      method: 'PUT',
      headers: { 'X-Api-Key': { secret: 'api-key' }, Accept: 'application/json' },
      hmacSecret: 'hook',
      timeout: 300_000,
    });
  });

  it('http: refuses credential-like plain headers, x-punctual-* and idempotency-key headers and AWS_* secret names, naming each', () => {
    // act
    const result = validateJob({
      ...minimal,
      target: {
        type: 'http',
        url: 'https://example.com/run',
        headers: {
          Authorization: 'Bearer t',
          'x-auth-token': 't',
          'x-punctual-signature': 's',
          'Idempotency-Key': { secret: 'k' },
        },
        hmacSecret: 'AWS_SECRET_ACCESS_KEY',
      },
    });

    // assert
    expect(result.ok).toBe(false);
    const messages = result.ok ? [] : result.violations.map((v) => `${v.path}: ${v.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^target\.headers\.Authorization: looks like a credential.*Authorization: \{ secret: my-secret, prefix: 'Bearer ' \}/,
        ),
        expect.stringMatching(/^target\.headers\.x-auth-token: looks like a credential/),
        expect.stringMatching(/^target\.headers\.x-punctual-signature: is reserved/),
        expect.stringMatching(
          /^target\.headers\.Idempotency-Key: is reserved: punctual sets it to the run id/,
        ),
        expect.stringMatching(/^target\.hmacSecret: names an AWS_\* variable/),
      ]),
    );
  });

  it.each([
    'cleanup',
    'cleanup:live',
    '123456789012:function:cleanup',
    'arn:aws:lambda:eu-west-1:123456789012:function:cleanup',
    'arn:aws:lambda:eu-west-1:123456789012:function:cleanup:$LATEST',
  ])('lambda: takes the function name or ARN %j', (functionName) => {
    const job = parseJob({ ...minimal, target: { type: 'lambda', functionName } });

    expect(job.target).toStrictEqual({ type: 'lambda', functionName, timeout: 30_000 });
  });

  it('sqs: a queue URL', () => {
    const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';

    const job = parseJob({ ...minimal, target: { type: 'sqs', queueUrl, timeout: '10s' } });

    expect(job.target).toStrictEqual({ type: 'sqs', queueUrl, timeout: 10_000 });
  });

  it('eventbridge: default bus, source and detail type', () => {
    const job = parseJob({ ...minimal, target: { type: 'eventbridge' } });

    expect(job.target).toStrictEqual({
      type: 'eventbridge',
      eventBusName: 'default',
      source: 'punctual.job',
      detailType: 'Scheduled Job',
      timeout: 30_000,
    });
  });

  it('eventbridge: a named bus, source and detail type', () => {
    const target = {
      type: 'eventbridge',
      eventBusName: 'arn:aws:events:eu-west-1:123456789012:event-bus/ops',
      source: 'acme.billing',
      detailType: 'Invoice Run',
      timeout: '1m',
    };

    const job = parseJob({ ...minimal, target });

    expect(job.target).toStrictEqual({ ...target, timeout: 60_000 });
  });

  it('handler: a bundled function by name', () => {
    const job = parseJob({ ...minimal, target: { type: 'handler', name: 'reports.nightly' } });

    expect(job.target).toStrictEqual({ type: 'handler', name: 'reports.nightly', timeout: 30_000 });
  });
});

describe('schedules', () => {
  it.each([
    'rate(5 minutes)',
    'rate(1 second)',
    'cron(0 2 * * ? *)',
    '*/5 * * * *',
    '0 */5 * * * *',
    'at(2027-01-01T00:00:00)',
  ])('accepts %j', (schedule) => {
    expect(parseJob({ ...minimal, schedule }).schedule).toBe(schedule);
  });

  it('checks the schedule in the window the job gives', () => {
    const job = parseJob({ ...minimal, schedule: 'rate(1 hour)', startAt: '2026-12-01T00:00:00Z' });

    expect(job.startAt).toBe('2026-12-01T00:00:00.000Z');
  });
});

describe('payload', () => {
  it('is kept as the JSON copy a target receives', () => {
    const payload = { n: -0, list: [1, 'two', null], nested: { ok: true } };

    const job = parseJob({ ...minimal, payload });

    expect(job.payload).toStrictEqual({ n: 0, list: [1, 'two', null], nested: { ok: true } });
    expect(job.payload).not.toBe(payload);
  });

  it('may be null', () => {
    expect(parseJob({ ...minimal, payload: null }).payload).toBeNull();
  });
});

describe('payload size', () => {
  it(`accepts a payload of exactly ${MAX_PAYLOAD_BYTES} bytes of JSON`, () => {
    const payload = 'x'.repeat(MAX_PAYLOAD_BYTES - 2); // plus two quotes

    expect(parseJob({ ...minimal, payload }).payload).toBe(payload);
  });

  it('refuses one byte more, naming the size and the limit', () => {
    const violations = violationsOf({ ...minimal, payload: 'x'.repeat(MAX_PAYLOAD_BYTES - 1) });

    expect(violations).toHaveLength(1);
    expect(violations[0]?.path).toBe('payload');
    expect(violations[0]?.message).toContain('is 65537 bytes as JSON; the limit is 65536 bytes (64 KiB)');
  });

  it('counts UTF-8 bytes, not characters', () => {
    // "é" is two bytes in UTF-8: 32,768 characters make 65,538 bytes with the quotes.
    const violations = violationsOf({ ...minimal, payload: 'é'.repeat(32_768) });

    expect(violations[0]?.message).toContain('is 65538 bytes');
  });

  it('caps the whole definition, payload included', () => {
    const headers = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`X-H${i}`, 'v'.repeat(1000)]));

    const violations = violationsOf({
      ...minimal,
      target: { type: 'http', url: 'https://example.com/hook', headers },
      payload: 'x'.repeat(MAX_PAYLOAD_BYTES - 2),
    });

    expect(violations).toHaveLength(1);
    expect(violations[0]?.message).toContain(
      `a job definition must be at most ${MAX_DEFINITION_BYTES} bytes`,
    );
  });
});

describe('reporting', () => {
  it('reports every violation of one job together', () => {
    const input = {
      id: 'Nightly',
      schedule: 'rate(0 minutes)',
      timezone: 'Mars/Olympus',
      target: { type: 'http', url: 'ftp://example.com' },
      catchUp: 'newest',
      retry: { maxAttempts: 0 },
      schedul: 'oops',
    };

    const error = (() => {
      try {
        parseJob(input);
      } catch (e) {
        return e;
      }
    })();

    expect(error).toBeInstanceOf(JobValidationError);
    const { violations, message } = error as JobValidationError;
    expect(violations.map((v) => v.path)).toStrictEqual([
      'id',
      'schedule',
      'timezone',
      'target.url',
      'catchUp',
      'retry.maxAttempts',
      'schedul',
    ]);
    expect(message).toContain('invalid job "Nightly":');
    expect(message).toContain('  - schedule "rate(0 minutes)": the period must be at least 1 second');
    expect(message).toContain('  - schedul "oops": is not a known field (did you mean "schedule"?)');
  });

  it('still checks the schedule when the time zone is unknown', () => {
    const violations = violationsOf({ ...minimal, schedule: 'cron(0 2 * * *)', timezone: 'Mars/Olympus' });

    expect(violations.map((v) => v.path)).toStrictEqual(['schedule', 'timezone']);
  });

  it('validateJob returns the job when it is valid', () => {
    const result = validateJob(minimal);

    expect(result.ok).toBe(true);
    expect(result.ok && result.job.id).toBe('nightly-report');
  });
});

// ---------------------------------------------------------------------------------------------------
// Round trip: a normalized job parses to itself, from its serialized form and through JSON.

const SECOND = 1000;

const durationInput = (minSeconds: number, maxSeconds: number) =>
  fc
    .integer({ min: minSeconds, max: maxSeconds })
    .chain((s) => fc.constantFrom<string | number>(s * SECOND, formatDuration(s * SECOND), `${s}s`));

const isoWithOffset = (ms: number, offsetMinutes: number): string => {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
};

const targetInput = fc.oneof(
  fc.record(
    {
      type: fc.constant('http'),
      url: fc.constantFrom('https://example.com/hook', 'http://localhost:3000/x?y=1'),
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
      // Plain headers a job may set: not credential-like names nor x-punctual-* (refused, job.test.ts above).
      headers: fc.dictionary(
        fc
          .stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}$/)
          .filter(
            (name) =>
              !/^(authorization|proxy-authorization|cookie|x-api-key)$|-(token|key)$|^x-punctual-/i.test(
                name,
              ),
          ),
        fc.string({ maxLength: 10 }),
      ),
      hmacSecretEnv: fc.constantFrom('HOOK_SECRET', 'prod/hooks/key'),
      timeout: durationInput(1, 900),
    },
    { requiredKeys: ['type', 'url'] },
  ),
  fc.record(
    {
      type: fc.constant('lambda'),
      functionName: fc.constantFrom('cleanup', 'arn:aws:lambda:eu-west-1:123456789012:function:cleanup'),
      timeout: durationInput(1, 900),
    },
    { requiredKeys: ['type', 'functionName'] },
  ),
  fc.record({
    type: fc.constant('sqs'),
    queueUrl: fc.constant('https://sqs.eu-west-1.amazonaws.com/123456789012/q'),
  }),
  fc.record(
    {
      type: fc.constant('eventbridge'),
      eventBusName: fc.constantFrom('default', 'ops'),
      source: fc.constantFrom('acme.jobs', 'punctual.job'),
      detailType: fc.constantFrom('Tick', 'Scheduled Job'),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record({ type: fc.constant('handler'), name: fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/) }),
);

const jobInput = fc
  .record(
    {
      id: fc.stringMatching(/^[a-z0-9][a-z0-9\-_.]{0,30}$/),
      description: fc.string({ maxLength: 40 }),
      schedule: fc.constantFrom('rate(5 minutes)', 'rate(1 day)', 'cron(0 2 * * ? *)', '*/5 * * * *'),
      timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'),
      target: targetInput,
      payload: fc.jsonValue({ maxDepth: 3 }),
      pool: fc.constantFrom('default', 'slow', 'io_bound'),
      catchUp: fc.constantFrom('skip', 'latest', 'all'),
      maxCatchUp: fc.integer({ min: 1, max: 1000 }),
      overlap: fc.constantFrom('allow', 'skip', 'queue'),
      retry: fc.record(
        { maxAttempts: fc.integer({ min: 1, max: 20 }), backoff: durationInput(1, 43_200) },
        { requiredKeys: [] },
      ),
      pauseAfterFailures: fc.integer({ min: 0, max: 1000 }),
      enabled: fc.boolean(),
    },
    { requiredKeys: ['id', 'schedule', 'target'] },
  )
  .chain((job) =>
    fc
      .record({
        deadlineSeconds: fc.integer({ min: 1, max: 7 * 86_400 }),
        window: fc.option(
          fc.record({
            // Whole seconds: isoWithOffset writes no fraction.
            start: fc.integer({ min: Date.UTC(2026, 0, 1) / SECOND, max: Date.UTC(2030, 0, 1) / SECOND }),
            length: fc.integer({ min: 1, max: 10 ** 8 }),
            offset: fc.integer({ min: -12 * 60, max: 14 * 60 }),
          }),
          { nil: undefined },
        ),
      })
      .chain(({ deadlineSeconds, window }) =>
        durationInput(0, Math.min(deadlineSeconds - 1, 900)).map((jitter) => ({
          ...job,
          startingDeadline: formatDuration(deadlineSeconds * SECOND),
          jitter,
          ...(window && {
            startAt: isoWithOffset(window.start * SECOND, window.offset),
            endAt: isoWithOffset((window.start + window.length) * SECOND, window.offset),
          }),
        })),
      ),
  );

describe('normalized jobs re-parse to themselves', () => {
  it('parseJob(parseJob(x)) deep-equals parseJob(x)', () => {
    fc.assert(
      fc.property(jobInput, (input) => {
        const once = parseJob(input);
        expect(parseJob(once)).toStrictEqual(once);
        expect(isJobDefinition(once)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('survives a trip through JSON (what the store keeps)', () => {
    fc.assert(
      fc.property(jobInput, (input) => {
        const once = parseJob(input);
        expect(parseJob(JSON.parse(JSON.stringify(once)))).toStrictEqual(once);
      }),
      { numRuns: 100 },
    );
  });

  it('serializeJob writes durations as text and parses back to the same job', () => {
    fc.assert(
      fc.property(jobInput, (input) => {
        const job = parseJob(input);
        const text = serializeJob(job);
        expect(typeof text.startingDeadline).toBe('string');
        expect(typeof text.target.timeout).toBe('string');
        expect(parseJob(text)).toStrictEqual(job);
      }),
      { numRuns: 100 },
    );
  });
});

describe('serializeJob', () => {
  it('writes a job for display, durations as text', () => {
    const job = parseJob({ ...minimal, startingDeadline: '1h30m', retry: { backoff: 90_000 } });

    expect(serializeJob(job)).toStrictEqual({
      id: 'nightly-report',
      schedule: 'cron(0 2 * * ? *)',
      timezone: 'UTC',
      target: { type: 'http', url: 'https://example.com/hook', method: 'POST', timeout: '30s' },
      pool: 'default',
      catchUp: 'latest',
      maxCatchUp: 10,
      startingDeadline: '1h30m',
      overlap: 'skip',
      retry: { maxAttempts: 3, backoff: '1m30s' },
      jitter: '0s',
      pauseAfterFailures: 0,
      enabled: true,
    });
  });
});

describe('isJobDefinition', () => {
  it('accepts a normalized job only', () => {
    const job = parseJob(minimal);

    expect(isJobDefinition(job)).toBe(true);
    expect(isJobDefinition(minimal)).toBe(false); // valid, but not in normal form
    expect(isJobDefinition({ ...job, startingDeadline: '10m' })).toBe(false);
    expect(isJobDefinition({ ...job, id: 'Bad' })).toBe(false);
    expect(isJobDefinition(null)).toBe(false);
  });
});
