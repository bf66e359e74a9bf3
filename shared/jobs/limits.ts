/**
 * Size limits of a job, chosen so that everything that carries a job stays inside its AWS limit with room
 * to spare. Sizes are UTF-8 bytes of `JSON.stringify(value)` (what the SDK puts on the wire): `"é"` is 2
 * bytes, `"😀"` is 4.
 *
 * Where a job travels and the limit there:
 *
 * - SQS message body ≤ 256 KiB = 262,144 B, attributes included (the long-standing quota; newer regions
 *   allow 1 MiB, the SQS emulator and older quotas do not, so 256 KiB is the figure we design for).
 *   A dispatch message holds the definition the slot was claimed with (≤ MAX_DEFINITION_BYTES = 96 KiB,
 *   payload included) and the run context (job id ≤ 128 B, run id ≤ ~160 B, times, attempt: < 1 KiB):
 *   ≤ ~97 KiB, so 2.6× headroom, enough even if the definition is embedded as an escaped JSON string.
 * - DynamoDB item ≤ 400 KB = 409,600 B, attribute names included
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
 *   A run record holds the definition snapshot (≤ 96 KiB) + the payload again if the store keeps it apart
 *   (≤ 64 KiB) + the attempts history (maxAttempts ≤ 20 per occurrence; at ≤ 2 KiB of error text an
 *   attempt, 20 attempts = 40 KiB) + fixed fields (< 2 KiB): ≤ 202 KiB as JSON strings. Stored as native
 *   maps/lists DynamoDB counts 1 B per element plus number sizes, which stays under 2× the JSON size even
 *   for lists of small numbers: ≤ 2 × 160 + 42 = 362 KiB, still under 400 KB. The job item holds one
 *   definition (≤ 96 KiB) and its state.
 * - Targets: an EventBridge PutEvents entry is ≤ 256 KB and an SQS target message ≤ 256 KiB; a 64 KiB
 *   payload wrapped in the run context fits both (a Lambda sync invoke allows 6 MB).
 */

/** Most bytes of a job's `payload` as JSON (64 KiB). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Most bytes of a whole normalized definition as JSON, payload included (96 KiB). */
export const MAX_DEFINITION_BYTES = 96 * 1024;

/**
 * Most levels of nesting in a payload. DynamoDB allows 32 levels in an item
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-attributes),
 * and the payload sits a few levels down inside a run record (record → definition → payload).
 */
export const MAX_PAYLOAD_DEPTH = 16;

/**
 * Most levels of nesting in a whole job (the job object is the first, its payload's own levels count
 * too): a valid job needs at most 17 (the payload's 16 under the job), so 24 leaves room for the
 * targets' own objects and still keeps a run record (record → definition → job) well inside DynamoDB's 32.
 * Checked without recursion before anything else walks the job.
 */
export const MAX_JOB_DEPTH = 24;

/**
 * Most levels of nesting in a jobs file: the root map, its `jobs:` list, then each job's 24. Checked on
 * the YAML or JSON text before it is composed into values, so a file nested 20,000 deep is refused by
 * this rule in a few hundred milliseconds instead of overflowing the parser's stack.
 */
export const MAX_FILE_DEPTH = 2 + MAX_JOB_DEPTH;

/** Most bytes of a jobs file's text (8 MiB: 80 jobs of the 96 KiB maximum, or thousands of usual ones). */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

/** UTF-8 bytes of a value written as JSON. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}
