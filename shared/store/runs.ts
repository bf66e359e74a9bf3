/**
 * Run records (`JOB#id / RUN#time`): the whole run lifecycle's writes (create, start, transition, finish)
 * and the open-runs index the sweep reads.
 */
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { aliased, isConditionFailure, type Page, StoreBase } from './base.js';
import {
  iso,
  isTerminal,
  jobKey,
  OPEN_INDEX,
  RUNNING_MAX,
  type RunItem,
  type RunReason,
  type RunStatus,
  runKey,
  sameIncarnation,
} from './model.js';

/**
 * The asynchronous attempt's fields that end with the attempt (`lastHeartbeatAt` stays, for the record;
 * the token hash stays on the attempt record).
 */
export const ASYNC_CLEARED = {
  completionTokenHash: undefined,
  heartbeatDeadline: undefined,
  runDeadline: undefined,
  stopRequestedAt: undefined,
} as const;

/** What changes on a run record, written with `SET` (undefined values are `REMOVE`d). */
export type RunPatch = Partial<Omit<RunItem, 'pk' | 'sk' | 'type' | 'runId' | 'jobId'>>;

export class RunRecords extends StoreBase {
  /** The shard key of the open-runs index for a run of `jobId`. */
  openShard(jobId: string): string {
    return `open#${this.shardOf(jobId)}`;
  }

  newRun(
    fields: Pick<RunItem, 'runId' | 'jobId' | 'scheduledAt' | 'status' | 'definition' | 'jobVersion'> &
      Partial<RunItem>,
    now: number,
  ): RunItem {
    const key = runKey(fields.runId);
    if (!key) throw new Error(`not a run id: ${fields.runId}`);
    return {
      ...key,
      type: 'run',
      attempt: 0,
      attempts: [],
      createdAt: iso(now),
      updatedAt: iso(now),
      expiresAt: this.expiresAt(now),
      ...fields,
    };
  }

  /** Writes a run record unless one with its id exists (a retried tick is harmless). */
  async createRun(run: RunItem): Promise<boolean> {
    return this.conditional(
      new PutCommand(
        aliased({ TableName: this.tableName, Item: run, ConditionExpression: 'attribute_not_exists(pk)' }),
      ),
    );
  }

  async getRun(runId: string): Promise<RunItem | undefined> {
    const key = runKey(runId);
    if (!key) return undefined;
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return Item as RunItem | undefined;
  }

