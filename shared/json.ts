/**
 * Bounded looks at values that came from outside (a jobs file, a job passed to the client, a worker's
 * output, a queue message): their nesting is measured without recursion, so that a value nested 20,000
 * levels deep is refused by a rule instead of overflowing the stack in whatever walks it first
 * (`JSON.stringify`, zod, the YAML composer, the DynamoDB marshaller).
 */

/** A key or index on the way from a value's root to one of its parts. */
export type JsonPathSegment = string | number;

interface Frame {
  value: object;
  level: number;
  parent?: Frame;
  key?: JsonPathSegment;
}

function pathOf(frame: Frame): JsonPathSegment[] {
  const path: JsonPathSegment[] = [];
  for (let at: Frame | undefined = frame; at?.parent; at = at.parent) path.push(at.key as JsonPathSegment);
  return path.reverse();
}

/**
 * The path to the first array or object of `value` that sits deeper than `maxLevels` levels (an array
 * or object is one level, what it holds the next; a scalar none), or undefined when `value` stays within
 * them. Iterative and stopping at the first one too deep, so its cost is bounded by the value's size
 * whatever its depth, and a cyclic value is reported as too deep instead of followed forever.
 *
 * @example tooDeep({ a: [[1]] }, 2) // ['a', 0]: the inner list is the third level
 */
export function tooDeep(value: unknown, maxLevels: number): JsonPathSegment[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const stack: Frame[] = [{ value, level: 1 }];
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    if (frame.level > maxLevels) return pathOf(frame);
    const children: [JsonPathSegment, unknown][] = Array.isArray(frame.value)
      ? frame.value.map((child, index): [JsonPathSegment, unknown] => [index, child])
      : Object.entries(frame.value);
    // Pushed last to first, so the first too-deep part in document order is the one reported.
    for (let i = children.length - 1; i >= 0; i--) {
      const [key, child] = children[i] as [JsonPathSegment, unknown];
      if (child !== null && typeof child === 'object') {
        stack.push({ value: child, level: frame.level + 1, parent: frame, key });
      }
    }
  }
  return undefined;
}

/** Levels a value may have for `preview` to write it out. */
const PREVIEW_LEVELS = 32;

/**
 * `value` as JSON, cut to `max` characters, for an error message; never throws and never recurses deeper
 * than 32 levels (a deeper or cyclic value, a BigInt, is described instead of written).
 *
 * @example preview({ a: 1 }) // '{"a":1}'
 */
export function preview(value: unknown, max = 120): string {
  if (tooDeep(value, PREVIEW_LEVELS)) return `(nested deeper than ${PREVIEW_LEVELS} levels)`;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? `(${typeof value})` : text.slice(0, max);
  } catch {
    return '(not JSON)';
  }
}

/**
 * Whether two JSON values are equal as data: objects compare by their keys and values whatever the keys'
 * order (DynamoDB gives attributes back in its own order), a key whose value is `undefined` counts as
 * absent, arrays compare in order. For values already bounded in depth (stored or validated ones).
 *
 * @example sameJson({ a: 1, b: [2] }, { b: [2], a: 1 }) // true
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((value, index) => sameJson(value, b[index]));
  const left = Object.entries(a).filter(([, value]) => value !== undefined);
  const right = new Map(Object.entries(b).filter(([, value]) => value !== undefined));
  return (
    left.length === right.size &&
    left.every(([key, value]) => right.has(key) && sameJson(value, right.get(key)))
  );
}
