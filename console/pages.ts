/**
 * The console's pages, server-rendered from `PunctualClient` calls: jobs, a job (slot timeline, charts,
 * next slots, definition), a run, the DLQs, health. Every value read from the deployment is escaped.
 */

import type { JobFilter } from '../shared/client/index.js';
import {
  type DlqEntry,
  type Job,
  type JobDetail,
  type PunctualClient,
  type Run,
  type StatusReport,
  slotSent,
} from '../shared/client/index.js';
import { PunctualError } from '../shared/errors.js';
import { Html, html, jsonScript, ms, when } from './html.js';
import { buildTimeline, type Cell, FATE_TEXT, FATES, type Fate, type Timeline } from './timeline.js';

/** The windows a job page shows: the last hour, day or week, and a twelfth of that ahead. */
export const WINDOWS = { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 } as const;
export type WindowName = keyof typeof WINDOWS;

/** Most cells a timeline draws; more slots are grouped into buckets. */
export const MAX_CELLS = 1440;
/** Most runs a job page reads for its window (a page of the query is 1000). */
export const MAX_WINDOW_RUNS = 20_000;
/** Most slots of the schedule a job page computes for its window. */
export const MAX_WINDOW_SLOTS = 50_000;

export function jobHref(id: string): string {
  return `/jobs/${encodeURIComponent(id)}`;
}