  /**
   * Changes a run if it is still in one of `from` (and at `attempt`, when given). Returns the new record,
   * or undefined when the condition failed: someone else moved it first.
   */
  async transitionRun(
    runId: string,
    from: readonly RunStatus[],
    patch: RunPatch,
    options: {
      attempt?: number;
      appendAttempt?: RunItem['attempts'][number];
      now: number;
      extraCondition?: string;
      extraValues?: Record<string, unknown>;
    },
  ): Promise<RunItem | undefined> {
    const key = runKey(runId);
    if (!key) return undefined;
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':now': iso(options.now), ...options.extraValues };
    const sets = ['updatedAt = :now'];
    const removes: string[] = [];
    for (const [field, value] of Object.entries(patch)) {
      names[`#f_${field}`] = field;
      if (value === undefined) removes.push(`#f_${field}`);
      else {
        values[`:f_${field}`] = value;
        sets.push(`#f_${field} = :f_${field}`);
      }
    }
    if (options.appendAttempt) {
      names['#attempts'] = 'attempts';
      values[':attempt_new'] = [options.appendAttempt];
      values[':empty'] = [];
      sets.push('#attempts = list_append(if_not_exists(#attempts, :empty), :attempt_new)');
    }
    const conditions = [
      from.length === 1 ? '#status = :from0' : `#status IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
    ];
    from.forEach((status, i) => {
      values[`:from${i}`] = status;
    });
    if (options.attempt !== undefined) {
      names['#attempt'] = 'attempt';
      values[':attempt_expected'] = options.attempt;
      conditions.push('#attempt = :attempt_expected');
    }
    if (options.extraCondition) conditions.push(options.extraCondition);
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand(
          aliased({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
            ConditionExpression: conditions.join(' AND '),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return Attributes as RunItem;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * Starts a run: `from → running` on the run and then, for a run its job tracks (`track`: overlap
   * skip/queue), adds it to the job's `running` set: two conditional writes (a transaction bills twice),
   * the run put back as it was when the job refuses. With `exclusive` the job must have nothing
   * running but this run itself (overlap skip/queue: a run waiting for its retry stays in the set); a
   * tracked run that is not exclusive (an operator's run) starts while the set holds fewer than
   * RUNNING_MAX, so the set stays bounded. An untracked run (overlap allow) leaves the job item
   * untouched: the job need only exist (and be enabled) and still have overlap `allow` (an edit to
   * skip/queue in between: `policy`, with the job's policy now). A tracked start is refused while the job
   * carries `untrackedRuns` (`untracked`: an edit from allow whose runs in flight are not yet in the set,
   * see adoptUntracked). `history` is the run's attempt list with the
   * new attempt, already bounded (written whole: it changes only with the status and attempt this write
   * is conditional on). Result says which side refused.
   */
  async startRun(
    run: RunItem,
    from: readonly RunStatus[],
    options: {
      exclusive: boolean;
      /** The job's `running` set holds the run (overlap skip/queue); default true. */
      track?: boolean;
      /** The job must be enabled (scheduled slots; operator runs start on a paused job too). */
      requireEnabled?: boolean;
      leaseUntil: number;
      now: number;
      attempt: number;
      history: Pick<RunItem, 'attempts' | 'attemptsDropped'>;
      /** More fields the start writes (an asynchronous attempt's token hash and deadlines); undefined removes. */
      extra?: RunPatch;
      /**
       * The job's `maxRuns`, for a scheduled run's first attempt: the start counts itself in the job's
       * `runsStarted` and is refused (`max-runs`) once that many have started.
       */
      countStart?: number;
    },
  ): Promise<
    | { ok: true }
    | { ok: false; refused: 'run' | 'job' | 'no-job' | 'paused' | 'max-runs' | 'untracked' }
    | { ok: false; refused: 'policy'; overlap: string }
  > {
    const runKeyValue = runKey(run.runId)!;
    const startedAt = iso(options.now);
    const fromValues = Object.fromEntries(from.map((status, i) => [`:from${i}`, status]));
    const track = options.track ?? true;
    const exclusive = options.exclusive
      ? ' AND (attribute_not_exists(#running) OR size(#running) = :zero OR ' +
        '(size(#running) = :one AND contains(#running, :self)))'
      : track
        ? ' AND (attribute_not_exists(#running) OR size(#running) < :max OR contains(#running, :self))'
        : '';
    // The set counts every run in flight only once an edit from allow has added those started before it.
    // Untracked: the policy read before this write must still hold (conditions cost no capacity).
    const policy = track ? ' AND attribute_not_exists(untrackedRuns)' : ' AND definition.overlap = :allow';
    // A scheduled slot starts only on an enabled job: a pause that lands between the executor's read of
    // the job and this write still stops it.
    const enabled = options.requireEnabled ? ' AND enabled = :true' : '';
    // A run of a job deleted and created again under this id never starts on the new one.
    const incarnation = run.incarnation
      ? ' AND (attribute_not_exists(incarnation) OR incarnation = :incarnation)'
      : '';
    const counted = options.countStart !== undefined;
    const limit = counted ? ' AND (attribute_not_exists(runsStarted) OR runsStarted < :maxRuns)' : '';
    const jobCondition = `attribute_exists(pk)${incarnation}${enabled}${exclusive}${policy}${limit}`;
    const jobValues = {
      ...(track ? {} : { ':allow': 'allow' }),
      ...(counted ? { ':maxRuns': options.countStart } : {}),
      ...(options.exclusive ? { ':zero': 0, ':one': 1, ':self': run.runId } : {}),
      ...(track && !options.exclusive ? { ':max': RUNNING_MAX, ':self': run.runId } : {}),
      ...(options.requireEnabled ? { ':true': true } : {}),
      ...(run.incarnation ? { ':incarnation': run.incarnation } : {}),
    };
    const adds = [...(track ? ['#running :run'] : []), ...(counted ? ['runsStarted :started'] : [])];
    const extraNames: Record<string, string> = {};
    const extraValues: Record<string, unknown> = {};
    const extraSets: string[] = [];
    const extraRemoves: string[] = [];
    for (const [field, value] of Object.entries(options.extra ?? {})) {
      extraNames[`#x_${field}`] = field;
      if (value === undefined) extraRemoves.push(`#x_${field}`);
      else {
        extraValues[`:x_${field}`] = value;
        extraSets.push(`, #x_${field} = :x_${field}`);
      }
    }
    // When the sweep is due to look at the run before its lease ends anyway (its delivery deadline), the
    // start leaves `openUntil` alone: moving it would move the run in the open index, a delete and a put
    // there on every start. The sweep gives a run it finds still running its lease's end (sweep.ts).
    const keepOpenUntil = run.openUntil !== undefined && Date.parse(run.openUntil) <= options.leaseUntil;
    const openUntil = keepOpenUntil ? '' : 'openUntil = :lease, ';
    const lease = iso(options.leaseUntil);

