/**
 * Durations as people write them in a jobs file (`30s`, `5m`, `1h30m`) and as the model keeps them
 * (milliseconds). `formatDuration` is the exact inverse: `parseDuration(formatDuration(ms)) === ms`.
 */
import { PunctualError } from '../errors.js';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
/** Largest first: the order the parts of a combined duration must be written in. */
const UNITS: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];

const HINT = 'use a number with a unit, e.g. 30s, 5m, 2h';
// `ms` before `m`, so that `500ms` is not read as 500 minutes followed by junk.
const PART = /(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)/y;

/** A text that is not a duration, or a number that is not a whole, non-negative count of milliseconds. */
export class InvalidDurationError extends PunctualError {
  constructor(
    readonly value: unknown,
    /** The rule broken, without the value: `is not a duration: use a number with a unit, …`. */
    readonly rule: string,
  ) {
    super(`${typeof value === 'number' ? String(value) : JSON.stringify(value)} ${rule}`);
    this.name = 'InvalidDurationError';
  }
}

/**
 * Milliseconds from `500ms`, `30s`, `5m`, `2h`, `1d` or a combination written largest unit first
 * (`1h30m`, `1m 30s`). A number, or a text of digits only, is taken as milliseconds.
 *
 * @example parseDuration('1h30m') // 5_400_000
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') return checkMillis(input, input);
  if (typeof input !== 'string') throw new InvalidDurationError(input, `is not a duration: ${HINT}`);
  const text = input.trim();
  if (/^\d+$/.test(text)) return checkMillis(Number(text), input);
  if (text === '') throw new InvalidDurationError(input, `is not a duration: ${HINT}`);

  let total = 0;
  let lastUnit = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (!match) throw new InvalidDurationError(input, `is not a duration: ${HINT}`);
    const unit = match[2] as Unit;
    const rank = UNITS.indexOf(unit);
    if (rank <= lastUnit) {
      throw new InvalidDurationError(input, 'is not a duration: write each unit once, largest first (1h30m)');
    }
    lastUnit = rank;
    total += Number(match[1]) * UNIT_MS[unit];
    // Allow one space between parts (`1h 30m`), nothing else.
    if (text[PART.lastIndex] === ' ') PART.lastIndex += 1;
  }
  // 1.5s is fine, 0.5ms is not: the model counts whole milliseconds. Rounding away float noise
  // (0.1h = 360000.00000000006) first.
  const rounded = Math.round(total * 1e6) / 1e6;
  if (!Number.isInteger(rounded)) {
    throw new InvalidDurationError(input, 'is not a whole number of milliseconds');
  }
  return checkMillis(rounded, input);
}

function checkMillis(ms: number, original: unknown): number {
  if (!Number.isFinite(ms)) throw new InvalidDurationError(original, `is not a duration: ${HINT}`);
  if (ms < 0) throw new InvalidDurationError(original, 'is negative: a duration must be 0 or more');
  if (!Number.isInteger(ms))
    throw new InvalidDurationError(original, 'is not a whole number of milliseconds');
  if (!Number.isSafeInteger(ms)) throw new InvalidDurationError(original, 'is too large for a duration');
  return ms;
}

/**
 * The shortest text for a number of milliseconds, largest unit first: `5m`, `1h30m`, `250ms`, `0s`.
 *
 * @example formatDuration(5_400_000) // '1h30m'
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  let text = '';
  for (const unit of UNITS) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * UNIT_MS[unit];
    }
  }
  return text;
}

/** A duration cut to its two largest units: `1h30m`, `2d3h`, `4.2s`, `350ms`. */
export function roughDuration(ms: number): string {
  if (ms < 0) return `-${roughDuration(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const seconds = Math.floor(ms / 1000);
  const values: [number, string][] = [
    [Math.floor(seconds / 86_400), 'd'],
    [Math.floor(seconds / 3600) % 24, 'h'],
    [Math.floor(seconds / 60) % 60, 'm'],
    [seconds % 60, 's'],
  ];
  const first = values.findIndex(([value]) => value > 0);
  const parts = values
    .slice(first, first + 2)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value}${unit}`);
  return parts.join('') || formatDuration(ms);
}
