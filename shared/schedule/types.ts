/**
 * The schedule engine's contract. All instants are epoch milliseconds (UTC); every function that decides
 * something about time takes `now` (or `after`) as an argument and never reads the clock.
 */

/** A parsed schedule expression, bound to the job's time zone, anchor and window. */
export type Schedule = SingleSchedule | UnionSchedule;

/** One expression. */
export type SingleSchedule = RateSchedule | CronSchedule | AtSchedule;

/** What a job's `schedule` holds: one expression, or a list of them whose slots are the union. */
export type ScheduleSpec = string | readonly string[];

interface Window {
  /** The expression as written, e.g. `rate(5 minutes)`. */
  expression: string;
  /** IANA zone the expression is evaluated in (cron, at). */
  timezone: string;
  /** Inclusive lower bound of the slots, if any. */
  startAt?: number;
  /** Exclusive upper bound of the slots, if any. */
  endAt?: number;
}

export interface RateSchedule extends Window {
  kind: 'rate';
  periodMs: number;
  /** Slots are `anchor + k × periodMs`, k ≥ 0: anchored to startAt or creation, never to a run's end. */
  anchor: number;
}

export interface CronSchedule extends Window {
  kind: 'cron';
  /** Which syntax it was written in. */
  dialect: 'eventbridge' | 'crontab' | 'crontab-seconds';
  /** The pattern handed to the cron library after mapping (six or seven fields, seconds first). */
  pattern: string;
}

export interface AtSchedule extends Window {
  kind: 'at';
  at: number;
}

/**
 * Several expressions on one job (`schedule: [cron(0 9 ? * MON-FRI *), cron(0 12 ? * SAT *)]`): its slots
 * are the union of theirs, deduplicated (two expressions naming one instant make one slot). Every part
 * shares the job's zone, anchor and window; `expression` is the list joined with `, `.
 */
export interface UnionSchedule extends Window {
  kind: 'union';
  expressions: string[];
  parts: SingleSchedule[];
}

export interface ScheduleOptions {
  /** IANA zone; default `UTC`. */
  timezone?: string;
  /** Anchor of a rate schedule (epoch ms); default startAt, else required. */
  anchor?: number;
  startAt?: number;
  endAt?: number;
}

/**
 * What happens to slots missed while nothing could run them (an outage, a pause with `replay`): record them
 * missed, run the latest once, or run them all (up to `maxCatchUp`).
 *
 * @example const catchUp: CatchUpPolicy = 'latest';
 */
export type CatchUpPolicy = 'skip' | 'latest' | 'all';

/** Why a slot was recorded without being run by the tick's plan. */
export type PlanMissReason = 'coalesced' | 'catch-up-limit' | 'catch-up-skip' | 'deadline';

export interface PlanInput {
  schedule: Schedule;
  catchUp: CatchUpPolicy;
  /** With `all`: most past-due slots that run; the rest are recorded missed(catch-up-limit). */
  maxCatchUp: number;
  /** A slot older than `now - startingDeadlineMs` is recorded missed(deadline) instead of dispatched. */
  startingDeadlineMs: number;
  /** Exclusive: the last slot already handled (or anchor − 1 for a job with none handled yet). */
  after: number;
  now: number;
  /** Slots in (now, now + lookaheadMs] are dispatched ahead, with a delay. */
  lookaheadMs: number;
  /** Most slots (dispatched + recorded) in one plan; the rest are left for the next tick. */
  limit: number;
}

export interface Plan {
  /** Slots to dispatch, ascending. */
  dispatch: number[];
  /** Slots to record as missed, with the reason, ascending. */
  missed: { slot: number; reason: PlanMissReason }[];
  /** The last slot this plan handled (the new `after`); equals input `after` when nothing was due. */
  cursor: number;
  /** True when `limit` cut the plan short and more due slots remain. */
  more: boolean;
  /** The first slot after `cursor` (the job's next due instant), or undefined when the schedule has ended. */
  next: number | undefined;
}
