/**
 * Bounded input (issue 18 item 5, issue 17 defect 3): a jobs file, a job or a value nested far deeper than
 * anything valid is refused by a rule naming the field or line, before anything recurses over it: a
 * `JobValidationError`, never a `RangeError` or a dead process. The times are measured and annotated on
 * the test (`annotate`), not asserted.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatViolation, JobValidationError } from '../../../shared/errors.js';
import {
  MAX_PAYLOAD_DEPTH,
  parseJob,
  parseJobsDocument,
  parseJobsFile,
  validateJob,
} from '../../../shared/jobs/index.js';
import { MAX_FILE_BYTES, MAX_FILE_DEPTH, MAX_JOB_DEPTH } from '../../../shared/jobs/limits.js';
import { validateJobs } from '../../../shared/jobs/validate.js';
import { preview, tooDeep } from '../../../shared/json.js';
import { MAX_OUTPUT_DEPTH, truncateOutput } from '../../../shared/runs/completion.js';

const DEEP = 20_000;
const JOB = { id: 'deep', schedule: 'rate(5 minutes)', target: { type: 'handler', name: 'noop' } };

function nestedLists(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

/** The violations `fn` throws as a JobValidationError (anything else fails the test), formatted. */
function refusal(fn: () => unknown): string[] {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(JobValidationError);
  return (thrown as JobValidationError).violations.map(formatViolation);
}

function timed<T>(fn: () => T): { result: T; ms: number } {
  const start = performance.now();
  const result = fn();
  return { result, ms: Math.round(performance.now() - start) };
}

const yamlHead =
  'jobs:\n  - id: deep\n    schedule: rate(5 minutes)\n    target: { type: handler, name: noop }\n';

/** 40 KB jobs files, each with a payload nested 20,000 deep, written three ways in YAML and once in JSON. */
const deepFiles: [string, string, string][] = [
  ['YAML flow lists', 'jobs.yaml', `${yamlHead}    payload: ${'['.repeat(DEEP)}${']'.repeat(DEEP)}\n`],
  [
    'YAML flow maps',
    'jobs.yaml',
    `${yamlHead}    payload: ${'{a: '.repeat(DEEP / 2)}1${'}'.repeat(DEEP / 2)}\n`,
  ],
  [
    'YAML block lists written compact (- - - …)',
    'jobs.yaml',
    `${yamlHead}    payload:\n      ${'- '.repeat(DEEP)}1\n`,
  ],
  [
    'JSON',
    'jobs.json',
    JSON.stringify({ jobs: [{ ...JOB, payload: 'X' }] }).replace(
      '"X"',
      `${'['.repeat(DEEP)}${']'.repeat(DEEP)}`,
    ),
  ],
];

