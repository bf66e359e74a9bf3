import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CatchUpPolicy,
  nextSlot,
  type Plan,
  parseSchedule,
  planSlots,
  previousSlot,
  type Schedule,
  slotsBetween,
} from '../../../shared/schedule/index.js';

const HOUR = 3_600_000;
const FROM = Date.parse('2020-01-01T00:00:00Z');
const UNTIL = Date.parse('2030-01-01T00:00:00Z');

const ZONES = [
  'UTC',
  'America/New_York',
  'Europe/Berlin',
  'Australia/Sydney',
  'Asia/Kolkata',
  // Lord Howe Island moves its clock by 30 minutes.
  'Australia/Lord_Howe',
];
const CRONS = [
  'cron(0 10 * * ? *)',
  'cron(30 2 * * ? *)',
  'cron(0/15 * * * ? *)',
  'cron(0/5 8-17 ? * MON-FRI *)',
  'cron(0 9 ? * 2#1 *)',
  'cron(0 0 L * ? *)',
  'cron(0/20 2 * * ? *)',
  '*/30 * * * *',
  '0 * * * *',
  '15 1-3 * * *',
  '45 2,14 * * *',
];
// Some DST changes of the zones above, to aim instants at.
const TRANSITIONS = [
  '2026-03-08T07:00:00Z',
  '2026-11-01T06:00:00Z',
  '2026-03-29T01:00:00Z',
  '2026-10-25T01:00:00Z',
  '2026-04-04T16:00:00Z',
  '2026-10-03T16:00:00Z',
  '2026-04-04T15:00:00Z',
  '2026-10-03T15:30:00Z',
].map(Date.parse);

// Half the instants fall within 3 hours of a DST change.
const instant = fc.oneof(
  fc.integer({ min: FROM, max: UNTIL }),
  fc
    .tuple(fc.constantFrom(...TRANSITIONS), fc.integer({ min: -3 * HOUR, max: 3 * HOUR }))
    .map(([t, d]) => t + d),
);

const cronSchedule: fc.Arbitrary<Schedule> = fc
  .tuple(fc.constantFrom(...CRONS), fc.constantFrom(...ZONES))
  .map(([expression, timezone]) => parseSchedule(expression, { timezone }));

const rateSchedule: fc.Arbitrary<Schedule> = fc
  .tuple(
    fc.integer({ min: FROM, max: UNTIL }),
    fc.oneof(
      fc.constantFrom('1 minute', '5 minutes', '1 hour', '1 day'),
      fc.integer({ min: 1, max: 7200 }).map((n) => `${n} seconds`),
    ),
  )
  .map(([anchor, period]) => parseSchedule(`rate(${period})`, { anchor }));

const schedule = fc.oneof(cronSchedule, rateSchedule);

