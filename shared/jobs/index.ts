/** The job model: validation, normalization and display of jobs and jobs files. */
export { formatDuration, InvalidDurationError, parseDuration, roughDuration } from './duration.js';
export { loadJobsFile, parseJobsDocument, parseJobsFile } from './file.js';
export { jsonBytes, MAX_DEFINITION_BYTES, MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH } from './limits.js';
export {
  CATCH_UP_POLICIES,
  DEFAULT_POOL,
  HTTP_METHODS,
  isJobDefinition,
  isValidTimeZone,
  JOB_DEFAULTS,
  JOB_FIELDS,
  JOB_ID_PATTERN,
  jobIdProblem,
  jobSchema,
  MAX_POOL_BATCH_SIZE,
  OVERLAP_POLICIES,
  POOL_DEFAULTS,
  POOL_NAME_PATTERN,
  parseJob,
  poolSchema,
  TARGET_TYPES,
  validateJob,
} from './schema.js';
export {
  type SerializedJob,
  type SerializedPool,
  type SerializedTarget,
  serializeJob,
  serializePool,
} from './serialize.js';
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
} from './types.js';