export function runHref(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`;
}

function outcome(status: string, reason: string | null): string {
  return reason && reason !== 'ok' ? `${status}(${reason})` : status;
}

function badge(status: string, reason: string | null = null): Html {
  return html`<span class="badge fate-${badgeFate(status)}">${outcome(status, reason)}</span>`;
}

function badgeFate(status: string): Fate | 'other' {
  if (status === 'retrying') return 'running';
  if (status === 'dispatched' || status === 'queued') return 'pending';
  return (FATES as readonly string[]).includes(status) ? (status as Fate) : 'other';
}

// ── Jobs ───────────────────────────────────────────────────────────────────────────────────────────

export interface JobFilters {
  /** Substring of the id. */
  q?: string;
  pool?: string;
  /** The last outcome's status, `none` (no run ended yet) or `invalid`. */
  status?: string;
  /** `paused` or `active`. */
  paused?: string;
  overdue?: boolean;
  /** Tags every job shown carries, as typed: `team=payments, env=prod`. */
  tag?: string;
}

export const JOB_STATUS_FILTERS = [
  'succeeded',
  'failed',
  'missed',
  'skipped',
  'cancelled',
  'none',
  'invalid',
] as const;

/** `team=payments, env=prod` as tags; a part without `=` is refused, naming it. */
export function parseTagFilter(text: string | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of (text ?? '').split(/[,\s]+/).filter(Boolean)) {
    const at = part.indexOf('=');
    if (at <= 0)
      throw new PunctualError(
        `tag ${JSON.stringify(part)}: write key=value (several: team=payments, env=prod)`,
      );
    tags[part.slice(0, at)] = part.slice(at + 1);
  }
  return tags;
}

/**
 * The jobs list's filters as the client takes them (tags, paused or active, overdue: the client reads only
 * the jobs that carry a tag, docs/jobs.md "Tags and search"), and what the page filters on itself: the id
 * substring, the pool and the last outcome, which the client's filter does not name.
 */
export function clientFilter(filters: JobFilters): JobFilter {
  const tags = parseTagFilter(filters.tag);
  return {
    ...(Object.keys(tags).length ? { tags } : {}),
    ...(filters.paused === 'paused' || filters.paused === 'active' ? { status: filters.paused } : {}),
    ...(filters.overdue ? { overdue: true } : {}),
  };
}

export function pageFilter(jobs: readonly Job[], filters: JobFilters): Job[] {
  const q = filters.q?.trim().toLowerCase();
  return jobs.filter((job) => {
    if (q && !job.id.toLowerCase().includes(q)) return false;
    if (filters.pool && (job.pool ?? 'default') !== filters.pool) return false;
    if (filters.status === 'invalid') return job.invalid !== null;
    if (filters.status === 'none') return job.lastOutcome === null;
    if (filters.status) return job.lastOutcome?.status === filters.status;
    return true;
  });
}

function tagsText(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

export async function jobsPage(client: PunctualClient, filters: JobFilters): Promise<Html> {
  const filter = clientFilter(filters);
  const [listed, deployment] = await Promise.all([client.listJobs(filter), client.deployment()]);
  const shown = pageFilter(listed, filters);
  const filtered = Object.keys(filter).length > 0 || shown.length < listed.length;
  const pools = Object.keys(deployment.pools).sort();
  const overdue = shown.filter((job) => job.overdueMs !== null).length;
  const invalid = shown.filter((job) => job.invalid !== null).length;
  const option = (value: string, current: string | undefined, label = value) =>
    html`<option value="${value}"${new Html(value === (current ?? '') ? ' selected' : '')}>${label}</option>`;
  const rows = shown.map((job) => {
    const state = job.invalid
      ? html`<span class="badge fate-failed" title="${job.invalid}">invalid</span>`
      : job.enabled
        ? html`<span class="badge fate-succeeded">active</span>`
        : html`<span class="badge fate-skipped">paused</span> <span class="note">${job.note ?? ''}</span>`;
    return html`<tr data-job="${job.id}">
  <td><a href="${jobHref(job.id)}">${job.id}</a>${Object.keys(job.tags).length ? html` <span class="muted tags">${tagsText(job.tags)}</span>` : ''}</td>
  <td>${job.scheduleText ?? job.schedule ?? '—'}${job.timezone && job.timezone !== 'UTC' ? html` <span class="muted">${job.timezone}</span>` : ''}</td>
  <td>${job.pool ?? 'default'}</td>
  <td>${state}${job.overdueMs !== null ? html` <span class="badge fate-failed" title="next slot passed ${ms(job.overdueMs)} ago">overdue</span>` : ''}</td>
  <td>${when(job.upcomingAt)}${job.upcomingAt && slotSent(job, job.upcomingAt) ? html` <span class="muted">sent</span>` : ''}</td>
  <td>${job.lastOutcome ? html`<a href="${runHref(job.lastOutcome.runId)}">${badge(job.lastOutcome.status, job.lastOutcome.reason)}</a> <span class="muted">${when(job.lastOutcome.at)}</span>` : html`<span class="muted">none yet</span>`}</td>
  <td class="num">${ms(job.lastOutcome?.startLagMs)}</td>
  <td class="num">${job.consecutiveFailures || ''}</td>
</tr>`;
  });
  const attention = [overdue ? `${overdue} overdue` : '', invalid ? `${invalid} invalid` : ''].filter(
    Boolean,
  );
  return html`<h1>Jobs <span class="muted">${filtered ? `${shown.length} matching` : String(shown.length)}</span></h1>
${attention.length ? html`<p class="flash error">Needs attention: ${attention.join(', ')} job(s) shown (<a href="/health">health</a>)</p>` : ''}
<form class="filters" method="get" action="/">
  <input type="search" name="q" placeholder="job id contains…" value="${filters.q ?? ''}" aria-label="search by id">
  <input type="text" name="tag" placeholder="tags: team=payments" value="${filters.tag ?? ''}" aria-label="tags">
  <select name="pool" aria-label="pool">${option('', filters.pool, 'any pool')}${pools.map((pool) => option(pool, filters.pool))}</select>
  <select name="status" aria-label="last outcome">${option('', filters.status, 'any outcome')}${JOB_STATUS_FILTERS.map((s) => option(s, filters.status, s === 'none' ? 'no outcome yet' : s))}</select>
  <select name="paused" aria-label="paused">${option('', filters.paused, 'paused or not')}${option('paused', filters.paused)}${option('active', filters.paused)}</select>
  <label><input type="checkbox" name="overdue" value="1"${new Html(filters.overdue ? ' checked' : '')}> overdue</label>
  <button type="submit">Filter</button>
</form>
<table class="jobs">
<thead><tr><th>job</th><th>schedule</th><th>pool</th><th>state</th><th>next slot</th><th>last outcome</th><th>start lag</th><th>failures</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="8" class="muted">no job matches</td></tr>`}</tbody>
</table>`;
}

// ── A job ──────────────────────────────────────────────────────────────────────────────────────────