describe('a jobs file nested 20,000 deep', () => {
  it.for(deepFiles)(
    '%s: refused with the line and the rule, as a JobValidationError, twice in a row (time annotated)',
    async ([, fileName, text], { annotate }) => {
      expect(text.length).toBeGreaterThanOrEqual(40_000);
      const first = timed(() => refusal(() => parseJobsFile(text, fileName)));
      const second = timed(() => refusal(() => parseJobsFile(text, fileName)));

      expect(first.result).toHaveLength(1);
      expect(first.result[0]).toMatch(
        new RegExp(
          `^${fileName.replace('.', '\\.')}:\\d+:\\d+ ".*": nests deeper than ${MAX_FILE_DEPTH} levels on line \\d+: a jobs file may nest at most ${MAX_FILE_DEPTH} levels \\(a job ${MAX_JOB_DEPTH}, its payload ${MAX_PAYLOAD_DEPTH}; DynamoDB allows 32 in a whole item\\)$`,
        ),
      );
      expect(second.result).toStrictEqual(first.result);
      await annotate(`${text.length} bytes refused in ${first.ms} ms, then in ${second.ms} ms`);
    },
  );

  it('validateJobs reports it as a violation (valid: false), from a file on disk', async ({ annotate }) => {
    const path = join(await mkdtemp(join(tmpdir(), 'punctual-deep-')), 'jobs.yaml');
    await writeFile(path, deepFiles[0]?.[2] ?? '');

    const start = performance.now();
    const result = await validateJobs(path);
    const ms = Math.round(performance.now() - start);

    expect(result.valid).toBe(false);
    expect(result.errors.map((e) => e.message)).toStrictEqual([
      expect.stringMatching(/^nests deeper than 26 levels on line 5: /),
    ]);
    await annotate(`validateJobs refused it in ${ms} ms`);
  });

  it('a file within the bounds still parses: a payload of 16 levels in flow YAML', () => {
    const text = `${yamlHead}    payload: ${'['.repeat(MAX_PAYLOAD_DEPTH)}1${']'.repeat(MAX_PAYLOAD_DEPTH)}\n`;

    const file = parseJobsFile(text, 'jobs.yaml');

    expect(tooDeep(file.jobs[0]?.payload, MAX_PAYLOAD_DEPTH)).toBeUndefined();
    expect(tooDeep(file.jobs[0]?.payload, MAX_PAYLOAD_DEPTH - 1)).toHaveLength(MAX_PAYLOAD_DEPTH - 1);
  });

  it.for(['jobs.yaml', 'jobs.json'])(
    '%s: a file one level past the bound is refused by the file rule, one at the bound by the payload rule',
    (fileName) => {
      // root → jobs → job: the payload's first level is the file's fourth.
      const withPayload = (levels: number) =>
        JSON.stringify({ jobs: [{ ...JOB, payload: nestedLists(levels) }] });

      expect(refusal(() => parseJobsFile(withPayload(MAX_FILE_DEPTH - 3), fileName))).toStrictEqual([
        expect.stringMatching(/^jobs\[0\]\.payload(\[0\]){16} .*: nests deeper than 16 levels \(DynamoDB/),
      ]);
      expect(refusal(() => parseJobsFile(withPayload(MAX_FILE_DEPTH - 2), fileName))).toStrictEqual([
        expect.stringMatching(/^jobs\.(yaml|json):1:\d+ .*: nests deeper than 26 levels on line 1: /),
      ]);
    },
  );

  it('refuses YAML whose aliases would expand without bound, naming the rule (was a raw ReferenceError)', () => {
    const laughs = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 9; i++)
      laughs.push(
        `a${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const text = `jobs: []\npools:\n  default: {}\nx:\n${laughs.map((line) => `  ${line}`).join('\n')}\n`;

    expect(refusal(() => parseJobsFile(text, 'jobs.yaml'))).toStrictEqual([
      'jobs.yaml: expands its aliases (*name) more than 100 times: write the values out, or use fewer aliases',
    ]);
  });

  it('refuses YAML whose aliases nest deeper than the bound, though each line stays within it', () => {
    const lines = ['jobs:', `  - ${JSON.stringify(JOB).slice(0, -1)}, "payload": &p0 [1]}`];
    for (let i = 1; i < 4; i++) {
      lines.push(
        `  - {"id": "d${i}", "schedule": "rate(5 minutes)", "target": {"type": "handler", "name": "noop"},`,
      );
      lines.push(`     "payload": &p${i} ${'['.repeat(20)}*p${i - 1}${']'.repeat(20)}}`);
    }

    const refused = refusal(() => parseJobsFile(`${lines.join('\n')}\n`, 'jobs.yaml'));

    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(
      /^jobs\[2\]\.payload(\[0\]){23}: nests deeper than 26 levels: a jobs file may nest/,
    );
  });

  it(`refuses a file over ${MAX_FILE_BYTES} bytes before parsing it`, () => {
    const text = `jobs: []\n# ${'x'.repeat(MAX_FILE_BYTES)}\n`;

    expect(refusal(() => parseJobsFile(text, 'big.yaml'))).toStrictEqual([
      `big.yaml: is ${text.length} bytes; a jobs file may have at most ${MAX_FILE_BYTES} bytes (8 MiB): split it`,
    ]);
  });
});

