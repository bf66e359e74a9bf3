/**
 * Output for people and for scripts: aligned tables, colours (off unless stdout is a terminal, and off
 * whenever NO_COLOR is set — https://no-color.org), `--json`, times and durations in short words.
 * Commands write through an `Io` so tests can capture what they print.
 */
import { roughDuration } from '../shared/jobs/duration.js';
import { shortTime } from '../shared/util.js';

export { roughDuration, shortTime };

export interface Io {
  /** Results: the table or the JSON. */
  out(text: string): void;
  /** Progress, warnings and errors. */
  err(text: string): void;
  /** Whether stdout is a terminal (the live view of `dev` redraws only then). */
  isTTY: boolean;
  color: boolean;
  columns: number;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * Calls `fn` once when stdout or stderr can no longer be written (the reader of a pipe went away:
   * `punctual dev | head -3`, or `tee` ended by Ctrl-C). A long-running command stops on it.
   */
  onClosed?(fn: (stream: string) => void): void;
  /** All of stdin, as text (`--token -`). */
  readStdin?(): Promise<string>;
}

/** NO_COLOR counts when present and not empty (no-color.org); TERM=dumb has no colours either. */
export function colorWanted(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return isTTY && env.TERM !== 'dumb';
}

export function processIo(): Io {
  const isTTY = Boolean(process.stdout.isTTY);
  // A write to a pipe whose reader is gone fails with EPIPE, asynchronously, as an 'error' event. Unheard,
  // it becomes an uncaught exception whose report is written to the same closed pipe, and so on, at full
  // CPU: once a stream has closed, writes to it are dropped and whoever listens is told, once.
  const closed = new Set<string>();
  const listeners: ((stream: string) => void)[] = [];
  for (const [name, stream] of [
    ['stdout', process.stdout],
    ['stderr', process.stderr],
  ] as const) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (closed.has(name)) return;
      closed.add(name);
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') process.exitCode = 1;
      for (const fn of listeners.splice(0)) fn(name);
    });
  }
  const write = (name: string, stream: NodeJS.WriteStream, text: string) => {
    if (!closed.has(name) && !stream.destroyed) stream.write(text);
  };
  return {
    out: (text) => write('stdout', process.stdout, text),
    err: (text) => write('stderr', process.stderr, text),
    onClosed: (fn) => {
      if (closed.size > 0) fn([...closed][0] as string);
      else listeners.push(fn);
    },
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    isTTY,
    color: colorWanted(process.env, isTTY),
    columns: process.stdout.columns ?? 120,
    env: process.env,
    cwd: process.cwd(),
  };
}

export interface Palette {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;
const plain = (text: string) => text;

export function palette(enabled: boolean): Palette {
  if (!enabled) return { red: plain, green: plain, yellow: plain, cyan: plain, dim: plain, bold: plain };
  return {
    red: sgr(31, 39),
    green: sgr(32, 39),
    yellow: sgr(33, 39),
    cyan: sgr(36, 39),
    dim: sgr(2, 22),
    bold: sgr(1, 22),
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences is the point
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** The text without its colour escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** Width of a text on screen: escape sequences take none. */
export function visibleWidth(text: string): number {
  return [...stripAnsi(text)].length;
}

/** Cuts a plain text to `width` characters, ending in `…` when cut. */
export function truncate(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

export interface TableOptions {
  /** Columns (by index) to cut to this width, for free text such as errors. */
  maxWidth?: Record<number, number>;
  /** Columns aligned right (numbers). */
  right?: number[];
}

/** An aligned table: a header line, then one line per row; two spaces between columns; no trailing spaces. */
export function table(headers: string[], rows: string[][], options: TableOptions = {}): string {
  const cut = rows.map((row) =>
    row.map((cell, i) =>
      options.maxWidth?.[i] ? truncate(oneLine(cell), options.maxWidth[i]) : oneLine(cell),
    ),
  );
  const widths = headers.map((header, i) =>
    Math.max(visibleWidth(header), ...cut.map((row) => visibleWidth(row[i] ?? ''))),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleWidth(cell)));
        return options.right?.includes(i) ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...cut.map(line)].join('\n')}\n`;
}

/** `key  value` lines with the keys aligned. */
export function keyValues(pairs: [string, string][]): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return `${pairs.map(([key, value]) => `${key.padEnd(width)}  ${value}`.trimEnd()).join('\n')}\n`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** `in 4s` / `3m ago` / `now`, rounded to the largest unit that matters. */
export function relative(isoTime: string | undefined | null, now: number): string {
  if (!isoTime) return '';
  const ms = Date.parse(isoTime);
  if (Number.isNaN(ms)) return '';
  const delta = ms - now;
  if (Math.abs(delta) < 1000) return 'now';
  const text = roughDuration(Math.abs(delta));
  return delta > 0 ? `in ${text}` : `${text} ago`;
}

/** `120ms`, `1.4s`, `3m`: a lag or a run time for a table; `-` when unknown. */
export function lag(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '-';
  return roughDuration(ms);
}

const STATUS_COLOUR: Record<string, keyof Palette> = {
  succeeded: 'green',
  failed: 'red',
  missed: 'red',
  skipped: 'yellow',
  cancelled: 'yellow',
  retrying: 'yellow',
  running: 'cyan',
  dispatched: 'dim',
  queued: 'dim',
};

/** `missed(deadline)` in the status's colour. */
export function statusText(p: Palette, status: string | undefined, reason?: string | null): string {
  if (!status) return '-';
  const text = reason && reason !== 'ok' ? `${status}(${reason})` : status;
  const colour = STATUS_COLOUR[status];
  return colour ? p[colour](text) : text;
}