/** How many parts of a window a job page reads side by side (each a Query paged on its own). */
export const WINDOW_SEGMENTS = 4;

/**
 * Every run of a job in [from, to), at most `max`, in slot order. The window is cut into WINDOW_SEGMENTS
 * equal spans read side by side (a Query's pages follow each other, so one span would read 10 pages of
 * 1,000 one after the other); the read capacity is the same, the wait about a quarter. A span stops once
 * it alone holds `max`; the runs past `max` in slot order are dropped and the result says so.
 */
export async function windowRuns(
  client: PunctualClient,
  jobId: string,
  from: number,
  to: number,
  max = MAX_WINDOW_RUNS,
  segments = WINDOW_SEGMENTS,
): Promise<{ runs: Run[]; truncated: boolean }> {
  const step = Math.ceil((to - from) / segments);
  const bounds = Array.from({ length: segments }, (_, i) => [
    from + i * step,
    Math.min(to, from + (i + 1) * step),
  ]).filter(([start, end]) => (start as number) < (end as number)) as [number, number][];
  const parts = await Promise.all(
    bounds.map(async ([start, end]) => {
      const runs: Run[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listJobRuns(jobId, {
          from: start,
          to: end,
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        });
        runs.push(...page.runs);
        cursor = page.cursor ?? undefined;
      } while (cursor && runs.length < max);
      return { runs, more: Boolean(cursor) };
    }),
  );
  const runs: Run[] = [];
  let truncated = false;
  for (const part of parts) {
    runs.push(...part.runs);
    if (part.more || runs.length > max) {
      truncated = true;
      break;
    }
  }
  return { runs: runs.slice(0, max), truncated };
}

function cellTitle(cell: Cell): string {
  if (cell.counts) {
    const parts = FATES.filter((fate) => cell.counts?.[fate]).map((fate) => `${cell.counts?.[fate]} ${fate}`);
    return `${when(cell.at)} and the next ${cell.slots - 1} slots: ${parts.join(', ')}`;
  }
  const run = cell.run;
  if (!run)
    return `${when(cell.at)}: ${cell.calendar ? `upcoming, excluded by calendar ${cell.calendar}` : FATE_TEXT[cell.fate]}`;
  const extra = [
    run.manual ? 'manual trigger' : '',
    run.calendar ? `calendar ${run.calendar}` : '',
    run.startLagMs !== null ? `start lag ${ms(run.startLagMs)}` : '',
    run.durationMs !== null ? `duration ${ms(run.durationMs)}` : '',
    run.attempt > 1 ? `${run.attempt} attempts` : '',
    run.replays ? `replayed ${run.replays}×` : '',
    run.lastError ? `error: ${run.lastError}` : '',
  ].filter(Boolean);
  return `${when(cell.at)}: ${outcome(run.status, run.reason)}${extra.length ? ` · ${extra.join(' · ')}` : ''}`;
}

function timelineHtml(timeline: Timeline): Html {
  const cells = timeline.cells.map((cell) => {
    const title = cellTitle(cell);
    const attrs = html`class="cell fate-${cell.fate}" data-fate="${cell.fate}" data-at="${cell.at}" data-reason="${cell.run?.reason ?? ''}" title="${title}"`;
    return cell.run
      ? html`<a ${attrs} href="${runHref(cell.run.runId)}" data-run="${cell.run.runId}"></a>`
      : html`<span ${attrs}></span>`;
  });
  const legend = FATES.filter((fate) => timeline.totals[fate]).map(
    (fate) =>
      html`<span class="legend-item"><span class="cell fate-${fate}"></span> ${FATE_TEXT[fate]}: <b data-total="${fate}">${timeline.totals[fate]}</b></span>`,
  );
  return html`<div class="timeline" role="list" aria-label="slot timeline">${cells}</div>
<p class="cell-detail muted" id="cell-detail">${timeline.bucket > 1 ? `one cell per ${timeline.bucket} slots; ` : ''}hover a cell to see its slot, click it to open the run</p>
<p class="legend">${legend}</p>`;
}

export interface JobPageOptions {
  window: WindowName;
  now: number;
  allowActions: boolean;
}

