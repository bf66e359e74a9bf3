/**
 * Turning zod issues into `Violation`s that read like the rest of punctual: `path "value": rule`, in plain
 * words (`is required`, `must be one of skip, latest, all`) rather than zod's defaults.
 */
import type { z } from 'zod';
import type { Violation } from '../errors.js';

export type PathSegment = PropertyKey;

/** `jobs[2].target.url` from a prefix (`jobs[2]`, or '') and path segments. */
export function joinPath(prefix: string, segments: readonly PathSegment[]): string {
  let path = prefix;
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z_$][\w$-]*$/.test(key)) path += path === '' ? key : `.${key}`;
      else path += `[${JSON.stringify(key)}]`;
    }
  }
  return path;
}

/** The segments of a path `joinPath` wrote (`jobs[2].target.url`, `pools["my pool"]`); undefined for any other text. */
export function splitPath(path: string): PathSegment[] | undefined {
  const segments: PathSegment[] = [];
  const part = /(?:^|\.)([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  while (part.lastIndex < path.length) {
    const at = part.lastIndex;
    const m = part.exec(path);
    if (!m || m.index !== at) return undefined;
    if (m[1] !== undefined) segments.push(m[1]);
    else if (m[2] !== undefined) segments.push(Number(m[2]));
    else segments.push(JSON.parse(m[3] as string) as string);
  }
  return segments;
}

/** The value found at `segments` inside `root`, or undefined when there is none. */
export function valueAt(root: unknown, segments: readonly PathSegment[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number') return Number.isFinite(value) ? 'a number' : String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'a list',
};

type RawIssue = z.core.$ZodRawIssue;

/**
 * A zod error map (passed per parse, so schema-level messages still win) that writes every built-in issue
 * in plain words, and notes the fields an object knows for the unknown-key messages.
 */
export function errorMap(knownKeys: Map<string, string[]>) {
  return (issue: RawIssue): string => {
    switch (issue.code) {
      case 'invalid_type': {
        if (issue.input === undefined || issue.expected === 'nonoptional') return 'is required';
        if (issue.expected === 'int' && typeof issue.input === 'number') return 'must be a whole number';
        const expected = EXPECTED[issue.expected] ?? `a ${issue.expected}`;
        return `must be ${expected}, not ${describe(issue.input)}`;
      }
      case 'invalid_value': {
        const values = issue.values.map(String);
        return values.length === 1 ? `must be ${values[0]}` : `must be one of ${values.join(', ')}`;
      }
      case 'too_small': {
        const min = Number(issue.minimum);
        if (issue.origin === 'string') {
          return min <= 1 ? 'must not be empty' : `must be at least ${min} characters`;
        }
        if (issue.origin === 'array') return `must have at least ${min} item${min === 1 ? '' : 's'}`;
        return issue.inclusive === false ? `must be more than ${min}` : `must be at least ${min}`;
      }
      case 'too_big': {
        const max = Number(issue.maximum);
        if (issue.origin === 'string') {
          const length = typeof issue.input === 'string' ? ` (is ${issue.input.length})` : '';
          return `must be at most ${max} characters${length}`;
        }
        if (issue.origin === 'array') return `must have at most ${max} items`;
        return issue.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
      }
      case 'unrecognized_keys': {
        const shape = (issue.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def?.shape;
        if (shape) knownKeys.set(joinPath('', issue.path ?? []), Object.keys(shape));
        return 'is not a known field';
      }
      case 'invalid_format':
        return `must be a valid ${issue.format}`;
      case 'invalid_union':
        return 'does not match any of the allowed forms';
      default:
        return 'is not valid';
    }
  };
}

/** Normalized for comparing keys: `catch_up`, `CatchUp` and `catchup` all become `catchup`. */
function squash(key: string): string {
  return key.toLowerCase().replace(/[-_\s]/g, '');
}

/** Edit distance counting a swap of two neighbours as one edit (`jbos` is one from `jobs`). */
function distance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] ?? [];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** `is not a known field (did you mean "schedule"?)`, or the list of known fields when nothing is close. */
export function unknownKeyMessage(key: string, known: readonly string[] | undefined): string {
  if (!known || known.length === 0) return 'is not a known field';
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = distance(squash(key), squash(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.min(2, Math.floor(key.length / 3)))) {
    return `is not a known field (did you mean "${best}"?)`;
  }
  // `attempts` for `maxAttempts`, `timeoutSeconds` for `timeout`.
  const containing = known.filter(
    (k) =>
      Math.min(k.length, key.length) >= 4 &&
      (squash(k).includes(squash(key)) || squash(key).includes(squash(k))),
  );
  if (containing.length === 1) return `is not a known field (did you mean "${containing[0]}"?)`;
  return `is not a known field; known fields: ${known.join(', ')}`;
}

/** A value as a violation shows it: what JSON cannot write (a function, a symbol) is named instead. */
function shown(value: unknown): unknown {
  if (typeof value === 'function') return '[function]';
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'bigint') return `${value}n`;
  return value;
}

/**
 * Violations from the issues of one `safeParse` of `root`: one per issue, and one per key for unknown
 * keys, each with the value found in the input at its path.
 */
export function toViolations(
  issues: readonly z.core.$ZodIssue[],
  root: unknown,
  prefix: string,
  knownKeys: Map<string, string[]>,
): Violation[] {
  const violations: Violation[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys.get(joinPath('', issue.path));
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        violations.push({
          path: joinPath(prefix, path),
          value: shown(valueAt(root, path)),
          message: unknownKeyMessage(key, known),
        });
      }
    } else {
      violations.push({
        path: joinPath(prefix, issue.path),
        value: shown(valueAt(root, issue.path)),
        message: issue.message,
      });
    }
  }
  return violations;
}
