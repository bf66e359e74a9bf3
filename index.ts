/**
 * `punctual`: what an application imports without the CDK — the typed client `PunctualClient`, the job
 * model, the pure helpers behind `punctual schedule next` and `punctual jobs validate`, and the errors. The construct is in `punctual/cdk`,
 * `registerHandler` in `punctual/handlers`.
 *
 * @example
 * import { nextSlots, validateJobs } from 'punctual';
 *
 * console.log(nextSlots('rate(15 minutes)', { count: 3 }).slots);
 * const { valid, errors } = await validateJobs('jobs.yaml');
 *
 * @packageDocumentation
 */

// ── the client and its errors ────────────────────────────────────────────────────────────────────────
export * from './shared/client/index.js';
// ── the job model ────────────────────────────────────────────────────────────────────────────────────
export type {
  EventBridgeTarget,
  HandlerTarget,
  HttpMethod,
  HttpTarget,
  JobDefinition,
  JobsFile,
  LambdaTarget,
  OverlapPolicy,
  PoolDefinition,
  RetryPolicy,
  SqsTarget,
  Target,
  TargetType,
} from './shared/jobs/types.js';
// ── pure helpers (the same code as the CLI's `schedule next` and `jobs validate`) ─────────────────────
export { type JobsValidation, type ValidateJobsOptions, validateJobs } from './shared/jobs/validate.js';
export { type NextSlots, type NextSlotsOptions, nextSlots } from './shared/schedule/next.js';
export type { CatchUpPolicy } from './shared/schedule/types.js';
// ── for receivers of http targets: signature v2 (docs/security.md "Verifying a signed request") ──────
export {
  COMPLETION_TOKEN_HEADER,
  SIGNATURE_TOLERANCE_SECONDS,
  SIGNATURE_V2_HEADER,
  type SignedRequest,
  signRequest,
  TIMESTAMP_HEADER,
  type VerifyOptions,
  verifySignature,
} from './shared/targets/http.js';
