/** The queue settings the construct deploys and the local runtime creates alike. */

/** A queue's visibility timeout is six times its function's timeout (AWS's guidance for SQS sources). */
export const VISIBILITY_FACTOR = 6;
/** Receives before SQS moves a message that keeps failing to the DLQ. */
export const MAX_RECEIVE_COUNT = 5;
