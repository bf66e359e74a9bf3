/**
 * Benchmark — the tick fans out: fires claimed per second with 1, 2, 4 and 8 shard-group workers.
 *
 * Each worker is its own process, as a Lambda invocation is (bench/fanout-child.ts), and every DynamoDB and
 * SQS call it makes waits ≈ 5 ms and ≈ 12 ms first (`addLatency`): the round trips AWS answers in, so
 * that the figure is bound by latency and concurrency, as on AWS, rather than by the emulators' speed. The
 * load grows with the workers (250 due jobs per worker, `rate(1 minute)`, 8 shards): all workers start
 * together and the rate is the slots dispatched over the time from the first start to the last end. Three
 * rounds a minute apart (the clock moved by hand); the first warms the processes up and is not counted.
 * Linear is N × the one-worker rate; the machine's CPU use during the round (/proc/stat) shows where this
 * host, not the design, stops the scaling: the workers, DynamoDB Local and the SQS emulator share its cores.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AWS_LATENCY_MS, type Benchmark, median, ROOT, ratio, round, tsxChild } from '../support.js';
import { fillTable } from './table-size.js';

const WORKERS = [1, 2, 4, 8];
const SHARDS = 8;
const JOBS_PER_WORKER = 250;
const ROUNDS = 3;

interface RoundResult {
  group: number;
  startedAt: number;
  endedAt: number;
  slotsDispatched: number;
  jobsSeen: number;
  errors: number;
  cpuMs: number;
  dynamoCalls: Record<string, number>;
  sqsCalls: Record<string, number>;
}

/** Busy and total jiffies of all CPUs (/proc/stat's first line); undefined where there is no /proc. */
function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.reduce((sum, value) => sum + value, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * CPU time (ms) used so far by this process and every process it started, at any depth: DynamoDB Local's
 * JVM, the SQS emulator and the workers (/proc/<pid>/stat utime + stime, in clock ticks of 10 ms). What
 * the benchmark's own system spends, apart from anything else running on the host.
 */
function familyCpuMs(): number | undefined {
  try {
    const stats = new Map<number, { ppid: number; ticks: number }>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      let text: string;
      try {
        text = readFileSync(`/proc/${name}/stat`, 'utf8');
      } catch {
        continue; // ended meanwhile
      }
      // After the command name (in parentheses, may hold spaces): state, ppid, …, utime (12th), stime (13th).
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(name), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    }
    let total = 0;
    const queue = [process.pid];
    while (queue.length) {
      const pid = queue.pop()!;
      total += stats.get(pid)?.ticks ?? 0;
      for (const [child, stat] of stats) if (stat.ppid === pid) queue.push(child);
    }
    return total * 10;
  } catch {
    return undefined;
  }
}

function lineReader(child: ChildProcess): () => Promise<string> {
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  return async () => {
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`worker silent for 300 s: ${stderr}`)), 300_000).unref(),
    );
    const next = await Promise.race([lines.next(), timeout]);
    if (next.done) throw new Error(`worker exited: ${stderr}`);
    return next.value;
  };
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