export async function jobPage(client: PunctualClient, id: string, options: JobPageOptions): Promise<Html> {
  const span = WINDOWS[options.window];
  const from = options.now - span;
  const to = options.now + Math.round(span / 12);
  const [detail, window, slots] = await Promise.all([
    client.getJob(id),
    windowRuns(client, id, from, to),
    client.jobSlots(id, { from, to, limit: MAX_WINDOW_SLOTS }),
  ]);
  const timeline = buildTimeline(slots.slots, window.runs, options.now, MAX_CELLS, slots.excluded);
  const ended = window.runs.filter((run) => run.startLagMs !== null);
  const series = {
    at: ended.map((run) => Date.parse(run.scheduledAt) / 1000),
    lag: ended.map((run) => (run.startLagMs ?? 0) / 1000),
    duration: ended.map((run) => (run.durationMs === null ? null : run.durationMs / 1000)),
  };
  const tabs = (Object.keys(WINDOWS) as WindowName[]).map(
    (name) =>
      html`<a href="${jobHref(id)}?window=${name}" class="${name === options.window ? 'current' : ''}">last ${name}</a>`,
  );
  const replayable = window.runs.filter((run) => run.status === 'failed' || run.status === 'missed');
  return html`<h1>${detail.id} ${stateBadge(detail)}</h1>
<p class="muted">${detail.scheduleText ?? detail.schedule ?? ''}${detail.timezone ? ` · ${detail.timezone}` : ''} · pool ${detail.pool ?? 'default'} · target ${detail.targetType ?? '—'}${detail.exclude.length ? html` · excludes ${joinHtml(detail.exclude.map(calendarLink))}` : ''}${detail.state.runsStarted !== null ? html` · <span data-runs-started>runs started ${detail.state.runsStarted} of maxRuns ${String(detail.definition?.maxRuns ?? '?')}</span>` : ''}${detail.state.previous ? html` · <span data-previous>previous run (handed to the next): <a href="${runHref(detail.state.previous.runId)}">${detail.state.previous.runId}</a> ${detail.state.previous.status}${detail.state.previous.reason && detail.state.previous.reason !== 'ok' ? `(${detail.state.previous.reason})` : ''}</span>` : ''}</p>
${detail.enabled ? '' : html`<p class="flash warn" data-pause-note>Paused${detail.state.pausedAt ? ` since ${when(detail.state.pausedAt)}` : ''}: ${detail.note ?? 'no note'}</p>`}
${detail.invalid ? html`<p class="flash error">Invalid: ${detail.invalid}</p>` : ''}
${options.allowActions ? jobActions(detail, from, Math.min(to, options.now), replayable) : ''}
<section>
<h2>Slot timeline <span class="tabs">${tabs}</span></h2>
<p class="muted">${when(new Date(from).toISOString())} → ${when(new Date(to).toISOString())} · ${slots.slots.length} slots of the schedule${slots.truncated ? ' (the first ones)' : ''}, ${window.runs.length} runs${window.truncated ? ` (the first ${window.runs.length})` : ''}</p>
${timelineHtml(timeline)}
</section>
<section class="charts">
<div><h2>Start lag (s)</h2><div id="lag-chart" class="chart"></div></div>
<div><h2>Duration (s)</h2><div id="duration-chart" class="chart"></div></div>
${jsonScript('chart-data', series)}
${ended.length ? '' : html`<p class="muted">no run started in this window</p>`}
</section>
<section class="columns">
<div><h2>Next slots</h2>${detail.nextSlots.length ? html`<ol class="slots">${detail.nextSlots.map((slot) => html`<li>${when(slot)}${slotSent(detail, slot) ? html` <span class="muted">sent</span>` : ''}${detail.excludedSlots[slot] ? html` <span class="badge fate-excluded" data-excluded="${detail.excludedSlots[slot]}">excluded: ${calendarLink(detail.excludedSlots[slot])}</span>` : ''}</li>`)}</ol>` : html`<p class="muted">none${detail.enabled ? '' : ' while paused'}</p>`}</div>
<div><h2>Runs by status</h2>${countsTable(detail.counts)}</div>
</section>
<section>
<h2>Last runs</h2>
${runsTable(detail.lastRuns)}
</section>
<section>
<h2>Definition</h2>
<pre class="definition">${JSON.stringify(detail.definition, null, 2)}</pre>
<p class="muted">version ${detail.state.version} · anchor ${when(detail.state.anchor)} · cursor ${when(detail.state.cursor)} · updated ${when(detail.state.updatedAt)}</p>
</section>`;
}