describe('a job or a document passed as a value, nested 20,000 deep', () => {
  it('parseJob (the client’s putJob, jobs put) throws a JobValidationError naming the payload path and the rule', ({
    annotate,
  }) => {
    const { result, ms } = timed(() => refusal(() => parseJob({ ...JOB, payload: nestedLists(DEEP) })));

    expect(result).toStrictEqual([
      `payload${'[0]'.repeat(MAX_JOB_DEPTH - 1)}: nests deeper than 16 levels (DynamoDB allows 32 in a whole item)`,
    ]);
    return annotate(`refused in ${ms} ms`);
  });

  it('names any other field nested too deep, with the job rule', () => {
    const result = validateJob({ ...JOB, description: nestedLists(DEEP) });

    expect(result.ok ? [] : result.violations.map(formatViolation)).toStrictEqual([
      `description${'[0]'.repeat(MAX_JOB_DEPTH - 1)}: nests deeper than 24 levels: a job may nest at most 24 (its payload 16; DynamoDB allows 32 in a whole item)`,
    ]);
  });

  it('refuses a cyclic payload by the depth rule instead of following it forever', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;

    expect(refusal(() => parseJob({ ...JOB, payload: cycle }))).toStrictEqual([
      `payload${'.self'.repeat(MAX_JOB_DEPTH - 1)}: nests deeper than 16 levels (DynamoDB allows 32 in a whole item)`,
    ]);
  });

  it('parseJobsDocument and validateJobs refuse a document nested 20,000 deep', async () => {
    const document = { jobs: [{ ...JOB, payload: nestedLists(DEEP) }] };

    expect(refusal(() => parseJobsDocument(document))).toStrictEqual([
      `jobs[0].payload${'[0]'.repeat(MAX_FILE_DEPTH - 3)}: nests deeper than 26 levels: a jobs file may nest at most 26 levels (a job 24, its payload 16; DynamoDB allows 32 in a whole item)`,
    ]);
    expect((await validateJobs(document)).valid).toBe(false);
  });
});

describe('tooDeep and preview', () => {
  it('tooDeep names the path to the first level past the bound, in document order', () => {
    expect(tooDeep('text', 0)).toBeUndefined();
    expect(tooDeep({ a: [[1]] }, 3)).toBeUndefined();
    expect(tooDeep({ a: [[1]] }, 2)).toStrictEqual(['a', 0]);
    expect(tooDeep({ a: [1], b: { c: { d: {} } } }, 3)).toStrictEqual(['b', 'c', 'd']);
    expect(tooDeep(nestedLists(DEEP), 32)).toHaveLength(32);
  });

  it('preview writes a short JSON value, and describes one too deep or not JSON, without throwing', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;

    expect(preview({ a: 1 })).toBe('{"a":1}');
    expect(preview('x'.repeat(500))).toHaveLength(120);
    expect(preview(nestedLists(DEEP))).toBe('(nested deeper than 32 levels)');
    expect(preview(cycle)).toBe('(nested deeper than 32 levels)');
    expect(preview(10n)).toBe('(not JSON)');
  });
});

describe('an output AWS reported (a Step Functions execution’s) nested past the bound', () => {
  it('is kept marked and cut at 16 levels, so DynamoDB never sees more, instead of refused', () => {
    const kept = truncateOutput(nestedLists(DEEP)) as { truncated: boolean; bytes: number; head: string };

    expect(kept.truncated).toBe(true);
    expect(kept.head).toBe(
      `${'['.repeat(MAX_OUTPUT_DEPTH)}"(nested deeper than 16 levels)"${']'.repeat(MAX_OUTPUT_DEPTH)}`,
    );
    expect(kept.bytes).toBe(kept.head.length);
    expect(truncateOutput(nestedLists(MAX_OUTPUT_DEPTH))).toStrictEqual(nestedLists(MAX_OUTPUT_DEPTH));
  });
});
