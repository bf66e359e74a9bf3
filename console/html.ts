/** HTML helpers of the console: escaping (every value from the table is text) and the page layout. */

/** A string of HTML that is safe to insert as is. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A template tag: interpolated values are escaped unless they are `Html` (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(value);
}

/** JSON for a `<script type="application/json">` block: `<` escaped so no value can close the tag. */
export function jsonScript(id: string, value: unknown): Html {
  const json = JSON.stringify(value).replaceAll('<', '\\u003c');
  return new Html(`<script type="application/json" id="${escapeHtml(id)}">${json}</script>`);
}

export interface LayoutOptions {
  title: string;
  /** The deployment the console shows (`local runtime (…)`, `stack Punctual (eu-west-1)`). */
  target: string;
  allowActions: boolean;
  /** Which nav entry is current. */
  section: 'jobs' | 'calendars' | 'dlq' | 'health';
  /** A message shown above the page (an action's result). */
  flash?: { ok: boolean; text: string } | undefined;
  /** Include uPlot and the charts. */
  charts?: boolean;
  /** What rendering the page cost: DynamoDB read capacity units and milliseconds. */
  cost?: { rcu: number; ms: number };
}

export function layout(options: LayoutOptions, body: Html): Html {
  const nav = (section: LayoutOptions['section'], href: string, label: string) =>
    html`<a href="${href}" class="${section === options.section ? 'current' : ''}">${label}</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · punctual console</title>
<link rel="stylesheet" href="/assets/console.css">
${options.charts ? new Html('<link rel="stylesheet" href="/assets/uPlot.min.css">') : ''}
</head>
<body>
<header>
  <strong class="brand">punctual</strong>
  <nav>${nav('jobs', '/', 'Jobs')}${nav('calendars', '/calendars', 'Calendars')}${nav('dlq', '/dlq', 'DLQ')}${nav('health', '/health', 'Health')}</nav>
  <span class="target" title="the deployment this console reads">${options.target}</span>
  <span class="mode ${options.allowActions ? 'actions' : 'read-only'}">${options.allowActions ? 'actions allowed' : 'read-only'}</span>
</header>
<main>
${options.flash ? html`<p class="flash ${options.flash.ok ? 'ok' : 'error'}" role="status">${options.flash.text}</p>` : ''}
${body}
</main>
${options.cost ? html`<footer class="muted" id="page-cost">this page: ${options.cost.rcu.toFixed(1)} DynamoDB read capacity units (RCU), rendered in ${Math.round(options.cost.ms)} ms</footer>` : ''}
${options.charts ? new Html('<script src="/assets/uPlot.iife.min.js"></script>') : ''}
<script src="/assets/console.js"></script>
</body>
</html>
`;
}

/** `2026-12-01 09:00:00Z` from an ISO time; `—` for none. */
export function when(isoTime: string | null | undefined): string {
  if (!isoTime) return '—';
  return `${isoTime.slice(0, 10)} ${isoTime.slice(11, 19)}Z`;
}

/** `1.2 s`, `340 ms`, `3 min`; `—` for none. */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const abs = Math.abs(value);
  if (abs < 1000) return `${Math.round(value)} ms`;
  if (abs < 60_000) return `${(value / 1000).toFixed(1)} s`;
  if (abs < 3_600_000) return `${(value / 60_000).toFixed(1)} min`;
  return `${(value / 3_600_000).toFixed(1)} h`;
}