function stateBadge(job: Job): Html {
  if (job.invalid) return html`<span class="badge fate-failed">invalid</span>`;
  return job.enabled
    ? html`<span class="badge fate-succeeded">active</span>`
    : html`<span class="badge fate-skipped">paused</span>`;
}

function countsTable(counts: Record<string, number>): Html {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  if (!entries.length) return html`<p class="muted">no runs yet</p>`;
  return html`<table class="compact">${entries.map(([status, n]) => html`<tr><td>${badge(status)}</td><td class="num">${n}</td></tr>`)}</table>`;
}

export function runsTable(runs: readonly Run[]): Html {
  if (!runs.length) return html`<p class="muted">no runs</p>`;
  return html`<table class="runs">
<thead><tr><th>run</th><th>status</th><th>attempt</th><th>start lag</th><th>duration</th><th>error</th></tr></thead>
<tbody>${runs.map(
    (run) => html`<tr>
  <td><a href="${runHref(run.runId)}">${run.runId}</a></td>
  <td>${badge(run.status, run.reason)}</td>
  <td class="num">${run.attempts.length ? run.attempt : '—'}</td>
  <td class="num">${ms(run.startLagMs)}</td>
  <td class="num">${ms(run.durationMs)}</td>
  <td class="error">${run.lastError ?? ''}</td>
</tr>`,
  )}</tbody></table>`;
}

function jobActions(job: JobDetail, from: number, to: number, replayable: readonly Run[]): Html {
  const failed = replayable.filter((run) => run.status === 'failed').length;
  const missed = replayable.length - failed;
  const base = jobHref(job.id);
  return html`<section class="actions">
<form method="post" action="${base}/trigger"><button type="submit">Trigger now</button></form>
${
  job.enabled
    ? html`<form method="post" action="${base}/pause"><input name="note" placeholder="why (shown in jobs list)" aria-label="pause note" required><button type="submit">Pause</button></form>`
    : html`<form method="post" action="${base}/resume"><label><input type="checkbox" name="replay" value="1"> replay the slots that passed while paused</label><button type="submit">Resume</button></form>`
}
<form method="post" action="${base}/bulk-replay" class="bulk">
  <input type="hidden" name="from" value="${new Date(from).toISOString()}">
  <input type="hidden" name="to" value="${new Date(to).toISOString()}">
  <label><input type="checkbox" name="status" value="failed" checked> failed (${failed})</label>
  <label><input type="checkbox" name="status" value="missed"> missed (${missed})</label>
  <label><input type="checkbox" name="backfill" value="1"> also run the slots with no record (backfill)</label>
  <button type="submit">Replay runs of this window</button>
</form>
</section>`;
}

// ── A run ──────────────────────────────────────────────────────────────────────────────────────────

const REPLAYABLE = new Set(['missed', 'skipped', 'failed', 'cancelled']);