export const fanout: Benchmark = {
  name: 'fanout',
  title: 'Fires claimed per second with 1, 2, 4, 8 tick workers (AWS-like latency on every call)',
  async run(context) {
    const start = Math.ceil(Date.now() / 60_000) * 60_000 + 120_000;
    const rows: Record<string, unknown>[] = [];
    const rates = new Map<number, number>();
    for (const workers of WORKERS) {
      const name = `bench-fanout-${workers}-${process.pid}`;
      const jobs = workers * JOBS_PER_WORKER;
      await fillTable(context.endpoints, {
        name,
        prefix: 'fan',
        schedule: 'rate(1 minute)',
        count: jobs,
        start,
        shards: SHARDS,
      });
      const children = Array.from({ length: workers }, (_, group) =>
        tsxChild(
          join(ROOT, 'bench', 'fanout-child.ts'),
          [
            context.endpoints.dynamo,
            context.endpoints.sqs,
            name,
            String(SHARDS),
            String(workers),
            String(group),
            String(AWS_LATENCY_MS.dynamo),
            String(AWS_LATENCY_MS.sqs),
          ],
          {},
          // The worker reads its commands (`tick <clock>`) from stdin.
          { stdin: true },
        ),
      );
      try {
        const readers = children.map(lineReader);
        await Promise.all(readers.map(async (read) => expectLine(await read(), 'ready')));
        const measured: {
          rate: number;
          wallMs: number;
          cpuBusy: number | undefined;
          familyMs: number | undefined;
          results: RoundResult[];
        }[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const clock = start + round * 60_000;
          const before = cpuTimes();
          const familyBefore = familyCpuMs();
          for (const child of children) child.stdin!.write(`tick ${clock}\n`);
          const results = await Promise.all(
            readers.map(async (read) => JSON.parse(await read()) as RoundResult),
          );
          const after = cpuTimes();
          const familyAfter = familyCpuMs();
          const dispatched = sum(results.map((result) => result.slotsDispatched));
          if (dispatched !== jobs)
            throw new Error(`${workers} workers, round ${round}: dispatched ${dispatched} of ${jobs}`);
          const wallMs =
            Math.max(...results.map((result) => result.endedAt)) -
            Math.min(...results.map((result) => result.startedAt));
          const cpuBusy =
            before && after
              ? (after.busy - before.busy) / Math.max(1, after.total - before.total)
              : undefined;
          const familyMs =
            familyBefore !== undefined && familyAfter !== undefined ? familyAfter - familyBefore : undefined;
          if (round > 0)
            measured.push({ rate: (dispatched / wallMs) * 1000, wallMs, cpuBusy, familyMs, results });
        }
        const rate = median(measured.map((m) => m.rate));
        rates.set(workers, rate);
        const last = measured.at(-1)!;
        const calls = (pick: (result: RoundResult) => Record<string, number>) => {
          const out: Record<string, number> = {};
          for (const result of last.results)
            for (const [command, count] of Object.entries(pick(result)))
              out[command] = (out[command] ?? 0) + count;
          return Object.fromEntries(
            Object.entries(out).map(([command, count]) => [command, round(count / jobs, 3)]),
          );
        };
        const row = {
          workers,
          jobs,
          claimsPerSecond: rate,
          perRound: measured.map((m) => ({ rate: m.rate, wallMs: m.wallMs, cpuBusy: m.cpuBusy })),
          workerCpuMsPerClaim: sum(last.results.map((result) => result.cpuMs)) / jobs,
          machineCpuBusy: median(measured.map((m) => m.cpuBusy ?? Number.NaN)),
          // Workers + emulators + this process, per claim; and the claims/s the host's cores would allow
          // this system alone at that cost (what other work on the host leaves is less).
          systemCpuMsPerClaim: (last.familyMs ?? Number.NaN) / jobs,
          hostCeilingPerSecond: (cpus().length * 1000) / ((last.familyMs ?? Number.NaN) / jobs),
          systemShareOfHost: (last.familyMs ?? Number.NaN) / (last.wallMs * cpus().length),
          callsPerClaim: {
            dynamo: calls((result) => result.dynamoCalls),
            sqs: calls((result) => result.sqsCalls),
          },
        };
        rows.push(row);
        context.log(
          `  ${workers} worker(s), ${jobs} due: ${round(rate, 0)} claims/s (rounds ${measured.map((m) => round(m.rate, 0)).join(', ')}); ` +
            `machine CPU ${round((row.machineCpuBusy ?? 0) * 100, 0)} % of ${cpus().length} cores, ${round(row.systemShareOfHost * 100, 0)} % of it this benchmark's; ` +
            `CPU per claim: workers ${round(row.workerCpuMsPerClaim, 2)} ms, with the emulators ${round(row.systemCpuMsPerClaim, 2)} ms ` +
            `(the host alone would allow ≈ ${round(row.hostCeilingPerSecond, 0)} claims/s)`,
        );
      } finally {
        for (const child of children) {
          child.stdin?.end();
          child.kill('SIGTERM');
        }
      }
    }
    const one = rates.get(1)!;
    const figures = WORKERS.filter((workers) => workers > 1).map((workers) => {
      const row = rows.find((r) => r.workers === workers)!;
      return {
        bench: 'fanout',
        figure: `claims/s, ${workers} workers (${workers * JOBS_PER_WORKER} due; host CPU ${round(((row.machineCpuBusy as number) ?? 0) * 100, 0)} % busy, ${round((row.systemShareOfHost as number) * 100, 0)} % ours; CPU-bound ceiling ≈ ${round(row.hostCeilingPerSecond as number, 0)}/s)`,
        value: `${round(rates.get(workers)!, 0)}/s`,
        baseline: `${round(one * workers, 0)}/s (${workers} × ${round(one, 0)}/s, 1 worker)`,
        ratio: ratio(rates.get(workers)!, one * workers),
        goal: '≥ 0.8× linear until the host saturates',
      };
    });
    return {
      figures,
      details: {
        latencyMs: AWS_LATENCY_MS,
        shards: SHARDS,
        jobsPerWorker: JOBS_PER_WORKER,
        cores: cpus().length,
        rows,
        ratioToLinear: Object.fromEntries(WORKERS.map((w) => [w, rates.get(w)! / (one * w)])),
      },
    };
  },
};

function expectLine(line: string, expected: string): void {
  if (line !== expected) throw new Error(`worker said ${JSON.stringify(line)}, expected ${expected}`);
}
