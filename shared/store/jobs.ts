import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { JobDefinition } from '../jobs/types.js';
import { aliased, isConditionFailure, type Page, type RawItem, StoreBase } from './base.js';
import {
  assertReadable,
  type DeferredRecords,
  type DefinitionItem,
  DUE_INDEX,
  definitionIdOf,
  definitionKey,
  dueKeyKept,
  iso,
  type JobItem,
  jobKey,
  type LastOutcome,
  type PreviousRun,
  type RunStatus,
  sameIncarnation,
  storedPreviousRun,
  withoutPayload,
} from './model.js';

/**
 * Definition items read by this process, by table, job and id: they never change, so a warm executor
 * reads each once. Bounded (oldest first out).
 */
const definitionCache = new Map<string, JobDefinition>();
const DEFINITION_CACHE_SIZE = 500;

export class JobRecords extends StoreBase {
  /**
   * Writes the whole definition to its immutable item when it has a payload, and returns what the job
   * item keeps: the definition without the payload and the item's id. A definition without a payload is
   * kept whole on the job item and gets no item. The item's key is a hash of its content, so writing it
   * again (a retried put, the same definition put twice) writes the same thing.
   */
  async putDefinition(
    jobId: string,
    definition: JobDefinition,
    now: number,
  ): Promise<{ definition: JobDefinition; definitionId?: string }> {
    if (definition.payload === undefined) return { definition };
    const definitionId = definitionIdOf(definition);
    const item: DefinitionItem = {
      ...definitionKey(jobId, definitionId),
      type: 'definition',
      jobId,
      definitionId,
      definition,
      createdAt: iso(now),
    };
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
    return { definition: withoutPayload(definition), definitionId };
  }

