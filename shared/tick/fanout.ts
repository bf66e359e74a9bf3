/**
 * The tick's fan-out: the minute's work split over shard groups, each handled by its own invocation, so
 * claims per second grow with the groups instead of stopping at what one invocation's concurrency reaches.
 *
 * EventBridge fires the coordinator (group 0). It reads every group's heartbeat (one query), counts the
 * groups that stopped reporting (`TickGroupsStopped`, alarmed), invokes groups 1…n−1 asynchronously and
 * then handles group 0 itself. Group g owns the due and open shards `s` with `s mod n = g`, and segment g
 * of the audit's parallel scan: every shard is claimed and swept by exactly one group each minute, and a
 * group that fails leaves its shards to its next invocation (the due query has no lower bound, leases
 * expire), as a failed tick always did. Overlapping groups would be harmless anyway: every write of the
 * claim protocol is conditional.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { errorMessage } from '../util.js';
import { DEFAULT_TICK_CONFIG, runTick, type TickConfig, type TickDeps, type TickReport } from './tick.js';

/** A group is stopped when its heartbeat is older than this many tick intervals (as `punctual status` judges). */
export const STOPPED_AFTER_TICKS = 3;

/** The event the coordinator sends each further group's invocation. */
export interface TickGroupRequest {
  kind: 'punctual.tick-group';
  group: number;
  groups: number;
  /** When the coordinator fired (ISO). */
  firedAt: string;
}

/** Starts one group's tick without waiting for it (Lambda's asynchronous invoke, or a promise locally). */
export interface TickInvoker {
  invokeGroup(request: TickGroupRequest): Promise<void>;
}

/** Invokes the tick-worker function asynchronously (`InvocationType: Event`): Lambda queues the event. */
export class LambdaTickInvoker implements TickInvoker {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functionName: string,
  ) {}

  async invokeGroup(request: TickGroupRequest): Promise<void> {
    // https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html: `Event` returns 202 once queued.
    const output = await this.lambda.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(request)),
      }),
    );
    if (output.StatusCode !== 202)
      throw new Error(`invoke of tick group ${request.group} returned status ${output.StatusCode}`);
  }
}

/** Checks a tick's shard-group settings; the message names the field, the value and the rule. */
export function checkGroups(groups: number, shards: number): void {
  if (!Number.isInteger(groups) || groups < 1 || groups > shards)
    throw new RangeError(
      `tick groups ${groups}: must be a whole number from 1 to the shard count (${shards}), each group owning at least one shard`,
    );
}

/** The event of one group's invocation, or undefined for anything else (EventBridge's scheduled event). */
export function parseGroupRequest(event: unknown): TickGroupRequest | undefined {
  if (!event || typeof event !== 'object' || (event as { kind?: unknown }).kind !== 'punctual.tick-group')
    return undefined;
  const { group, groups, firedAt } = event as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof groups !== 'number' || !Number.isInteger(groups) || groups < 2)
    problems.push(`groups ${JSON.stringify(groups)}: must be a whole number ≥ 2`);
  else if (typeof group !== 'number' || !Number.isInteger(group) || group < 1 || group >= groups)
    problems.push(`group ${JSON.stringify(group)}: must be a whole number from 1 to groups − 1`);
  if (typeof firedAt !== 'string' || Number.isNaN(Date.parse(firedAt)))
    problems.push(`firedAt ${JSON.stringify(firedAt)}: must be an ISO-8601 time`);
  if (problems.length) throw new TypeError(`tick group request: ${problems.join('; ')}`);
  return event as TickGroupRequest;
}

interface HeartbeatLike {
  lastTickAt: string;
  groups?: number;
  groupsSince?: string;
}

/**
 * Groups 1…n−1 whose heartbeat is older than `STOPPED_AFTER_TICKS` intervals. A group that never reported
 * counts only once the coordinator has run with this many groups for as long (a fresh deploy is not an
 * alarm).
 */
export function stoppedGroups(
  heartbeats: ReadonlyMap<number, HeartbeatLike>,
  groups: number,
  intervalMs: number,
  now: number,
): number[] {
  const limit = STOPPED_AFTER_TICKS * intervalMs;
  const coordinator = heartbeats.get(0);
  const since =
    coordinator?.groups === groups && coordinator.groupsSince ? Date.parse(coordinator.groupsSince) : now;
  const stopped: number[] = [];
  for (let group = 1; group < groups; group++) {
    const last = heartbeats.get(group)?.lastTickAt;
    const from = last ? Date.parse(last) : since;
    if (now - from > limit) stopped.push(group);
  }
  return stopped;
}

/**
 * The minute's tick as EventBridge fires it: with one group, the whole tick; with more, the coordinator —
 * count stopped groups, invoke groups 1…n−1, handle group 0.
 */
export async function runCoordinator(
  deps: TickDeps,
  config: TickConfig = DEFAULT_TICK_CONFIG,
  invoker?: TickInvoker,
): Promise<TickReport> {
  const groups = config.groups;
  if (groups <= 1) return runTick(deps, config);
  checkGroups(groups, deps.store.shards);
  if (!invoker) throw new Error(`tick groups ${groups}: a fan-out needs an invoker of the tick worker`);
  const firedAt = new Date(deps.clock()).toISOString();
  const errors: TickReport['errors'] = [];

  let groupsSince = firedAt;
  try {
    const heartbeats = await deps.store.getHeartbeats();
    const previous = heartbeats.get(0);
    if (previous?.groups === groups && previous.groupsSince) groupsSince = previous.groupsSince;
    const stopped = stoppedGroups(heartbeats, groups, config.intervalMs, deps.clock());
    if (stopped.length) {
      // Only when non-zero, like the tick's counts (a datapoint an hour is billed).
      deps.signals.metric('TickGroupsStopped', stopped.length);
      deps.log.error('tick groups stopped reporting', { groups: stopped });
    }
  } catch (error) {
    // Only the stopped-group count depends on it: the fan-out goes on.
    deps.log.warn('tick heartbeats not read', { error: errorMessage(error) });
  }

  await Promise.all(
    Array.from({ length: groups - 1 }, (_, index) => index + 1).map(async (group) => {
      try {
        await invoker.invokeGroup({ kind: 'punctual.tick-group', group, groups, firedAt });
      } catch (error) {
        // Its shards wait for the next minute's invocation; the stopped-group alarm tells if it persists.
        deps.log.error('tick group not invoked', { group, error: errorMessage(error) });
        errors.push({ jobId: `(group ${group})`, error: errorMessage(error) });
      }
    }),
  );
  return runTick(deps, config, { group: 0, errors, groupsSince });
}

/** One report of several groups' (the local runtime's `tick()` returns the sum of the minute). */
export function mergeReports(reports: readonly TickReport[]): TickReport {
  const [first, ...rest] = reports;
  if (!first) throw new Error('mergeReports: no report');
  const out: TickReport = structuredClone(first);
  for (const report of rest) {
    out.durationMs = Math.max(out.durationMs, report.durationMs);
    for (const key of [
      'jobsSeen',
      'jobsClaimed',
      'contended',
      'slotsDispatched',
      'slotsRecorded',
      'invalidJobs',
      'newerFormat',
      'backlog',
      'sendFailures',
    ] as const)
      out[key] += report[key] ?? 0; // a worker of the previous build may not report every count
    for (const key of ['examined', 'resent', 'missed', 'retried', 'failed'] as const)
      out.sweep[key] += report.sweep[key];
    out.overdueJobs.push(...report.overdueJobs);
    out.errors.push(...report.errors);
    out.repairedJobs.push(...report.repairedJobs);
  }
  return out;
}
