/** The schedule engine: expressions, slots and the catch-up plan. Pure functions of (definition, now). */
export { describeSchedule } from './describe.js';
export { type NextSlots, type NextSlotsOptions, nextSlots, parseInstantText } from './next.js';
export { MAX_SCHEDULE_SPECS, parseSchedule } from './parse.js';
export { planSlots } from './plan.js';
export { nextSlot, previousSlot, slotsBetween } from './slots.js';
export type {
  AtSchedule,
  CatchUpPolicy,
  CronSchedule,
  Plan,
  PlanInput,
  PlanMissReason,
  RateSchedule,
  Schedule,
  ScheduleOptions,
  ScheduleSpec,
  SingleSchedule,
  UnionSchedule,
} from './types.js';