export async function runPage(client: PunctualClient, runId: string, allowActions: boolean): Promise<Html> {
  const run = await client.getRun(runId);
  const facts: [string, unknown][] = [
    ['job', html`<a href="${jobHref(run.jobId)}">${run.jobId}</a>`],
    ['slot', when(run.scheduledAt)],
    ['status', badge(run.status, run.reason)],
    ['kind', run.manual ? 'manual trigger' : run.backfill ? 'backfill' : 'scheduled'],
    ['target', `${run.targetType ?? '—'} · pool ${run.pool ?? '—'}`],
    ['dispatched', when(run.dispatchedAt)],
    ['started', when(run.startedAt)],
    ['finished', when(run.finishedAt)],
    ['start lag', ms(run.startLagMs)],
    ['duration (last attempt)', ms(run.durationMs)],
    [
      'attempts',
      `${run.attempts.length}${run.maxAttempts ? ` (up to ${run.maxAttempts} per dispatch or replay)` : ''}`,
    ],
    ['replays', run.replays],
    ['last error', run.lastError ?? '—'],
  ];
  if (run.lastHeartbeatAt || run.heartbeatDeadline || run.runDeadline) {
    facts.push(['last heartbeat', when(run.lastHeartbeatAt)]);
    facts.push(['heartbeat deadline', when(run.heartbeatDeadline)]);
    facts.push(['run deadline', when(run.runDeadline)]);
  }
  // Overlap replace: the later slot's run that stopped this one (a link to it).
  if (run.replacedBy)
    facts.push(['replaced by', html`<a href="${runHref(run.replacedBy)}">${run.replacedBy}</a>`]);
  const late = run.attempts.flatMap((attempt) =>
    attempt.lateReports.map((report) => ({ attempt: attempt.attempt, ...report })),
  );
  return html`<h1 class="run-id">${run.runId}</h1>
${allowActions && REPLAYABLE.has(run.status) ? html`<form method="post" action="${runHref(run.runId)}/replay" class="actions"><button type="submit">Replay this run</button></form>` : ''}
<table class="facts">${facts.map(([key, value]) => html`<tr><th>${key}</th><td>${value}</td></tr>`)}</table>
<h2>Attempts and replays</h2>
<p class="muted">Each dispatch and each replay adds attempts; a replay keeps the run id and its history.</p>
${
  run.attempts.length
    ? html`<table class="attempts"><thead><tr><th>#</th><th>status</th><th>started</th><th>finished</th><th>duration</th><th>error</th></tr></thead>
<tbody>${run.attempts.map(
        (attempt) =>
          html`<tr data-attempt="${attempt.attempt}"><td>${attempt.attempt}</td><td>${badge(attempt.status)}</td><td>${when(attempt.startedAt)}</td><td>${when(attempt.finishedAt)}</td><td class="num">${ms(attempt.durationMs)}</td><td class="error">${attempt.error ?? ''}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">none yet</p>`
}
${late.length ? html`<h2>Late reports</h2><table><thead><tr><th>attempt</th><th>type</th><th>at</th><th>error</th></tr></thead><tbody>${late.map((report) => html`<tr><td>${report.attempt}</td><td>${report.type}</td><td>${when(report.at)}</td><td>${report.error ?? ''}</td></tr>`)}</tbody></table>` : ''}
${run.output !== null ? html`<h2>Output</h2><pre>${JSON.stringify(run.output, null, 2)}</pre>` : ''}`;
}

// ── DLQ ────────────────────────────────────────────────────────────────────────────────────────────

export async function dlqPage(client: PunctualClient, allowActions: boolean): Promise<Html> {
  const [entries, deployment] = await Promise.all([client.listDlq({ limit: 100 }), client.deployment()]);
  const byPool = new Map<string, DlqEntry[]>();
  for (const pool of Object.keys(deployment.pools).sort()) byPool.set(pool, []);
  for (const entry of entries) byPool.get(entry.pool)?.push(entry);
  return html`<h1>Dead-letter queues</h1>
<p class="muted">Messages are read and left in place (each is hidden for an instant, then visible again).</p>
${[...byPool].map(
  ([pool, list]) => html`<section data-pool="${pool}">
<h2>pool ${pool} <span class="muted">${list.length} message(s)</span></h2>
${
  allowActions && list.length
    ? html`<form method="post" action="/dlq/redrive" class="actions"><input type="hidden" name="pool" value="${pool}"><button type="submit">Redrive pool ${pool}</button></form>
<form method="post" action="/dlq/purge" class="actions purge"><input type="hidden" name="pool" value="${pool}">
<select name="job" aria-label="purge which job's messages">${html`<option value="">every message</option>`}${[...new Set(list.map((entry) => entry.jobId).filter((id): id is string => Boolean(id)))].sort().map((id) => html`<option value="${id}">job ${id}'s</option>`)}</select>
<label><input type="checkbox" name="confirm" value="1" required> their runs stay failed and can no longer be redriven</label>
<button type="submit">Purge pool ${pool}</button></form>`
    : ''
}
${
  list.length
    ? html`<table class="dlq"><thead><tr><th>run</th><th>job</th><th>attempts</th><th>failed</th><th>error</th><th>receives</th></tr></thead><tbody>${list.map(
        (entry) =>
          html`<tr><td>${entry.runId ? html`<a href="${runHref(entry.runId)}">${entry.runId}</a>` : html`<span class="badge fate-failed">poison</span> ${entry.messageId}`}</td><td>${entry.jobId ? html`<a href="${jobHref(entry.jobId)}">${entry.jobId}</a>` : '—'}</td><td class="num">${entry.attempts ?? '—'}</td><td>${when(entry.failedAt)}</td><td class="error">${entry.lastError ?? ''}</td><td class="num">${entry.receiveCount}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">empty</p>`
}
</section>`,
)}`;
}

// ── Health ─────────────────────────────────────────────────────────────────────────────────────────

const ALARM_FATE: Record<string, string> = {
  OK: 'fate-succeeded',
  ALARM: 'fate-failed',
  INSUFFICIENT_DATA: 'fate-upcoming',
};

/** A stack's CloudWatch alarms, those in ALARM first; nothing for a deployment without alarms to read. */
function alarmsSection(alarms: StatusReport['alarms']): Html | string {
  if (!alarms) return '';
  if (alarms.error) return html`<h2>Alarms</h2><p class="error" data-alarms-error>${alarms.error}</p>`;
  if (!alarms.list.length) return html`<h2>Alarms</h2><p class="muted">none notify ${alarms.topicArn}</p>`;
  const order = (state: string) => (state === 'ALARM' ? 0 : state === 'INSUFFICIENT_DATA' ? 1 : 2);
  const list = [...alarms.list].sort(
    (a, b) => order(a.state) - order(b.state) || a.name.localeCompare(b.name),
  );
  return html`<h2>Alarms</h2>
<table class="alarms"><thead><tr><th>alarm</th><th>state</th><th>since</th><th>reason</th></tr></thead>
<tbody>${list.map((alarm) => html`<tr data-alarm="${alarm.name}" data-state="${alarm.state}"><td>${alarm.name}</td><td><span class="badge ${ALARM_FATE[alarm.state] ?? ''}">${alarm.state}</span></td><td>${when(alarm.since)}</td><td class="error">${alarm.state === 'OK' ? '' : alarm.reason}</td></tr>`)}</tbody></table>`;
}

export async function healthPage(client: PunctualClient): Promise<Html> {
  const report: StatusReport = await client.status();
  const hb = report.heartbeat;
  return html`<h1>Health <span class="badge ${report.healthy ? 'fate-succeeded' : 'fate-failed'}" data-healthy="${String(report.healthy)}">${report.healthy ? 'healthy' : 'needs attention'}</span></h1>
<p class="muted">${report.target} · checked ${when(report.checkedAt)}</p>
${report.problems.length ? html`<ul class="problems">${report.problems.map((problem) => html`<li>${problem}</li>`)}</ul>` : ''}
<section class="columns">
<div><h2>Tick</h2><table class="facts">
<tr><th>last tick</th><td>${when(hb.lastTickAt)}${hb.ageMs !== null ? ` (${ms(hb.ageMs)} ago)` : ''}${hb.stale ? html` <span class="badge fate-failed">stale</span>` : ''}</td></tr>
<tr><th>interval</th><td>${ms(hb.tickMs)}</td></tr>
<tr><th>written by</th><td>${hb.source ?? '—'}</td></tr>
<tr><th>shard groups</th><td>${hb.groups}${hb.stoppedGroups.length ? html` <span class="badge fate-failed">stopped: ${hb.stoppedGroups.join(', ')}</span>` : ''}</td></tr>
</table></div>
<div><h2>Jobs</h2><table class="facts">
<tr><th>total</th><td>${report.jobs.total}</td></tr>
<tr><th>paused</th><td>${report.jobs.paused}</td></tr>
<tr><th>overdue</th><td>${report.jobs.overdue}</td></tr>
<tr><th>invalid</th><td>${report.jobs.invalid}</td></tr>
</table></div>
<div><h2>Runs, slots of the last hour</h2>${countsTable(report.runsLastHour)}</div>
</section>
${alarmsSection(report.alarms)}
${report.overdueJobs.length ? html`<h2>Overdue</h2><table><thead><tr><th>job</th><th>next slot</th><th>overdue by</th></tr></thead><tbody>${report.overdueJobs.map((job) => html`<tr><td><a href="${jobHref(job.id)}">${job.id}</a></td><td>${when(job.nextRunAt)}</td><td>${ms(job.overdueMs)}</td></tr>`)}</tbody></table>` : ''}
${report.invalidJobs.length ? html`<h2>Invalid</h2><table><tbody>${report.invalidJobs.map((job) => html`<tr><td><a href="${jobHref(job.id)}">${job.id}</a></td><td class="error">${job.error}</td></tr>`)}</tbody></table>` : ''}
<h2>Queues</h2>
<table class="queues"><thead><tr><th>pool</th><th>queued</th><th>in flight</th><th>delayed</th><th>DLQ</th></tr></thead>
<tbody>${Object.entries(report.queues).map(([pool, depth]) => html`<tr><td>${pool}</td><td class="num">${depth.queued}</td><td class="num">${depth.inFlight}</td><td class="num">${depth.delayed}</td><td class="num">${depth.dlq ? html`<a href="/dlq">${depth.dlq}</a>` : 0}</td></tr>`)}</tbody></table>`;
}

// ── Calendars ──────────────────────────────────────────────────────────────────────────────────────

export function calendarHref(name: string): string {
  return `/calendars#${encodeURIComponent(name)}`;
}

function calendarLink(name: string): Html {
  return html`<a href="${calendarHref(name)}">${name}</a>`;
}

function joinHtml(parts: readonly Html[], separator = ', '): Html {
  return new Html(parts.map((part) => part.toString()).join(separator));
}

/**
 * Every exclusion calendar (`listCalendars`): its zone, dates, ranges and expressions, and the jobs that
 * exclude it (`listJobs`); a job naming a calendar that does not exist is listed apart, since the tick
 * marks it invalid.
 */
export async function calendarsPage(client: PunctualClient): Promise<Html> {
  const [calendars, jobs] = await Promise.all([client.listCalendars(), client.listJobs()]);
  const users = new Map<string, string[]>();
  for (const job of jobs)
    for (const name of job.exclude) users.set(name, [...(users.get(name) ?? []), job.id]);
  const known = new Set(calendars.map((calendar) => calendar.name));
  const missing = [...users.entries()].filter(([name]) => !known.has(name));
  const list = (items: readonly string[] | undefined) =>
    items?.length
      ? html`<ul class="compact">${items.map((item) => html`<li><code>${item}</code></li>`)}</ul>`
      : '—';
  const jobLinks = (ids: readonly string[] | undefined) =>
    ids?.length
      ? joinHtml(ids.map((id) => html`<a href="${jobHref(id)}">${id}</a>`))
      : html`<span class="muted">none</span>`;
  return html`<h1>Calendars</h1>
<p class="muted">A slot a job's calendar excludes is recorded skipped(calendar) with the calendar's name, never run; an edit applies from the next unclaimed slot.</p>
${
  missing.length
    ? html`<p class="flash error">Excluded but not defined (the tick marks these jobs invalid): ${joinHtml(
        missing.map(([name, ids]) => html`<code>${name}</code> by ${jobLinks(ids)}`),
        '; ',
      )}</p>`
    : ''
}
${
  calendars.length
    ? html`<table class="calendars"><thead><tr><th>calendar</th><th>zone</th><th>dates</th><th>ranges</th><th>expressions</th><th>excluded by</th></tr></thead><tbody>${calendars.map(
        (calendar) =>
          html`<tr id="${calendar.name}" data-calendar="${calendar.name}"><td><b>${calendar.name}</b>${calendar.description ? html`<br><span class="muted">${calendar.description}</span>` : ''}</td><td>${calendar.timezone}</td><td>${list(calendar.dates)}</td><td>${list(calendar.ranges?.map((range) => `${range.from} → ${range.to}`))}</td><td>${list(calendar.cron)}</td><td data-users>${jobLinks(users.get(calendar.name))}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">no calendars (define them under <code>calendars:</code> in a jobs file, or <code>punctual calendars put</code>)</p>`
}`;
}