    // 1. The run: at most one start per run id (its status and attempt are the condition). ALL_OLD keeps
    //    the record as it was, to put back if the job refuses the start.
    let before: Record<string, unknown>;
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand(
          aliased({
            TableName: this.tableName,
            Key: runKeyValue,
            UpdateExpression:
              'SET #status = :running, #attempt = :attempt, startedAt = if_not_exists(startedAt, :startedAt), ' +
              `leaseUntil = :lease, ${openUntil}updatedAt = :startedAt, ` +
              `#attempts = :attempts${options.history.attemptsDropped ? ', attemptsDropped = :dropped' : ''}` +
              `${extraSets.join('')} REMOVE nextAttemptAt${extraRemoves.map((name) => `, ${name}`).join('')}`,
            ConditionExpression: `#status IN (${from.map((_, i) => `:from${i}`).join(', ')}) AND #attempt = :previous`,
            ExpressionAttributeNames: {
              '#status': 'status',
              '#attempt': 'attempt',
              '#attempts': 'attempts',
              ...extraNames,
            },
            ExpressionAttributeValues: {
              ...fromValues,
              ':running': 'running',
              ':attempt': options.attempt,
              ':previous': run.attempt,
              ':startedAt': startedAt,
              ':lease': lease,
              ':attempts': options.history.attempts,
              ...(options.history.attemptsDropped ? { ':dropped': options.history.attemptsDropped } : {}),
              ...extraValues,
            },
            ReturnValues: 'ALL_OLD',
          }),
        ),
      );
      before = Attributes ?? {};
    } catch (error) {
      if (isConditionFailure(error)) return { ok: false, refused: 'run' };
      throw error;
    }

    // 2. The job, after the run: the overlap policy, maxRuns, pause and incarnation. A tracked or counted
    //    start writes the job conditionally; an untracked one (overlap allow) reads it consistently, which
    //    orders it the same way: a pause or delete that lands after the read lands after the start, as it
    //    would after a transaction's. Two writes instead of one transaction: 2 WCU instead of 4 billed
    //    (and a run record past 1 KB billed once, not twice). A crash between them leaves a run `running`
    //    that never reached its target, as a crash after a transactional start does: the sweep takes it
    //    over at its lease; it never held the job, so nothing of the job waits for it.
    let job: Record<string, unknown> | undefined;
    let jobOk: boolean;
    if (adds.length) {
      try {
        await this.doc.send(
          new UpdateCommand(
            aliased({
              TableName: this.tableName,
              Key: jobKey(run.jobId),
              UpdateExpression: `ADD ${adds.join(', ')}`,
              ConditionExpression: jobCondition,
              ExpressionAttributeNames: { '#running': 'running' },
              ExpressionAttributeValues: {
                ...(track ? { ':run': new Set([run.runId]) } : {}),
                ...(counted ? { ':started': 1 } : {}),
                ...jobValues,
              },
            }),
          ),
        );
        jobOk = true;
      } catch (error) {
        if (!isConditionFailure(error)) {
          await this.undoStart(before, options.attempt, lease);
          throw error;
        }
        jobOk = false;
      }
    } else {
      try {
        ({ Item: job } = await this.doc.send(
          new GetCommand({ TableName: this.tableName, Key: jobKey(run.jobId), ConsistentRead: true }),
        ));
      } catch (error) {
        await this.undoStart(before, options.attempt, lease);
        throw error;
      }
      jobOk = Boolean(job) && sameIncarnation(run, job!) && admits(job!, run.runId, options);
    }
    if (jobOk) return { ok: true };

    // The job refused: the run goes back as it was (the caller then skips, queues or waits it, from the
    // state it read), and the refusal is named from the job as it is.
    if (!(await this.undoStart(before, options.attempt, lease))) return { ok: false, refused: 'run' };
    if (adds.length) {
      ({ Item: job } = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: jobKey(run.jobId), ConsistentRead: true }),
      ));
    }
    if (!job || !sameIncarnation(run, job)) return { ok: false, refused: 'no-job' };
    if (counted && typeof job.runsStarted === 'number' && job.runsStarted >= options.countStart!)
      return { ok: false, refused: 'max-runs' };
    if (options.requireEnabled && job.enabled !== true) return { ok: false, refused: 'paused' };
    const overlap = overlapOf(job);
    if (!track && overlap !== 'allow') return { ok: false, refused: 'policy', overlap };
    if (track && job.untrackedRuns !== undefined) return { ok: false, refused: 'untracked' };
    return { ok: false, refused: 'job' };
  }

  /**
   * Puts a run back as it was before a start the job refused, if it is still that start (status, attempt
   * and lease). False when something else moved it since (it is theirs to finish).
   */
  private async undoStart(before: Record<string, unknown>, attempt: number, lease: string): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: before,
          ConditionExpression: '#status = :running AND #attempt = :attempt AND leaseUntil = :lease',
          ExpressionAttributeNames: { '#status': 'status', '#attempt': 'attempt' },
          ExpressionAttributeValues: { ':running': 'running', ':attempt': attempt, ':lease': lease },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * A job's runs, newest first (run records sort by their slot time within the job's partition): all, or
   * those whose slot is at or after `since` and, with `until`, before it (ISO times).
   */
  async queryRuns(
    jobId: string,
    options: {
      limit: number;
      newestFirst?: boolean;
      since?: string;
      until?: string;
      start?: Record<string, unknown>;
      /** Read only what a run's public view shows (no definition but its target type, pool and retries). */
      summary?: boolean;
    },
  ): Promise<Page<RunItem>> {
    const pk = `JOB#${jobId}`;
    let condition = 'pk = :pk AND begins_with(sk, :run)';
    let values: Record<string, string> = { ':pk': pk, ':run': 'RUN#' };
    if (options.until !== undefined) {
      // BETWEEN is inclusive: the last key before `until` is the millisecond before it, manual runs
      // (`RUN#<time>#manual`) included ('~' sorts after '#manual').
      const last = `RUN#${new Date(Date.parse(options.until) - 1).toISOString()}#~`;
      condition = 'pk = :pk AND sk BETWEEN :since AND :until';
      values = { ':pk': pk, ':since': `RUN#${options.since ?? ''}`, ':until': last };
    } else if (options.since !== undefined) {
      condition = 'pk = :pk AND sk >= :since';
      values = { ':pk': pk, ':since': `RUN#${options.since}` };
    }
    const input: QueryCommandInput = {
      TableName: this.tableName,
      KeyConditionExpression: condition,
      ExpressionAttributeValues: values,
      ScanIndexForward: !(options.newestFirst ?? true),
      Limit: options.limit,
      ExclusiveStartKey: options.start,
      ...(options.summary ? RUN_SUMMARY : {}),
    };
    const page = await this.doc.send(new QueryCommand(input));
    return {
      items: (page.Items ?? []).filter((item) => item.type === 'run') as RunItem[],
      next: page.LastEvaluatedKey,
    };
  }

  /**
   * Runs of `jobId` still `running` (a job of that id was deleted while they were in flight): at most
   * `limit`, what a job created again under the id counts as running. Costs one read when the id never
   * had a run; else one query of the open index's shard (keys only, filtered to this job) and a
   * consistent read of each open run found.
   */
  async runningOf(jobId: string, limit: number): Promise<string[]> {
    const any = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :run)',
        ExpressionAttributeValues: { ':pk': `JOB#${jobId}`, ':run': 'RUN#' },
        ProjectionExpression: 'pk',
        Limit: 1,
      }),
    );
    if (!any.Items?.length) return [];
    const running: string[] = [];
    for await (const run of this.openRunsOf(jobId)) {
      if (run.status === 'running') running.push(run.runId);
      if (running.length >= limit) break;
    }
    return running;
  }

  /**
   * Completes an edit from overlap `allow` to `skip`/`queue` (the job item's `untrackedRuns` mark): the
   * runs started under `allow` and still in flight — `running`, or `retrying` (under skip/queue a run
   * waiting for its retry holds the job), found through the open index — go into the job's `running` set
   * and the mark goes, in one write conditional on the mark read. While the mark is there every start the
   * set would track is refused (startRun), and a start under `allow` needs the job's policy to be `allow`
   * still, so no run can start unseen between the query and the write; the policy then holds for them too.
   * A run that ended in between is dropped again after the write (its end's removal may have come first).
   * `busy` when the set would hold more than RUNNING_MAX: the mark stays, and the job counts as occupied
   * until enough of them have ended. Costs nothing unless the mark is there (one consistent read).
   */
  async adoptUntracked(jobId: string): Promise<{ state: 'adopted' | 'busy' | 'none'; runIds: string[] }> {
    const { Item: job } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: jobKey(jobId), ConsistentRead: true }),
    );
    const mark = job?.untrackedRuns;
    if (typeof mark !== 'string') return { state: 'none', runIds: [] };
    const tracked = new Set<string>((job?.running as Set<string> | undefined) ?? []);
    const found: string[] = [];
    for await (const run of this.openRunsOf(jobId)) {
      // A run of an earlier job under this id is counted by the create (createJob), not here.
      if (!sameIncarnation(run, job!)) continue;
      if (run.status !== 'running' && run.status !== 'retrying') continue;
      if (!tracked.has(run.runId)) found.push(run.runId);
      if (tracked.size + found.length > RUNNING_MAX) return { state: 'busy', runIds: found };
    }
    try {
      await this.doc.send(
        new UpdateCommand(
          aliased({
            TableName: this.tableName,
            Key: jobKey(jobId),
            UpdateExpression: `REMOVE untrackedRuns${found.length ? ' ADD running :runs' : ''}`,
            ConditionExpression: 'untrackedRuns = :mark',
            ExpressionAttributeValues: {
              ':mark': mark,
              ...(found.length ? { ':runs': new Set(found) } : {}),
            },
          }),
        ),
      );
    } catch (error) {
      // Another adopter (an executor, a put) got there first, or a later edit changed the mark.
      if (isConditionFailure(error)) return { state: 'none', runIds: [] };
      throw error;
    }
    const ended: string[] = [];
    for (const runId of found) {
      const run = await this.getRun(runId);
      if (!run || isTerminal(run.status)) ended.push(runId);
    }
    await this.forgetRunning(jobId, ended);
    return { state: 'adopted', runIds: found.filter((id) => !ended.includes(id)) };
  }

  /**
   * Whether any run of `jobId` has no final fate yet (what `afterLastRun: delete` waits for): one query
   * of the job's open-index shard, and a consistent read of each open run found until one is not final.
   */
  async hasOpenRun(jobId: string): Promise<boolean> {
    for await (const run of this.openRunsOf(jobId)) if (!isTerminal(run.status)) return true;
    return false;
  }

  /**
   * The runs of `jobId` in the open index, each read again consistently (the index is keys only and
   * eventually consistent: an entry may name a run that has ended since). Pages lazily: a caller that
   * stops early reads no further.
   */
  private async *openRunsOf(jobId: string): AsyncGenerator<RunItem> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand(
          aliased({
            TableName: this.tableName,
            IndexName: OPEN_INDEX,
            KeyConditionExpression: 'openShard = :shard',
            FilterExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':shard': this.openShard(jobId), ':pk': `JOB#${jobId}` },
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const key of page.Items ?? []) {
        const { Item } = await this.doc.send(
          new GetCommand({
            TableName: this.tableName,
            Key: { pk: key.pk, sk: key.sk },
            ConsistentRead: true,
          }),
        );
        if (Item) yield Item as RunItem;
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** Open runs of one shard whose `openUntil` has passed: the sweep's work list. */
  async queryOpenDue(
    shard: number,
    now: number,
    limit: number,
    start?: Record<string, unknown>,
  ): Promise<Page<RunItem>> {
    const page = await this.doc.send(
      new QueryCommand(
        aliased({
          TableName: this.tableName,
          IndexName: OPEN_INDEX,
          KeyConditionExpression: 'openShard = :shard AND openUntil <= :now',
          ExpressionAttributeValues: { ':shard': `open#${shard}`, ':now': iso(now) },
          Limit: limit,
          ExclusiveStartKey: start,
        }),
      ),
    );
    return {
      items: (await this.itemsOf(page.Items ?? [], true)) as unknown as RunItem[],
      next: page.LastEvaluatedKey,
    };
  }

  /** Terminal patch helper: a run that ends leaves the open index. */
  static terminal(status: RunStatus, reason: RunReason, now: number, extra: RunPatch = {}): RunPatch {
    return {
      status,
      reason,
      finishedAt: iso(now),
      openShard: undefined,
      openUntil: undefined,
      leaseUntil: undefined,
      nextAttemptAt: undefined,
      ...ASYNC_CLEARED,
      ...extra,
    };
  }
}

/**
 * The attributes of a run that its public view (shared/client/views.ts runView) reads: a window of runs
 * sends fewer bytes without each run's copy of the definition. DynamoDB still charges the whole item.
 */
const SUMMARY_FIELDS = [
  'type',
  'runId',
  'jobId',
  'scheduledAt',
  'status',
  'reason',
  'attempt',
  'manual',
  'backfill',
  'replays',
  'dispatchedAt',
  'startedAt',
  'finishedAt',
  'lastError',
  'attempts',
  'lastHeartbeatAt',
  'heartbeatDeadline',
  'runDeadline',
  'output',
  'calendar',
] as const;
const RUN_SUMMARY = {
  ProjectionExpression: [
    ...SUMMARY_FIELDS.map((_, i) => `#f${i}`),
    '#def.#target.#type',
    '#def.#pool',
    '#def.#retry.#max',
  ].join(', '),
  ExpressionAttributeNames: {
    ...Object.fromEntries(SUMMARY_FIELDS.map((name, i) => [`#f${i}`, name])),
    '#def': 'definition',
    '#target': 'target',
    '#type': 'type',
    '#pool': 'pool',
    '#retry': 'retry',
    '#max': 'maxAttempts',
  },
};

/**
 * Whether a job item (read consistently) admits an untracked, uncounted start: what the job side's
 * condition expression says, for a start that writes nothing on the job (enabled when required; with
 * `exclusive`, nothing running but the run itself).
 */
function admits(
  job: Record<string, unknown>,
  runId: string,
  options: { exclusive: boolean; requireEnabled?: boolean },
): boolean {
  if (options.requireEnabled && job.enabled !== true) return false;
  // Untracked: the job's policy must still be allow (an edit to skip/queue in between: see adoptUntracked).
  if (overlapOf(job) !== 'allow') return false;
  if (!options.exclusive) return true;
  const running =
    job.running instanceof Set ? [...job.running] : Array.isArray(job.running) ? job.running : [];
  return running.length === 0 || (running.length === 1 && running[0] === runId);
}

/** The job item's overlap policy as stored (`definition.overlap`). */
function overlapOf(job: Record<string, unknown>): string {
  return String((job.definition as { overlap?: unknown } | undefined)?.overlap);
}
