/**
 * Test helpers for driving the executor by hand: the executor called directly (so two executions can
 * overlap in one test, on a manual clock), and a handler that holds its runs until the test opens it.
 */
import type { LocalRuntime } from '../../local/runtime.js';
import { type ExecuteDeps, type ExecuteOutcome, executeMessage } from '../../shared/runs/execute.js';
import { messageFor, silentLog } from '../../shared/runs/lifecycle.js';
import type { RunItem } from '../../shared/store/model.js';
import { builtinHandlers, type HandlerRegistry } from '../../shared/targets/handlers.js';
import { invokeTarget } from '../../shared/targets/index.js';
import { stackTag } from '../../shared/targets/names.js';
import type { TargetClients } from '../../shared/targets/types.js';
import type { ManualClock } from './runtime.js';

/** The executor's deps over a runtime, with `clients` for the targets that call AWS (fakes in tests). */
export function executorDeps(
  rt: LocalRuntime,
  clock: ManualClock,
  handlers: HandlerRegistry,
  clients: Partial<TargetClients> = {},
): ExecuteDeps {
  return {
    store: rt.store,
    dispatcher: rt.dispatcher,
    signals: rt.signals,
    pools: rt.routing,
    log: silentLog,
    clock: clock.fn,
    sleep: async () => {},
    invoke: (target, context, signal) =>
      invokeTarget(target, context, {
        clients: clients as TargetClients,
        handlers,
        signal,
        stack: stackTag(rt.store.tableName),
      }),
  };
}

/** Runs one message body through the executor of the default pool. */
export function executeBody(deps: ExecuteDeps, body: string): Promise<ExecuteOutcome> {
  return executeMessage(deps, body, { pool: 'default', remainingMs: () => 300_000 });
}

/** The executor for a run's next attempt (or `attempt`), as the message the tick sends would drive it. */
export function executor(rt: LocalRuntime, clock: ManualClock, handlers: HandlerRegistry) {
  const deps = executorDeps(rt, clock, handlers);
  return (run: RunItem, attempt = run.attempt + 1) =>
    executeBody(deps, JSON.stringify(messageFor(run, attempt)));
}

/** A handler `gate` that records each start and holds it until `open()`. */
export function gate() {
  const started: string[] = [];
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const handlers = builtinHandlers();
  handlers.register('gate', async (context) => {
    started.push(context.runId);
    await opened;
  });
  return { started, handlers, open: () => open() };
}

/** Polls `check` every 10 ms for up to 4 s. */
export async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}
