/**
 * `punctual/handlers`: your own functions for `handler` targets. A module that calls `registerHandler` at
 * import, named in the construct's `handlers: { entry }`, is bundled with the executor.
 *
 * @example
 * // src/jobs.ts
 * import { registerHandler } from 'punctual/handlers';
 *
 * registerHandler('my-report', async (ctx, signal) => {
 *   const res = await fetch('https://internal.example.com/reports', { method: 'POST', signal });
 *   return `report for ${ctx.scheduledAt}: HTTP ${res.status}`;
 * });
 *
 * @packageDocumentation
 */
export { registerHandler } from './shared/targets/handlers.js';
export { type HandlerFn, type RunContext, TargetError } from './shared/targets/types.js';
