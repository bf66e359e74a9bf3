import { cronNext, cronPrevious } from './cron.js';
import type { RateSchedule, Schedule } from './types.js';

/**
 * The first slot strictly after `after`, or undefined when the schedule names none (an `at` that has passed,
 * a window that has closed).
 *
 * @example
 * nextSlot(parseSchedule('rate(5 minutes)', { anchor: 0 }), 60_000); // 300_000
 */
export function nextSlot(schedule: Schedule, after: number): number | undefined {
  if (Number.isNaN(after)) throw new RangeError('nextSlot: after must be a number');
  const from = schedule.startAt === undefined ? after : Math.max(after, schedule.startAt - 1);
  let slot: number | undefined;
  switch (schedule.kind) {
    case 'rate':
      slot = rateNext(schedule, from);
      // startAt may fall between two slots: the first slot at or after it.
      if (slot !== undefined && schedule.startAt !== undefined && slot < schedule.startAt) {
        slot = rateNext(schedule, slot);
      }
      break;
    case 'cron':
      slot = cronNext(schedule, from);
      while (slot !== undefined && schedule.startAt !== undefined && slot < schedule.startAt) {
        slot = cronNext(schedule, slot);
      }
      break;
    case 'at':
      slot = schedule.at > after ? schedule.at : undefined;
      break;
    case 'union':
      // The earliest next slot of any part: two parts naming one instant give it once.
      for (const part of schedule.parts) {
        const candidate = nextSlot(part, from);
        if (candidate !== undefined && (slot === undefined || candidate < slot)) slot = candidate;
      }
      break;
  }
  if (slot === undefined || !inWindow(schedule, slot)) return undefined;
  return slot;
}

/** The last slot at or before `atOrBefore`, or undefined when there is none. */
export function previousSlot(schedule: Schedule, atOrBefore: number): number | undefined {
  if (Number.isNaN(atOrBefore)) throw new RangeError('previousSlot: atOrBefore must be a number');
  // endAt is exclusive: the last slot is before it.
  const until = schedule.endAt === undefined ? atOrBefore : Math.min(atOrBefore, schedule.endAt - 1);
  let slot: number | undefined;
  switch (schedule.kind) {
    case 'rate': {
      // An endless rate has no last slot.
      if (until < schedule.anchor || until === Number.POSITIVE_INFINITY) return undefined;
      // `%` is exact on integers, where a division and a floor can round up near a multiple.
      slot = until - ((until - schedule.anchor) % schedule.periodMs);
      break;
    }
    case 'cron':
      slot = cronPrevious(schedule, until);
      break;
    case 'at':
      slot = schedule.at <= until ? schedule.at : undefined;
      break;
    case 'union':
      for (const part of schedule.parts) {
        const candidate = previousSlot(part, until);
        if (candidate !== undefined && (slot === undefined || candidate > slot)) slot = candidate;
      }
      break;
  }
  if (slot === undefined || !inWindow(schedule, slot)) return undefined;
  return slot;
}

/**
 * The slots in (afterExclusive, untilInclusive], ascending, at most `limit` of them. One bound must be
 * finite: an unbounded rate never ends.
 */
export function slotsBetween(
  schedule: Schedule,
  afterExclusive: number,
  untilInclusive: number,
  limit = Number.POSITIVE_INFINITY,
): number[] {
  if (untilInclusive === Number.POSITIVE_INFINITY && limit === Number.POSITIVE_INFINITY) {
    throw new RangeError('slotsBetween: give a finite untilInclusive or a finite limit');
  }
  const slots: number[] = [];
  let slot = nextSlot(schedule, afterExclusive);
  while (slot !== undefined && slot <= untilInclusive && slots.length < limit) {
    slots.push(slot);
    // A rate steps by its period (nextSlot would give the same, with a division).
    if (schedule.kind === 'rate') {
      slot += schedule.periodMs;
      if (schedule.endAt !== undefined && slot >= schedule.endAt) slot = undefined;
    } else {
      slot = nextSlot(schedule, slot);
    }
  }
  return slots;
}

/** anchor + k × period, k ≥ 0, strictly after `after`: O(1), so it never drifts and never iterates. */
function rateNext(s: RateSchedule, after: number): number | undefined {
  if (after === Number.POSITIVE_INFINITY) return undefined;
  if (after < s.anchor) return s.anchor;
  // `%` is exact on integers, where a division and a floor can round up near a multiple.
  return after - ((after - s.anchor) % s.periodMs) + s.periodMs;
}

function inWindow(s: Schedule, slot: number): boolean {
  return (s.startAt === undefined || slot >= s.startAt) && (s.endAt === undefined || slot < s.endAt);
}
