import { describe, expect, it } from 'vitest';
import { type PlanInput, parseSchedule, planSlots } from '../../../shared/schedule/index.js';

const MIN = 60_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
/** Every minute from T0: slot k is T0 + k min. */
const everyMinute = parseSchedule('rate(1 minute)', { anchor: T0 });
const slot = (k: number) => T0 + k * MIN;

function input(overrides: Partial<PlanInput>): PlanInput {
  return {
    schedule: everyMinute,
    catchUp: 'latest',
    maxCatchUp: 10,
    startingDeadlineMs: 60 * MIN,
    after: T0 - 1,
    now: T0,
    lookaheadMs: 0,
    limit: 100,
    ...overrides,
  };
}

describe('planSlots: nothing past due', () => {
  it('returns an empty plan with the cursor unchanged and the next slot', () => {
    // prepare: slot 0 was handled; slot 1 is 30 s away, beyond the lookahead
    const plan = planSlots(input({ after: slot(0), now: slot(0) + 30_000, lookaheadMs: 10_000 }));

    // assert
    expect(plan).toEqual({ dispatch: [], missed: [], cursor: slot(0), more: false, next: slot(1) });
  });

  it('dispatches the slots in the lookahead ahead of time', () => {
    // act
    const plan = planSlots(input({ after: slot(0), now: slot(0) + 30_000, lookaheadMs: 2 * MIN }));

    // assert
    expect(plan).toEqual({
      dispatch: [slot(1), slot(2)],
      missed: [],
      cursor: slot(2),
      more: false,
      next: slot(3),
    });
  });
});

describe('planSlots: one slot past due', () => {
  it.each(['skip', 'latest', 'all'] as const)('runs it under %s', (catchUp) => {
    // act
    const plan = planSlots(input({ catchUp, maxCatchUp: 0, after: slot(0), now: slot(1) + 5_000 }));

    // assert
    expect(plan.dispatch).toEqual([slot(1)]);
    expect(plan.missed).toEqual([]);
  });

  it('records it missed(deadline) when it is older than the starting deadline', () => {
    // act
    const plan = planSlots(input({ after: slot(0), now: slot(1) + 30_000, startingDeadlineMs: 29_999 }));

    // assert
    expect(plan.dispatch).toEqual([]);
    expect(plan.missed).toEqual([{ slot: slot(1), reason: 'deadline' }]);
  });

  it('runs it when its age equals the starting deadline', () => {
    // act
    const plan = planSlots(input({ after: slot(0), now: slot(1) + 30_000, startingDeadlineMs: 30_000 }));

    // assert
    expect(plan.dispatch).toEqual([slot(1)]);
  });
});

describe('catch-up: skip', () => {
  it('records every past-due slot missed(catch-up-skip) and runs none', () => {
    // act: slots 0-4 past due, slot 5 in the lookahead
    const plan = planSlots(input({ catchUp: 'skip', now: slot(4) + 1, lookaheadMs: MIN }));

    // assert
    expect(plan.dispatch).toEqual([slot(5)]);
    expect(plan.missed).toEqual([0, 1, 2, 3, 4].map((k) => ({ slot: slot(k), reason: 'catch-up-skip' })));
    expect(plan.cursor).toBe(slot(5));
  });

  it('pages never leave a lone past-due slot behind, so the whole backlog is skipped', () => {
    // prepare
    const base = input({ catchUp: 'skip', now: slot(4) + 1, limit: 2 });

    // act: page until done
    const plans = [planSlots(base)];
    while (plans.at(-1)!.more) plans.push(planSlots({ ...base, after: plans.at(-1)!.cursor }));

    // assert
    expect(plans.map((p) => p.missed.map((m) => (m.slot - T0) / MIN))).toEqual([[0, 1], [2], [3, 4]]);
    expect(plans.flatMap((p) => p.dispatch)).toEqual([]);
    expect(plans.flatMap((p) => p.missed).every((m) => m.reason === 'catch-up-skip')).toBe(true);
  });
});

