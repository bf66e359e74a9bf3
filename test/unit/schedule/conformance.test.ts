/**
 * The cron ecosystem's own test suites, run through the functions `punctual schedule next` uses
 * (parseSchedule, then slotsBetween). The vectors, their sources and the reasons for the deliberate
 * differences are in test/fixtures/cron-vectors/vectors.json.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSchedule, slotsBetween } from '../../../shared/schedule/index.js';

interface Vector {
  source: string;
  file: string;
  test: string;
  expression: string;
  original?: string;
  timezone?: string;
  /** `next`: the slots after `after` (at or after it with `inclusive`); `end`: none follows them. */
  after?: string;
  inclusive?: boolean;
  next?: string[];
  end?: boolean;
  /** `matches`: whether `at` is a slot. */
  at?: string;
  matches?: boolean;
  valid?: boolean;
  invalid?: boolean;
}

type Answer = { refused: string } | { accepted: true } | { matches: boolean } | { next: string[] };

interface Difference extends Vector {
  reason: string;
  punctual: Answer;
}

interface Fixture {
  about: string[];
  sources: {
    project: string;
    url: string;
    license: string;
    commit: string;
    files: string[];
    vectors: number;
  }[];
  counts: { total: number; agree: number; differ: number };
  agree: Vector[];
  differ: Difference[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/cron-vectors/vectors.json', import.meta.url), 'utf8'),
) as Fixture;

const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

/** punctual's answer to the question the vector asks. */
function answer(v: Vector): Answer {
  let schedule: ReturnType<typeof parseSchedule>;
  try {
    schedule = parseSchedule(v.expression, { timezone: v.timezone ?? 'UTC' });
  } catch (e) {
    return { refused: (e as Error).message };
  }
  if (v.valid || v.invalid) return { accepted: true };
  if (v.at !== undefined) {
    // A slot at `at` is the first one after the second before it.
    const at = Date.parse(v.at);
    return { matches: slotsBetween(schedule, at - 1000, Number.POSITIVE_INFINITY, 1)[0] === at };
  }
  const next = v.next ?? [];
  const after = Date.parse(v.after ?? '') - (v.inclusive ? 1 : 0);
  // One more than listed when the source says the list is complete, to see that none follows.
  const count = next.length + (v.end || next.length === 0 ? 1 : 0);
  return { next: slotsBetween(schedule, after, Number.POSITIVE_INFINITY, count).map(iso) };
}

function label(v: Vector): string {
  const question =
    v.at !== undefined
      ? `at ${v.at}`
      : v.after !== undefined
        ? `after ${v.after}`
        : v.valid
          ? 'valid'
          : 'invalid';
  const zone = v.timezone && v.timezone !== 'UTC' ? ` ${v.timezone}` : '';
  return `${v.source} ${v.file} ${v.test}: ${v.expression}${zone} ${question}`;
}

describe('conformance: where punctual agrees with the source', () => {
  it.each(fixture.agree.map((v) => [label(v), v] as const))('%s', (_, v) => {
    // act
    const got = answer(v);

    // assert
    if (v.invalid) {
      expect(got).toEqual({ refused: expect.stringMatching(/^schedule ".*": \S/) });
    } else if (v.valid) {
      expect(got).toEqual({ accepted: true });
    } else if (v.at !== undefined) {
      expect(got).toEqual({ matches: v.matches });
    } else {
      expect(got).toEqual({ next: v.next });
    }
  });
});

describe('conformance: where punctual differs on purpose', () => {
  it.each(fixture.differ.map((v) => [label(v), v] as const))('%s', (_, v) => {
    // act
    const got = answer(v);

    // assert: punctual's documented answer, and it is not the source's
    expect(got).toEqual(v.punctual);
    expect(v.reason.length).toBeGreaterThan(20);
  });
});

describe('conformance: the vector file', () => {
  it('credits every source a vector names, with its license and the commit read', () => {
    // prepare
    const named = new Set([...fixture.agree, ...fixture.differ].map((v) => v.source));

    // assert
    expect(new Set(fixture.sources.map((s) => s.project))).toEqual(named);
    for (const s of fixture.sources) {
      expect(s.license).toMatch(/^(MIT|Apache-2\.0)$/);
      expect(s.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(s.files.length).toBeGreaterThan(0);
    }
  });

  it('holds several hundred vectors from eight projects, and its counts are right', () => {
    // assert
    expect(fixture.sources).toHaveLength(8);
    expect(fixture.counts.agree).toBe(fixture.agree.length);
    expect(fixture.counts.differ).toBe(fixture.differ.length);
    expect(fixture.counts.total).toBe(fixture.agree.length + fixture.differ.length);
    expect(fixture.counts.total).toBeGreaterThanOrEqual(500);
  });
});
