/**
 * What every benchmark shares: the emulators (started once per `npm run bench`), a middleware that counts
 * the DynamoDB and SQS calls a client makes (and the capacity DynamoDB reports for them), statistics,
 * and the table and JSON files the figures end up in.
 *
 * DynamoDB Local is a JVM in its own process; the SQS emulator runs in a child Node process too, so the
 * benchmark's event loop measures punctual, not the emulator serving it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { startDynamoLocal } from '../local/emulators.js';
import type { LocalRuntime } from '../local/runtime.js';
import type { OpsDeps } from '../shared/ops/jobs.js';
import { silentLog } from '../shared/runs/lifecycle.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

export interface Endpoints {
  dynamo: string;
  sqs: string;
}

export interface Emulators {
  endpoints: Endpoints;
  stop(): Promise<void>;
}

/** A Node child running a TypeScript file through tsx's loader. */
export function tsxChild(
  file: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  options: { stdin?: boolean } = {},
): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
}

/** Reads the first line a child prints on stdout. */
export function firstLine(child: ChildProcess, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(
      () => reject(new Error(`no output from child in ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const newline = buffer.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(buffer.slice(0, newline));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited with ${code} before answering: ${stderr}`));
    });
  });
}

/** DynamoDB Local (in memory) and the SQS emulator in a child process. */
export async function startEmulators(): Promise<Emulators> {
  const sqsChild = tsxChild(join(ROOT, 'bench', 'sqs-server.ts'));
  const [dynamo, sqsLine] = await Promise.all([startDynamoLocal(), firstLine(sqsChild)]);
  const sqs = (JSON.parse(sqsLine) as { endpoint: string }).endpoint;
  return {
    endpoints: { dynamo: dynamo.endpoint, sqs },
    async stop() {
      sqsChild.kill('SIGTERM');
      await dynamo.stop();
    },
  };
}

// ── counting calls ────────────────────────────────────────────────────────────────────────────────

export interface CallCounts {
  /** Calls by command name (one per `send`, whatever the SDK retried underneath). */
  calls: Record<string, number>;
  /** Write capacity units DynamoDB reported (ReturnConsumedCapacity TOTAL), by command. */
  wcu: Record<string, number>;
  rcu: Record<string, number>;
  /** Calls whose response carried no ConsumedCapacity although it was asked for. */
  unreported: number;
}

const WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'TransactWriteItemsCommand',
]);
const CAPACITY = new Set([
  ...WRITES,
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchWriteItemCommand',
]);

type Stack = DynamoDBClient['middlewareStack'] | SQSClient['middlewareStack'];

/**
 * Counts every call a client sends. On DynamoDB it also asks for `ReturnConsumedCapacity: TOTAL` and adds
 * up what comes back: the capacity DynamoDB itself computes from the item sizes (DynamoDB Local reports
 * it, 1 WCU per started KB written, twice that in a transaction). `DynamoDBDocumentClient.from(client)`
 * shares the client's middleware stack, so the store's calls are counted too.
 */
export function countCalls(
  stack: Stack,
  options: { capacity?: boolean } = {},
): CallCounts & { reset(): void } {
  const counts: CallCounts & { reset(): void } = {
    calls: {},
    wcu: {},
    rcu: {},
    unreported: 0,
    reset() {
      counts.calls = {};
      counts.wcu = {};
      counts.rcu = {};
      counts.unreported = 0;
    },
  };
  (stack as DynamoDBClient['middlewareStack']).add(
    (next, context) => async (args) => {
      const name = context.commandName ?? '?';
      counts.calls[name] = (counts.calls[name] ?? 0) + 1;
      const input = args.input as Record<string, unknown>;
      const measure = options.capacity && CAPACITY.has(name);
      if (measure) input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      if (measure) {
        const output = result.output as { ConsumedCapacity?: unknown };
        const consumed = (
          [] as { CapacityUnits?: number; WriteCapacityUnits?: number; ReadCapacityUnits?: number }[]
        ).concat((output.ConsumedCapacity as never) ?? []);
        if (!consumed.length) counts.unreported += 1;
        for (const entry of consumed) {
          const units = entry.CapacityUnits ?? 0;
          const bucket = WRITES.has(name) || name === 'BatchWriteItemCommand' ? counts.wcu : counts.rcu;
          bucket[name] = (bucket[name] ?? 0) + units;
        }
      }
      return result;
    },
    { step: 'initialize', name: 'benchCountCalls', override: true },
  );
  return counts;
}

/** Round trips in-region AWS answers in, used to make the emulators behave like AWS (see `addLatency`). */
export const AWS_LATENCY_MS = { dynamo: 5, sqs: 12 } as const;

/**
 * Adds `ms` of latency to every call a client sends (before the request leaves), so that a benchmark is
 * bound by round trips, as on AWS (≈ 5 ms for DynamoDB, ≈ 12 ms for SQS in-region), rather than by how fast
 * the emulators on this machine answer.
 */
export function addLatency(stack: Stack, ms: number): void {
  (stack as DynamoDBClient['middlewareStack']).add(
    (next) => async (args) => {
      await sleep(ms);
      return next(args);
    },
    { step: 'initialize', name: 'benchAddLatency', override: true },
  );
}

export function total(record: Record<string, number>): number {
  return Object.values(record).reduce((sum, value) => sum + value, 0);
}

// ── statistics ────────────────────────────────────────────────────────────────────────────────────

export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : Number.NaN;
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `done()` holds or the time is up; returns whether it held. */
export async function until(done: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await sleep(everyMs);
  }
  return done();
}

// ── results ───────────────────────────────────────────────────────────────────────────────────────

/** One line of the summary table: a figure beside its baseline. */
export interface Figure {
  bench: string;
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  goal: string;
}

export interface BenchContext {
  endpoints: Endpoints;
  full: boolean;
  log(line: string): void;
}

export interface BenchResult {
  figures: Figure[];
  /** Everything measured, written to bench/results/<name>.json. */
  details: Record<string, unknown>;
}

export interface Benchmark {
  name: string;
  title: string;
  /** False for a benchmark that needs no DynamoDB Local or SQS emulator (they are then not started). */
  needsEmulators?: boolean;
  run(context: BenchContext): Promise<BenchResult>;
}

export async function writeResult(name: string, result: BenchResult & Record<string, unknown>) {
  const file = join(RESULTS_DIR, `${name}.json`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** A plain aligned table (the figures go to RESULTS.md as they are printed). */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function markdownTable(rows: string[][]): string {
  const [header, ...body] = rows;
  return [header!, header!.map(() => '---'), ...body].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

export function ms(value: number): string {
  return Number.isFinite(value) ? `${round(value, value < 10 ? 2 : 0)} ms` : 'n/a';
}

export function ratio(value: number, baseline: number): string {
  return baseline > 0 ? `${round(value / baseline, 2)}×` : 'n/a';
}

/** What the operations of shared/ops take, from a runtime. */
export function opsDeps(runtime: LocalRuntime): OpsDeps {
  return {
    store: runtime.store,
    dispatcher: runtime.dispatcher,
    signals: runtime.signals,
    pools: runtime.routing,
    log: silentLog,
  };
}