describe('catch-up: latest', () => {
  it('runs the newest past-due slot and records the older ones missed(coalesced)', () => {
    // act
    const plan = planSlots(input({ catchUp: 'latest', now: slot(4) + 1 }));

    // assert
    expect(plan.dispatch).toEqual([slot(4)]);
    expect(plan.missed).toEqual([0, 1, 2, 3].map((k) => ({ slot: slot(k), reason: 'coalesced' })));
    expect(plan).toMatchObject({ cursor: slot(4), more: false, next: slot(5) });
  });

  it('records the newest missed(deadline) when even it is too old', () => {
    // act
    const plan = planSlots(input({ catchUp: 'latest', now: slot(4) + 30_000, startingDeadlineMs: 10_000 }));

    // assert
    expect(plan.dispatch).toEqual([]);
    expect(plan.missed.at(-1)).toEqual({ slot: slot(4), reason: 'deadline' });
    expect(plan.missed.filter((m) => m.reason === 'coalesced')).toHaveLength(4);
  });

  it('a page short of the newest past-due slot coalesces all of its slots; a later page runs the newest', () => {
    // prepare
    const base = input({ catchUp: 'latest', now: slot(4) + 1, limit: 2 });

    // act
    const first = planSlots(base);
    const second = planSlots({ ...base, after: first.cursor });
    const third = planSlots({ ...base, after: second.cursor });

    // assert
    expect(first).toEqual({
      dispatch: [],
      missed: [
        { slot: slot(0), reason: 'coalesced' },
        { slot: slot(1), reason: 'coalesced' },
      ],
      cursor: slot(1),
      more: true,
      next: slot(2),
    });
    expect(second.dispatch).toEqual([]);
    expect(second.more).toBe(true);
    expect(third).toEqual({
      dispatch: [slot(4)],
      missed: [],
      cursor: slot(4),
      more: false,
      next: slot(5),
    });
  });
});

describe('catch-up: all', () => {
  it('runs the oldest maxCatchUp past-due slots and records the rest missed(catch-up-limit)', () => {
    // act
    const plan = planSlots(input({ catchUp: 'all', maxCatchUp: 2, now: slot(4) + 1 }));

    // assert
    expect(plan.dispatch).toEqual([slot(0), slot(1)]);
    expect(plan.missed).toEqual([2, 3, 4].map((k) => ({ slot: slot(k), reason: 'catch-up-limit' })));
  });

  it('records a slot chosen to run but past its deadline missed(deadline)', () => {
    // act: slot 0 is 4 min old, slot 1 is 3 min old
    const plan = planSlots(
      input({ catchUp: 'all', maxCatchUp: 10, now: slot(4), startingDeadlineMs: 3 * MIN }),
    );

    // assert
    expect(plan.dispatch).toEqual([slot(1), slot(2), slot(3), slot(4)]);
    expect(plan.missed).toEqual([{ slot: slot(0), reason: 'deadline' }]);
  });

  it('counts maxCatchUp per call when the limit pages the backlog', () => {
    // prepare
    const base = input({ catchUp: 'all', maxCatchUp: 1, now: slot(5) + 1, limit: 3 });

    // act
    const first = planSlots(base);
    const second = planSlots({ ...base, after: first.cursor });

    // assert
    expect(first.dispatch).toEqual([slot(0)]);
    expect(second.dispatch).toEqual([slot(3)]);
    expect([...first.missed, ...second.missed].map((m) => m.reason)).toEqual(Array(4).fill('catch-up-limit'));
  });
});

describe('planSlots: limit, cursor and next', () => {
  it('handles at most limit slots, past due and ahead together', () => {
    // act
    const plan = planSlots(input({ catchUp: 'all', now: slot(1), lookaheadMs: 5 * MIN, limit: 4 }));

    // assert
    expect(plan).toEqual({
      dispatch: [slot(0), slot(1), slot(2), slot(3)],
      missed: [],
      cursor: slot(3),
      more: true,
      next: slot(4),
    });
  });

  it('next is undefined once an at() schedule has been handled', () => {
    // prepare
    const schedule = parseSchedule('at(2026-01-01T00:05:00)', {});

    // act
    const plan = planSlots(input({ schedule, now: slot(10) }));

    // assert
    expect(plan).toEqual({ dispatch: [slot(5)], missed: [], cursor: slot(5), more: false, next: undefined });
  });

  it('next is undefined when the window has closed', () => {
    // prepare
    const schedule = parseSchedule('rate(1 minute)', { anchor: T0, endAt: slot(3) });

    // act
    const plan = planSlots(input({ schedule, catchUp: 'all', now: slot(10) }));

    // assert
    expect(plan).toMatchObject({ dispatch: [slot(0), slot(1), slot(2)], cursor: slot(2), next: undefined });
  });

  it('plans a cron schedule the same way', () => {
    // prepare
    const schedule = parseSchedule('cron(0/15 * * * ? *)', {});

    // act
    const plan = planSlots(input({ schedule, after: slot(0), now: slot(50), lookaheadMs: 15 * MIN }));

    // assert
    expect(plan).toEqual({
      dispatch: [slot(45), slot(60)],
      missed: [
        { slot: slot(15), reason: 'coalesced' },
        { slot: slot(30), reason: 'coalesced' },
      ],
      cursor: slot(60),
      more: false,
      next: slot(75),
    });
  });

  it.each([0, 1.5, Number.NaN])('rejects a limit of %s', (limit) => {
    // act
    const plan = () => planSlots(input({ limit }));

    // assert
    expect(plan).toThrow(RangeError);
  });
});