  /** The whole definition of a definition item (cached: it never changes); undefined when it is missing. */
  async getDefinition(jobId: string, definitionId: string): Promise<JobDefinition | undefined> {
    const cacheKey = `${this.tableName}/${jobId}/${definitionId}`;
    const cached = definitionCache.get(cacheKey);
    if (cached) return cached;
    // Consistent: the item is written just before the job item that names it, and a first run's message
    // can arrive right after a create; an eventually consistent read could miss it. A miss is not cached
    // (the executor then fails before the start and the message comes again).
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: definitionKey(jobId, definitionId),
        ConsistentRead: true,
      }),
    );
    assertReadable(`definition item ${definitionId} of job "${jobId}"`, Item);
    const definition = (Item as DefinitionItem | undefined)?.definition;
    if (!definition) return undefined;
    definitionCache.set(cacheKey, definition);
    if (definitionCache.size > DEFINITION_CACHE_SIZE)
      definitionCache.delete(definitionCache.keys().next().value as string);
    return definition;
  }

  /**
   * The job item with its whole definition (the payload read back from the definition item): what a
   * person or a put compares and shows. The tick and the executor read the item alone.
   */
  async getJobFull(jobId: string): Promise<RawItem | undefined> {
    const raw = await this.getJobRaw(jobId);
    if (!raw || typeof raw.definitionId !== 'string') return raw;
    const definition = await this.getDefinition(jobId, raw.definitionId);
    return definition ? { ...raw, definition } : raw;
  }

  /** The job item as stored, unchecked: it may have been edited by hand. */
  async getJobRaw(jobId: string, consistent = true): Promise<RawItem | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: jobKey(jobId), ConsistentRead: consistent }),
    );
    return Item;
  }

  /** The job with its whole definition (see {@link getJobFull}). */
  async getJob(jobId: string): Promise<JobItem | undefined> {
    return (await this.getJobFull(jobId)) as JobItem | undefined;
  }

  /**
   * Creates a job; false when one with this id exists. A payload goes to the definition item; `item` gets
   * its `definitionId` (and keeps its whole definition: it is what the caller claims and shows).
   */
  async createJob(item: JobItem): Promise<boolean> {
    const stored = await this.putDefinition(item.jobId, item.definition, Date.parse(item.createdAt));
    if (stored.definitionId) item.definitionId = stored.definitionId;
    return this.conditional(
      new PutCommand(
        aliased({
          TableName: this.tableName,
          Item: { ...item, ...stored },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  /**
   * Writes what `jobs put` owns on an existing job — definition, anchor, cursor, next slot, and the pause
   * state only when the definition's `enabled` changed — and nothing else: the run state (`running`, `held`, `lease`, `counts`, `deferred`, …) belongs
   * to the tick and the executor, which may be changing it right now. Conditional on `version`.
   */
  async updateJobDefinition(
    jobId: string,
    expectedVersion: number,
    fields: {
      definition: JobDefinition;
      anchor: string;
      cursor: string;
      nextRunAt: string | undefined;
      /** Whether the job is enabled, as read (decides the due index; guarded by the version). */
      enabled: boolean;
      /** Only when the put changes the pause state: otherwise `enabled`, `note` and `pausedAt` stay. */
      pause: { enabled: true } | { enabled: false; note: string; pausedAt: string } | undefined;
      /** Deferred records are pending: the job stays due now so the next tick goes on writing them. */
      recordsPending: boolean;
      /** The definition item the job referenced as read: it expires once the job leaves it. */
      previousDefinitionId?: string;
      /**
       * `mark`: the edit moves the job from overlap allow to skip/queue, so runs started under allow may be
       * in flight untracked (`untrackedRuns`, until RunRecords.adoptUntracked counts them); `clear`: to allow.
       */
      untrackedRuns?: 'mark' | 'clear';
      now: number;
    },
  ): Promise<boolean> {
    const stored = await this.putDefinition(jobId, fields.definition, fields.now);
    const values: Record<string, unknown> = {
      ':definition': stored.definition,
      ':anchor': fields.anchor,
      ':cursor': fields.cursor,
      ':now': iso(fields.now),
      ':expected': expectedVersion,
      ':one': 1,
    };
    const sets = ['definition = :definition', 'anchor = :anchor', 'cursor = :cursor', 'updatedAt = :now'];
    // A claim's lease is void once the version moves (its advance is refused): drop it, so the claim of
    // the new schedule's first slots does not wait for a dead tick's lease to run out.
    const removes = ['invalid', '#lease'];
    if (stored.definitionId) {
      sets.push('definitionId = :definitionId');
      values[':definitionId'] = stored.definitionId;
    } else removes.push('definitionId');
    if (fields.untrackedRuns === 'mark') sets.push('untrackedRuns = :now');
    else if (fields.untrackedRuns === 'clear') removes.push('untrackedRuns');
    if (fields.nextRunAt === undefined) removes.push('nextRunAt');
    else {
      sets.push('nextRunAt = :nextRunAt');
      values[':nextRunAt'] = fields.nextRunAt;
    }
    if (fields.pause) {
      sets.push('enabled = :enabled');
      values[':enabled'] = fields.pause.enabled;
      if (fields.pause.enabled) removes.push('note', 'pausedAt');
      else {
        sets.push('note = :note', 'pausedAt = :pausedAt');
        values[':note'] = fields.pause.note;
        values[':pausedAt'] = fields.pause.pausedAt;
      }
    }
    const due = fields.enabled ? (fields.recordsPending ? iso(fields.now) : fields.nextRunAt) : undefined;
    if (due === undefined) removes.push('dueAt', 'dueShard');
    else {
      sets.push('dueAt = :due', 'dueShard = :shard');
      values[':due'] = due;
      values[':shard'] = this.shardOf(jobId);
    }
    const update = aliased({
      TableName: this.tableName,
      Key: jobKey(jobId),
      UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')} ADD version :one`,
      ConditionExpression: 'version = :expected',
      ExpressionAttributeNames: { '#lease': 'lease' },
      ExpressionAttributeValues: values,
    });
    const dropped =
      fields.previousDefinitionId !== undefined && fields.previousDefinitionId !== stored.definitionId
        ? fields.previousDefinitionId
        : undefined;
    return this.leavingDefinition(jobId, { Update: update }, dropped, fields.now);
  }

  /**
   * Takes a disabled job out of the due index, only if it is still the job the caller saw (same version,
   * still disabled): a resume that landed since keeps its place in the index.
   */
  async removeFromDue(jobId: string, expectedVersion: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand(
        aliased({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: 'REMOVE dueAt, dueShard',
          ConditionExpression: 'attribute_exists(pk) AND version = :expected AND enabled = :false',
          ExpressionAttributeValues: { ':expected': expectedVersion, ':false': false },
        }),
      ),
    );
  }

  /**
   * Deletes a job item; its definition item (if any) gets its TTL in the same write, so it goes once the
   * run records that reference it have expired. False when there is no such job.
   */
  async deleteJob(jobId: string, now: number): Promise<boolean> {
    for (let round = 0; round < 5; round++) {
      const job = await this.getJobRaw(jobId);
      if (!job) return false;
      const definitionId = typeof job.definitionId === 'string' ? job.definitionId : undefined;
      const deleted = await this.leavingDefinition(
        jobId,
        {
          Delete: aliased({
            TableName: this.tableName,
            Key: jobKey(jobId),
            // The job as read: an edit in between moved it to another definition item.
            ConditionExpression: definitionId
              ? 'attribute_exists(pk) AND definitionId = :definitionId'
              : 'attribute_exists(pk) AND attribute_not_exists(definitionId)',
            ExpressionAttributeValues: definitionId ? { ':definitionId': definitionId } : undefined,
          }),
        },
        definitionId,
        now,
      );
      if (deleted) return true;
    }
    throw new Error(`job "${jobId}" kept changing while it was deleted; try again`);
  }

  /** Every job item (raw), page by page. Jobs are few next to runs; a filtered scan is fine here. */
  async *scanJobs(): AsyncGenerator<RawItem> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand(
          aliased({
            TableName: this.tableName,
            FilterExpression: 'sk = :job',
            ExpressionAttributeValues: { ':job': 'JOB' },
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) yield item;
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** Due jobs of one shard: `dueAt <= horizon`, no lower bound, oldest first. */
  async queryDue(
    shard: number,
    horizon: number,
    limit: number,
    start?: Record<string, unknown>,
  ): Promise<Page<RawItem>> {
    const page = await this.doc.send(
      new QueryCommand(
        aliased({
          TableName: this.tableName,
          IndexName: DUE_INDEX,
          KeyConditionExpression: 'dueShard = :shard AND dueAt <= :horizon',
          ExpressionAttributeValues: { ':shard': shard, ':horizon': iso(horizon) },
          Limit: limit,
          ExclusiveStartKey: start,
        }),
      ),
    );
    return { items: await this.itemsOf(page.Items ?? [], false), next: page.LastEvaluatedKey };
  }

  /**
   * Step 1 of the claim protocol: take a lease on the job if nobody changed it since it was read and no
   * live lease is held. False when another tick (or an edit) got there first.
   */
  async claimJob(
    jobId: string,
    expect: { version: number; nextRunAt: string | undefined; enabled?: boolean },
    token: string,
    leaseUntil: number,
    now: number,
  ) {
    return this.conditional(
      new UpdateCommand(
        aliased({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: 'SET #lease = :lease',
          ConditionExpression:
            `#version = :version AND ${expect.nextRunAt === undefined ? 'attribute_not_exists(nextRunAt)' : 'nextRunAt = :next'} ` +
            'AND enabled = :true AND (attribute_not_exists(#lease) OR #lease.#until < :now)',
          ExpressionAttributeNames: { '#lease': 'lease', '#version': 'version', '#until': 'until' },
          ExpressionAttributeValues: {
            ':lease': { token, until: iso(leaseUntil) },
            ':version': expect.version,
            ':next': expect.nextRunAt,
            // A paused job is claimed only to write its pending records (the tick sends nothing for it).
            ':true': expect.enabled ?? true,
            ':now': iso(now),
          },
        }),
      ),
    );
  }

  /**
   * Step 4: move the job to its next slot, bump the version and drop the lease, only if our lease is
   * still the one held. `next` undefined: the schedule has ended and the job leaves the due index.
   */
  async advanceJob(
    jobId: string,
    /**
     * The lease token of a claim (a paused job's pending records), or `null`: the advance is the claim
     * itself (a tick's ordinary protocol) — conditional on the version and next slot read, and on no live
     * lease, as a claim is.
     */
    token: string | null,
    change: {
      /** The version read when the job was claimed: an edit, pause or resume since then wins. */
      version: number;
      cursor: number;
      next: number | undefined;
      /** Records still to write after this tick. */
      deferred: DeferredRecords[];
      counts: Partial<Record<RunStatus, number>>;
      now: number;
      /** A paused job whose pending records were written: it leaves the due index once none is left. */
      paused?: boolean;
      /** The due key and next slot as read with the claim: the key stays when `dueKeyKept` allows. */
      seen?: { dueAt?: string; dueShard?: number; nextRunAt?: string };
    },
  ): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {
      ...(token === null ? {} : { ':token': token }),
      ':version': change.version,
      ':cursor': iso(change.cursor),
      ':one': 1,
      ':true': !change.paused,
      ':now': iso(change.now),
    };
    const sets = ['cursor = :cursor', 'updatedAt = :now'];
    const removes = ['lease'];
    if (change.next === undefined) removes.push('nextRunAt');
    else {
      sets.push('nextRunAt = :next');
      values[':next'] = iso(change.next);
    }
    if (change.deferred.length) {
      sets.push('deferred = :deferred');
      values[':deferred'] = change.deferred;
    } else removes.push('deferred');
    // Due again at its next slot; at once while deferred records remain, so the next tick writes them.
    const due = change.deferred.length ? change.now : change.paused ? undefined : change.next;
    // A kept key stays a lower bound of the next slot and costs no index write (DynamoDB writes a GSI
    // entry only when its key changes).
    const shard = this.shardOf(jobId);
    const kept =
      due !== undefined &&
      change.seen !== undefined &&
      dueKeyKept(change.seen, shard, change.seen.nextRunAt, due);
    if (due === undefined) removes.push('dueAt', 'dueShard');
    else if (!kept) {
      sets.push('dueAt = :due', 'dueShard = :shard');
      values[':due'] = iso(due);
      values[':shard'] = shard;
    }
    const adds = ['version :one'];
    for (const [status, n] of Object.entries(change.counts)) {
      if (!n) continue;
      names[`#c_${status}`] = status;
      values[`:c_${status}`] = n;
      adds.push(`counts.#c_${status} :c_${status}`);
    }
    // Leased: our claim still holds. Unleased: nothing moved the job since it was read (every advance,
    // edit, pause and resume bumps the version) and no claim of another build holds it.
    let lease = 'lease.#token = :token';
    let leaseNames: Record<string, string> = { '#token': 'token' };
    if (token === null) {
      if (!change.seen) throw new Error('an unleased advance needs the job as it was read (seen)');
      lease = `${change.seen?.nextRunAt === undefined ? 'attribute_not_exists(nextRunAt)' : 'nextRunAt = :seenNext'} AND (attribute_not_exists(#lease) OR #lease.#until < :now)`;
      leaseNames = { '#lease': 'lease', '#until': 'until' };
      if (change.seen?.nextRunAt !== undefined) values[':seenNext'] = change.seen.nextRunAt;
    }
    try {
      await this.withCounts(jobId, () =>
        this.doc.send(
          new UpdateCommand(
            aliased({
              TableName: this.tableName,
              Key: jobKey(jobId),
              UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')} ADD ${adds.join(', ')}`,
              // `enabled`: belt and braces; a pause bumps the version too.
              ConditionExpression: `${lease} AND version = :version AND enabled = :true`,
              ExpressionAttributeNames: { ...names, ...leaseNames },
              ExpressionAttributeValues: values,
            }),
          ),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * `ADD counts.x` needs the `counts` map to exist. Jobs are created with it; an item edited by hand may
   * lack it, and DynamoDB then answers ValidationException: create the map and try once more.
   */
  private async withCounts<T>(jobId: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if ((error as Error)?.name !== 'ValidationException') throw error;
      await this.ensureCounts(jobId);
      return write();
    }
  }

  /** ADD on a nested path needs the parent map to exist. */
  private async ensureCounts(jobId: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand(
          aliased({
            TableName: this.tableName,
            Key: jobKey(jobId),
            UpdateExpression: 'SET #counts = :empty',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#counts)',
            ExpressionAttributeNames: { '#counts': 'counts' },
            ExpressionAttributeValues: { ':empty': {} },
          }),
        ),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Gives a lease back without advancing (the send failed): the next tick retries at once. */
  async releaseLease(jobId: string, token: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand(
          aliased({
            TableName: this.tableName,
            Key: jobKey(jobId),
            UpdateExpression: 'REMOVE #lease',
            ConditionExpression: '#lease.#token = :token',
            ExpressionAttributeNames: { '#lease': 'lease', '#token': 'token' },
            ExpressionAttributeValues: { ':token': token },
          }),
        ),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Takes a job out of the due index with the reason it cannot be scheduled. */
  async markJobInvalid(jobId: string, error: string, now: number): Promise<void> {
    await this.doc.send(
      new UpdateCommand(
        aliased({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: 'SET invalid = :invalid, updatedAt = :now REMOVE dueAt, dueShard, #lease',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#lease': 'lease' },
          ExpressionAttributeValues: { ':invalid': { error, at: iso(now) }, ':now': iso(now) },
        }),
      ),
    );
  }

  /** Records the end of a run on its job: outcome, failure streak, counters; drops it from `running`. */
  async recordOutcome(
    jobId: string,
    outcome: LastOutcome,
    options: {
      failed: boolean;
      terminal: boolean;
      pauseAfterFailures: number;
      now: number;
      /**
       * A scheduled run that started and ended: becomes the job's `lastRun` unless a run of a later slot
       * is there already (with overlap allow, runs may end out of slot order).
       */
      lastRun?: PreviousRun;
      /** The run's job incarnation: a run of an earlier job under this id records nothing on this one. */
      incarnation?: string;
    },
  ): Promise<
    { paused: boolean; held?: string; consecutiveFailures: number; scheduleEnded?: boolean } | undefined
  > {
    const names: Record<string, string> = {
      '#running': 'running',
      '#counts': 'counts',
      '#status': outcome.status,
      '#key': 'key',
    };
    const values: Record<string, unknown> = {
      ':key': outcome.key,
      ':run': new Set([outcome.runId]),
      ':outcome': outcome,
      ':now': iso(options.now),
      ':one': 1,
      ':zero': 0,
      ':incarnation': options.incarnation,
    };
    const sets = ['updatedAt = :now'];
    const adds: string[] = [];
    const lastRun = options.terminal ? options.lastRun : undefined;
    if (lastRun) {
      sets.push('lastRun = :lastRun');
      values[':lastRun'] = storedPreviousRun(lastRun);
      values[':slot'] = lastRun.scheduledAt;
    }
    if (options.terminal) {
      sets.push('lastOutcome = :outcome');
      adds.push('#counts.#status :one');
      if (options.failed) adds.push('consecutiveFailures :one');
      else if (outcome.status === 'succeeded') sets.push('consecutiveFailures = :zero');
    }
    try {
      const { Attributes } = await this.withCounts(jobId, () =>
        this.doc.send(
          new UpdateCommand(
            aliased({
              TableName: this.tableName,
              Key: jobKey(jobId),
              UpdateExpression: `SET ${sets.join(', ')} DELETE #running :run${adds.length ? ` ADD ${adds.join(', ')}` : ''}`,
              // The ADDs are not idempotent: when the SDK retries a write whose response was lost, the
              // outcome's key is already there and the retry is refused instead of counting twice.
              ConditionExpression: [
                'attribute_exists(pk)',
                ...(options.incarnation
                  ? ['(attribute_not_exists(incarnation) OR incarnation = :incarnation)']
                  : []),
                ...(options.terminal && outcome.key
                  ? ['(attribute_not_exists(lastOutcome.#key) OR lastOutcome.#key <> :key)']
                  : []),
                // ISO times sort as text.
                ...(lastRun ? ['(attribute_not_exists(lastRun) OR lastRun.scheduledAt <= :slot)'] : []),
              ].join(' AND '),
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: values,
              ReturnValues: 'ALL_NEW',
            }),
          ),
        ),
      );
      const job = Attributes as JobItem;
      let paused = false;
      if (
        options.failed &&
        options.pauseAfterFailures > 0 &&
        job.consecutiveFailures >= options.pauseAfterFailures &&
        job.enabled
      ) {
        paused = await this.pauseAfterFailures(jobId, job, options.pauseAfterFailures, {
          now: options.now,
          note: `paused after ${job.consecutiveFailures} failed runs in a row; last: ${outcome.runId}`,
        });
      }
      return {
        paused,
        held: job.held,
        consecutiveFailures: job.consecutiveFailures,
        // afterLastRun: delete may apply (shared/runs/finish.ts checks the rest).
        scheduleEnded:
          job.nextRunAt === undefined &&
          (job.definition as { afterLastRun?: string })?.afterLastRun === 'delete',
      };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Either the job is gone, or this outcome was recorded already (a retried write): report the job
      // as it is, so the caller still releases a held run.
      const job = (await this.getJobRaw(jobId)) as JobItem | undefined;
      if (!job) return undefined;
      if (!sameIncarnation(options, job)) {
        // A run of the job this one replaced: its end is not this job's outcome. It may still be in the
        // set (the create counted it as running, so the new job waited for it): it leaves it, and the
        // run the new job held behind it is released.
        await this.forgetRunning(jobId, [outcome.runId]);
        return { paused: false, held: job.held, consecutiveFailures: job.consecutiveFailures };
      }
      if (lastRun && outcome.key && job.lastOutcome?.key !== outcome.key) {
        // Not recorded yet: a run of a later slot ended first and keeps `lastRun`. Record without it.
        return this.recordOutcome(jobId, outcome, { ...options, lastRun: undefined });
      }
      await this.forgetRunning(jobId, [outcome.runId]);
      return { paused: false, held: job.held, consecutiveFailures: job.consecutiveFailures };
    }
  }

  /**
   * Pause: enabled false, out of the due index, with a note; bumps `version`, so a claim, an advance, an
   * edit or a resume planned from the job as it was before is refused and planned again. Conditional on
   * the version the caller read: false when the job changed (or is paused already) since.
   */
  async pauseJob(
    jobId: string,
    expectedVersion: number,
    options: { now: number; note: string; recordsPending?: boolean },
  ): Promise<boolean> {
    // Records still to write (slots of an earlier pause, a catch-up backlog) keep the job in the due index
    // while paused: the tick writes them and sends nothing, then takes the job out.
    const due = options.recordsPending ? ', dueAt = :now, dueShard = :shard' : ' REMOVE dueAt, dueShard';
    return this.conditional(
      new UpdateCommand(
        aliased({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: `SET enabled = :false, note = :note, pausedAt = :now, updatedAt = :now${due} ADD version :one`,
          ConditionExpression: 'attribute_exists(pk) AND version = :expected AND enabled = :true',
          ExpressionAttributeValues: {
            ':false': false,
            ':true': true,
            ':note': options.note,
            ':now': iso(options.now),
            ':expected': expectedVersion,
            ':one': 1,
            ':shard': this.shardOf(jobId),
          },
        }),
      ),
    );
  }

  /**
   * Resume: back in the due index, the pause recorded as `lastPause` (the executor cancels a slot whose
   * time came inside it, and runs every other). The caller may move the cursor and hand the slots that
   * passed while paused to `deferred`, so the tick records them skipped(paused) while the job already runs
   * on time again. Bumps `version`; conditional on the version the caller read and on the job being paused.
   */
  async resumeJob(
    jobId: string,
    expectedVersion: number,
    options: {
      now: number;
      pausedAt: string | undefined;
      cursor?: number;
      nextRunAt?: number;
      /** The job's pending ranges, the paused slots' one included (written whole: guarded by the version). */
      deferred?: DeferredRecords[];
    },
  ): Promise<boolean> {
    const values: Record<string, unknown> = {
      ':true': true,
      ':false': false,
      ':now': iso(options.now),
      ':expected': expectedVersion,
      ':one': 1,
    };
    const sets = ['enabled = :true', 'updatedAt = :now'];
    if (options.pausedAt !== undefined) {
      sets.push('lastPause = :pause');
      values[':pause'] = { from: options.pausedAt, to: iso(options.now) };
    }
    if (options.cursor !== undefined) {
      sets.push('cursor = :cursor');
      values[':cursor'] = iso(options.cursor);
    }
    if (options.nextRunAt !== undefined) {
      sets.push('nextRunAt = :next');
      values[':next'] = iso(options.nextRunAt);
    }
    if (options.deferred?.length) {
      sets.push('deferred = :deferred');
      values[':deferred'] = options.deferred;
    }
    const due = options.deferred?.length ? options.now : options.nextRunAt;
    if (due !== undefined) {
      sets.push('dueAt = :due', 'dueShard = :shard');
      values[':due'] = iso(due);
      values[':shard'] = this.shardOf(jobId);
    }
    return this.conditional(
      new UpdateCommand(
        aliased({
          TableName: this.tableName,
          Key: jobKey(jobId),
          // The lease goes with the old version (see updateJobDefinition).
          UpdateExpression: `SET ${sets.join(', ')} REMOVE note, pausedAt, #lease ADD version :one`,
          ConditionExpression: 'attribute_exists(pk) AND version = :expected AND enabled = :false',
          ExpressionAttributeNames: { '#lease': 'lease' },
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  /**
   * Pauses a job whose failure streak reached its limit, conditional on the version like every pause;
   * when the job changed in between (an edit, a tick's advance), looks again: still enabled and still
   * failing → pause that version.
   */
  private async pauseAfterFailures(
    jobId: string,
    seen: JobItem,
    limit: number,
    options: { now: number; note: string },
  ): Promise<boolean> {
    let job: JobItem | undefined = seen;
    for (let i = 0; i < 5 && job?.enabled && job.consecutiveFailures >= limit; i++) {
      const recordsPending = Boolean(job.deferred?.length);
      if (await this.pauseJob(jobId, job.version, { ...options, recordsPending })) return true;
      job = await this.getJob(jobId);
    }
    return false;
  }

  /** Holds a run (overlap `queue`) if no other run is held; false when one already is. */
  async holdRun(jobId: string, runId: string, now: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand(
        aliased({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: 'SET held = :run, updatedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(held) OR held = :run)',
          ExpressionAttributeValues: { ':run': runId, ':now': iso(now) },
        }),
      ),
    );
  }

  /** Releases the held run if it is still `runId`; true when this call released it. */
  async releaseHeld(jobId: string, runId: string): Promise<boolean> {
    return this.conditional(
      new UpdateCommand(
        aliased({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: 'REMOVE held',
          ConditionExpression: 'held = :run',
          ExpressionAttributeValues: { ':run': runId },
        }),
      ),
    );
  }

  // ── due-index audit ──────────────────────────────────────────────────────────────────────────────

  /**
   * One page of the table, filtered to enabled, valid jobs that have a next slot (or pending records)
   * and no place in the due index. `Limit` bounds the items read, so each page costs the same.
   */
  async auditPage(
    start: Record<string, unknown> | undefined,
    limit: number,
    segment = 0,
    segments = 1,
  ): Promise<{ jobs: JobItem[]; next?: Record<string, unknown> }> {
    const page = await this.doc.send(
      new ScanCommand(
        aliased({
          TableName: this.tableName,
          FilterExpression:
            'sk = :job AND enabled = :true AND attribute_not_exists(dueAt) AND attribute_not_exists(invalid) ' +
            'AND (attribute_exists(nextRunAt) OR size(deferred) > :zero)',
          ExpressionAttributeValues: { ':job': 'JOB', ':true': true, ':zero': 0 },
          Limit: limit,
          ExclusiveStartKey: start,
          // A parallel scan: each shard group of the tick walks its own segment of the table.
          ...(segments > 1 ? { Segment: segment, TotalSegments: segments } : {}),
        }),
      ),
    );
    return {
      jobs: (page.Items ?? []) as JobItem[],
      ...(page.LastEvaluatedKey ? { next: page.LastEvaluatedKey } : {}),
    };
  }

  /** Puts an enabled job found outside the due index back, if it is still the job the audit read. */
  async restoreDue(job: JobItem, now: number): Promise<boolean> {
    const due = job.deferred?.length ? iso(now) : job.nextRunAt;
    if (due === undefined || typeof job.version !== 'number') return false;
    return this.conditional(
      new UpdateCommand(
        aliased({
          TableName: this.tableName,
          Key: jobKey(job.jobId),
          UpdateExpression: 'SET dueAt = :due, dueShard = :shard',
          ConditionExpression: 'version = :version AND enabled = :true AND attribute_not_exists(dueAt)',
          ExpressionAttributeValues: {
            ':due': due,
            ':shard': this.shardOf(job.jobId),
            ':version': job.version,
            ':true': true,
          },
        }),
      ),
    );
  }
}
