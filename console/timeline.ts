/**
 * A job's slot timeline: every slot of a window as one cell coloured by its fate, from the schedule's
 * slots (`PunctualClient.jobSlots`) and the runs recorded for them (`listJobRuns`). A slot that passed
 * without a record is a cell of its own (`unrecorded`), so a stopped tick or a paused job is a visible
 * gap, not a shorter row. Pure: `now` is a parameter.
 */
import type { Run } from '../shared/client/index.js';

export const FATES = [
  'succeeded',
  'failed',
  'missed',
  'skipped',
  'cancelled',
  'running',
  'pending',
  'upcoming',
  'excluded',
  'unrecorded',
] as const;
export type Fate = (typeof FATES)[number];

/** What each fate means, for the legend and the cells' titles. */
export const FATE_TEXT: Record<Fate, string> = {
  succeeded: 'succeeded',
  failed: 'failed',
  missed: 'missed (with its reason)',
  skipped: 'skipped',
  cancelled: 'cancelled',
  running: 'running or retrying',
  pending: 'sent, not started yet',
  upcoming: 'upcoming',
  excluded: 'upcoming, excluded by a calendar (will be skipped(calendar))',
  unrecorded: 'passed, no record yet (tick not run, or job paused)',
};

/** Which fate a bucket of several slots shows: the one that most needs a look. */
const PRIORITY: readonly Fate[] = [
  'failed',
  'missed',
  'unrecorded',
  'cancelled',
  'running',
  'pending',
  'skipped',
  'succeeded',
  'excluded',
  'upcoming',
];

export interface Cell {
  /** The slot (the first slot of a bucket). */
  at: string;
  fate: Fate;
  /** The run of the slot, when it has one (a single slot). */
  run?: Run;
  /** An upcoming slot an exclusion calendar excludes: the calendar's name. */
  calendar?: string;
  /** A bucket of several slots: how many of each fate. */
  counts?: Partial<Record<Fate, number>>;
  /** Slots in the cell (1 unless bucketed). */
  slots: number;
}

export interface Timeline {
  cells: Cell[];
  /** Slots per cell (1: one cell per slot). */
  bucket: number;
  /** Slots by fate over the whole window. */
  totals: Partial<Record<Fate, number>>;
}

export function fateOf(run: Run, now: number): Fate {
  switch (run.status) {
    case 'succeeded':
    case 'failed':
    case 'missed':
    case 'skipped':
    case 'cancelled':
      return run.status;
    case 'running':
    case 'retrying':
      return 'running';
    default:
      // dispatched, queued: claimed and sent; before its slot it is still to come.
      return Date.parse(run.scheduledAt) > now ? 'upcoming' : 'pending';
  }
}

/**
 * The cells of a window: one per slot (and per manual or backfill run off the schedule's grid), in time
 * order; more than `maxCells` are grouped into buckets of consecutive slots. `excluded` (slot → calendar)
 * marks the upcoming slots the job's calendars exclude; a passed one without a record stays `unrecorded`
 * (the tick records it skipped(calendar) when it claims it).
 */
export function buildTimeline(
  slots: readonly string[],
  runs: readonly Run[],
  now: number,
  maxCells: number,
  excluded: Readonly<Record<string, string>> = {},
): Timeline {
  const bySlot = new Map<string, Run>();
  const extra: Run[] = [];
  for (const run of runs) {
    if (run.manual) extra.push(run);
    else bySlot.set(run.scheduledAt, run);
  }
  const single: Cell[] = slots.map((at) => {
    const run = bySlot.get(at);
    bySlot.delete(at);
    if (run) return { at, fate: fateOf(run, now), run, slots: 1 };
    if (Date.parse(at) <= now) return { at, fate: 'unrecorded', slots: 1 };
    const calendar = excluded[at];
    return calendar === undefined
      ? { at, fate: 'upcoming', slots: 1 }
      : { at, fate: 'excluded', calendar, slots: 1 };
  });
  // Runs whose slot is not on the grid (manual triggers; slots of a schedule since changed).
  for (const run of [...extra, ...bySlot.values()])
    single.push({ at: run.scheduledAt, fate: fateOf(run, now), run, slots: 1 });
  single.sort((a, b) => a.at.localeCompare(b.at));

  const totals: Partial<Record<Fate, number>> = {};
  for (const cell of single) totals[cell.fate] = (totals[cell.fate] ?? 0) + 1;
  const bucket = Math.max(1, Math.ceil(single.length / Math.max(1, maxCells)));
  if (bucket === 1) return { cells: single, bucket, totals };
  const cells: Cell[] = [];
  for (let i = 0; i < single.length; i += bucket) {
    const group = single.slice(i, i + bucket);
    const counts: Partial<Record<Fate, number>> = {};
    for (const cell of group) counts[cell.fate] = (counts[cell.fate] ?? 0) + 1;
    const fate = PRIORITY.find((candidate) => counts[candidate]) ?? 'upcoming';
    cells.push({ at: group[0]!.at, fate, counts, slots: group.length });
  }
  return { cells, bucket, totals };
}