describe('properties: rate', () => {
  it('slots never drift from the anchor, and nextSlot is the first one after', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: FROM, max: UNTIL }),
        fc.integer({ min: 1, max: 3 * 86_400 }),
        fc.integer({ min: FROM - 86_400_000, max: UNTIL }),
        (anchor, seconds, after) => {
          // prepare
          const s = parseSchedule(`rate(${seconds} seconds)`, { anchor });
          const period = seconds * 1000;

          // act
          const slot = nextSlot(s, after)!;

          // assert
          expect((slot - anchor) % period).toBe(0);
          expect(slot).toBeGreaterThan(after);
          expect(slot === anchor || slot - period <= after).toBe(true);
          expect(previousSlot(s, slot)).toBe(slot);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('properties: slots', () => {
  it('slotsBetween over two adjacent windows equals it over their union, strictly increasing', () => {
    fc.assert(
      fc.property(
        schedule,
        instant,
        fc.integer({ min: 0, max: 6 * HOUR }),
        fc.integer({ min: 0, max: 6 * HOUR }),
        (s, a, d1, d2) => {
          // act
          const left = slotsBetween(s, a, a + d1);
          const right = slotsBetween(s, a + d1, a + d1 + d2);
          const union = slotsBetween(s, a, a + d1 + d2);

          // assert
          expect([...left, ...right]).toEqual(union);
          for (let i = 1; i < union.length; i++) expect(union[i]!).toBeGreaterThan(union[i - 1]!);
          for (const slot of union) expect(slot > a && slot <= a + d1 + d2).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('nextSlot(s, t) is slotsBetween(s, t, ∞, 1)[0]', () => {
    fc.assert(
      fc.property(schedule, instant, (s, t) => {
        // act
        const next = nextSlot(s, t);
        const listed = slotsBetween(s, t, Number.POSITIVE_INFINITY, 1)[0];

        // assert
        expect(next).toBe(listed);
      }),
      { numRuns: 100 },
    );
  });

  it('cron: previousSlot and nextSlot bracket any instant in any zone, with no slot between them', () => {
    fc.assert(
      fc.property(cronSchedule, instant, (s, t) => {
        // act
        const previous = previousSlot(s, t);
        const next = nextSlot(s, t);

        // assert
        expect(next).toBeDefined();
        expect(next!).toBeGreaterThan(t);
        expect(previousSlot(s, next!)).toBe(next);
        if (previous !== undefined) {
          expect(previous).toBeLessThanOrEqual(t);
          expect(nextSlot(s, previous)).toBe(next);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('cron: no wall-clock time runs twice, also across DST changes', () => {
    fc.assert(
      fc.property(cronSchedule, instant, (s, t) => {
        // prepare
        const wallClock = new Intl.DateTimeFormat('en-CA', {
          timeZone: s.timezone,
          dateStyle: 'short',
          timeStyle: 'medium',
          hourCycle: 'h23',
        });

        // act
        const slots = slotsBetween(s, t - 6 * HOUR, t + 6 * HOUR);

        // assert
        const times = slots.map((slot) => wallClock.format(slot));
        expect(new Set(times).size).toBe(times.length);
      }),
      { numRuns: 60 },
    );
  });
});

describe('properties: catch-up plan', () => {
  const policy = fc.constantFrom<CatchUpPolicy>('skip', 'latest', 'all');
  const planSchedule = fc.oneof(
    cronSchedule,
    fc
      .tuple(
        fc.integer({ min: FROM, max: UNTIL }),
        fc.constantFrom('1 minute', '5 minutes', '7 minutes', '1 hour'),
      )
      .map(([anchor, period]) => parseSchedule(`rate(${period})`, { anchor })),
  );

  it('accounts for every slot in (after, now + lookahead] exactly once, however small the limit', () => {
    fc.assert(
      fc.property(
        planSchedule,
        policy,
        instant,
        fc.integer({ min: 0, max: 4 * HOUR }),
        fc.integer({ min: 0, max: HOUR }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 2 * HOUR }),
        (s, catchUp, after, backlog, lookaheadMs, limit, maxCatchUp, startingDeadlineMs) => {
          // prepare
          const now = after + backlog;
          const expected = slotsBetween(s, after, now + lookaheadMs);
          const base = { schedule: s, catchUp, maxCatchUp, startingDeadlineMs, now, lookaheadMs, limit };

          // act
          const plans: Plan[] = [];
          let cursor = after;
          do {
            plans.push(planSlots({ ...base, after: cursor }));
            cursor = plans.at(-1)!.cursor;
          } while (plans.at(-1)!.more && plans.length <= expected.length + 1);

          // assert
          const dispatched = plans.flatMap((p) => p.dispatch);
          const recorded = plans.flatMap((p) => p.missed.map((m) => m.slot));
          expect([...dispatched, ...recorded].sort((a, b) => a - b)).toEqual(expected);
          for (const p of plans) expect(p.dispatch.length + p.missed.length).toBeLessThanOrEqual(limit);
          expect(plans.at(-1)!.next).toBe(nextSlot(s, cursor));

          const pastDue = expected.filter((slot) => slot <= now);
          const ranPastDue = dispatched.filter((slot) => slot <= now);
          expect(dispatched.filter((slot) => slot > now)).toEqual(expected.filter((slot) => slot > now));
          for (const slot of ranPastDue) expect(now - slot).toBeLessThanOrEqual(startingDeadlineMs);
          if (pastDue.length > 1 && catchUp === 'skip' && limit >= 2) expect(ranPastDue).toEqual([]);
          if (pastDue.length > 1 && catchUp === 'latest') {
            expect(ranPastDue.every((slot) => slot === pastDue.at(-1))).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
