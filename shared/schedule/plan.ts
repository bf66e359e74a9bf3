import { nextSlot, slotsBetween } from './slots.js';
import type { Plan, PlanInput, PlanMissReason } from './types.js';

/**
 * The catch-up plan for one job at one tick (SPEC §4): which slots in (after, now + lookahead] to dispatch
 * and which to record as missed, at most `limit` of them. Every slot is handled by exactly one plan: the
 * next call starts from `cursor`.
 *
 * Paging, when `limit` cuts a run of past-due slots short. Each call sees only (after, …], so the policy is
 * applied per call, with these rules so that the pages still add up to the policy:
 * - `latest`: a page that does not reach the newest past-due slot records all of its slots `coalesced`;
 *   the page that reaches it runs it.
 * - `skip`: a page never leaves exactly one past-due slot behind (it hands back one slot fewer instead), so
 *   the next call still sees more than one past due and skips them too. With `limit` 1 that is not
 *   possible, and the last slot of the backlog runs as a lone past-due slot would.
 * - `all`: `maxCatchUp` counts per call, not per backlog: each page runs its oldest `maxCatchUp`
 *   past-due slots. A `limit` of at most `maxCatchUp` therefore runs every slot (subject to the deadline).
 *
 * @example
 * planSlots({ schedule, catchUp: 'latest', maxCatchUp: 10, startingDeadlineMs: 600_000,
 *             after: state.cursor, now, lookaheadMs: 60_000, limit: 100 });
 */
export function planSlots(input: PlanInput): Plan {
  const { schedule, catchUp, maxCatchUp, startingDeadlineMs, after, now, lookaheadMs, limit } = input;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`planSlots: limit must be a whole number ≥ 1, got ${limit}`);
  if (!(maxCatchUp >= 0)) throw new RangeError(`planSlots: maxCatchUp must be ≥ 0, got ${maxCatchUp}`);
  if (!(lookaheadMs >= 0)) throw new RangeError(`planSlots: lookaheadMs must be ≥ 0, got ${lookaheadMs}`);

  // Two slots beyond the page tell whether the page leaves none, one, or several past-due slots behind.
  const fetched = slotsBetween(schedule, after, now + lookaheadMs, limit + 2);
  let page = fetched.slice(0, limit);
  let pastDueLeft = fetched.slice(limit).filter((slot) => slot <= now).length;
  if (catchUp === 'skip' && pastDueLeft === 1 && page.length >= 2) {
    // Slots ascend, so a past-due slot after the page means the whole page is past due.
    page = page.slice(0, -1);
    pastDueLeft = 2;
  }

  const pastDue = page.filter((slot) => slot <= now);
  const backlog = pastDue.length + pastDueLeft > 1;
  const run = new Set<number>();
  const missed: Plan['missed'] = [];
  const miss = (slot: number, reason: PlanMissReason) => missed.push({ slot, reason });

  pastDue.forEach((slot, i) => {
    if (!backlog) run.add(slot);
    else if (catchUp === 'skip') miss(slot, 'catch-up-skip');
    else if (catchUp === 'latest') {
      // The newest past-due slot runs; when it lies beyond this page, a later call runs it.
      if (pastDueLeft === 0 && i === pastDue.length - 1) run.add(slot);
      else miss(slot, 'coalesced');
    } else if (i < maxCatchUp) run.add(slot);
    else miss(slot, 'catch-up-limit');
  });

  const dispatch: number[] = [];
  for (const slot of page) {
    if (slot > now) dispatch.push(slot);
    else if (!run.has(slot)) continue;
    else if (now - slot > startingDeadlineMs) miss(slot, 'deadline');
    else dispatch.push(slot);
  }
  missed.sort((a, b) => a.slot - b.slot);

  const cursor = page.at(-1) ?? after;
  return { dispatch, missed, cursor, more: page.length < fetched.length, next: nextSlot(schedule, cursor) };
}
