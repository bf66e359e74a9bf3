export { idempotencyKey, runMessage } from './common.js';
export type { BuiltinOptions } from './handlers.js';
export {
  builtinHandlers,
  defaultHandlers,
  HandlerRegistry,
  registerHandler,
  stableHash,
} from './handlers.js';
export type { SignedRequest, VerifyOptions } from './http.js';
export {
  ATTEMPT_HEADER,
  COMPLETION_TOKEN_HEADER,
  IDEMPOTENCY_HEADER,
  RUN_ID_HEADER,
  SIGNATURE_HEADER,
  SIGNATURE_TOLERANCE_SECONDS,
  SIGNATURE_V2_HEADER,
  signBody,
  signedUrl,
  signRequest,
  TIMESTAMP_HEADER,
  verifySignature,
} from './http.js';
export type { InvokeOptions } from './invoke.js';
export { describeTarget, invokeTarget } from './invoke.js';
export { ATTEMPT_ATTRIBUTE, IDEMPOTENCY_ATTRIBUTE, RUN_ID_ATTRIBUTE } from './sqs.js';
export type { HandlerFn, RunContext, TargetClients, TargetErrorOptions, TargetResult } from './types.js';
export { TargetError } from './types.js';
