/**
 * The console's job page with 10,000 runs in its window: how long a page view takes (reads, timeline,
 * HTML) and the DynamoDB read capacity it consumes, as the page's own footer reports it
 * (`PunctualClient.consumedReadCapacity`, DynamoDB Local's ConsumedCapacity).
 *
 * Job `dense` (rate(5 seconds)) has 10,000 succeeded runs, written with BatchWriteItem as copies of the item
 * a backfill writes, with one attempt each: the last 13.9 hours of slots, all in the page's `day` window
 * (17,280 slots of the schedule, 1,440 cells). The console is served from `PunctualClient.local()` as
 * `punctual dev` serves it; each view is a GET over HTTP, timed from request to the last byte.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { WINDOW_SEGMENTS, windowRuns } from '../../console/pages.js';
import { startConsole } from '../../console/server.js';
import { LocalRuntime } from '../../local/runtime.js';
import { PunctualClient } from '../../shared/client/client.js';
import { stateFilePath } from '../../shared/client/connection.js';
import { putJob } from '../../shared/ops/jobs.js';
import { decodeJob } from '../../shared/store/decode.js';
import { iso, runDefinition, runIdFor } from '../../shared/store/model.js';
import { chunk, mapLimit } from '../../shared/util.js';
import { type Benchmark, median, ms, ratio, round } from '../support.js';

const RUNS = 10_000;
const PERIOD_MS = 5_000;
const VIEWS = 7;

function view(url: string, cookie: string): Promise<{ ms: number; body: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { cookie } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        if (response.statusCode !== 200)
          reject(new Error(`GET ${url}: ${response.statusCode} ${body.slice(0, 300)}`));
        else resolve({ ms: performance.now() - started, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export const consolePage: Benchmark = {
  name: 'console',
  title: 'Console job page with 10,000 runs in the window: time and read capacity per page view',
  async run(context) {
    const dir = await mkdtemp(join(tmpdir(), 'punctual-bench-console-'));
    const now = Math.floor(Date.now() / PERIOD_MS) * PERIOD_MS;
    const first = now - RUNS * PERIOD_MS;
    const runtime = await LocalRuntime.start({
      endpoints: context.endpoints,
      name: `bench-console-${process.pid}`,
      stateFile: stateFilePath(dir),
      clock: () => now,
    });
    const client = await PunctualClient.local(dir, { clock: () => now });
    const server = await startConsole({ client, clock: () => now });
    try {
      await putJob(
        runtime.store,
        {
          id: 'dense',
          schedule: 'rate(5 seconds)',
          startAt: new Date(first).toISOString(),
          target: { type: 'handler', name: 'noop' },
        },
        now,
        { pools: ['default'] },
      );
      const decoded = decodeJob((await runtime.store.getJobRaw('dense'))!);
      if (!decoded.ok) throw new Error(decoded.error);
      const written = performance.now();
      await mapLimit(
        chunk(
          Array.from({ length: RUNS }, (_, i) => first + i * PERIOD_MS),
          25,
        ),
        4,
        async (slots) => {
          const items = slots.map((slot) => {
            const started = iso(slot + 40);
            const finished = iso(slot + 160);
            return {
              ...runtime.store.newRun(
                {
                  runId: runIdFor('dense', slot),
                  jobId: 'dense',
                  scheduledAt: iso(slot),
                  status: 'succeeded',
                  ...runDefinition(decoded.job.item, decoded.job.definition),
                  jobVersion: decoded.job.item.version,
                },
                now,
              ),
              reason: 'ok',
              attempt: 1,
              dispatchedAt: iso(slot - 1000),
              startedAt: started,
              finishedAt: finished,
              attempts: [
                {
                  attempt: 1,
                  status: 'succeeded',
                  startedAt: started,
                  finishedAt: finished,
                  durationMs: 120,
                },
              ],
            };
          });
          let requests: { PutRequest: { Item: Record<string, unknown> } }[] = items.map((Item) => ({
            PutRequest: { Item },
          }));
          while (requests.length) {
            const { UnprocessedItems } = await runtime.store.doc.send(
              new BatchWriteCommand({ RequestItems: { [runtime.state.tableName]: requests } }),
            );
            requests = (UnprocessedItems?.[runtime.state.tableName] ?? []) as typeof requests;
          }
        },
      );
      context.log(`  wrote ${RUNS} runs in ${round((performance.now() - written) / 1000, 1)} s`);

      const login = await new Promise<string>((resolve, reject) =>
        request(server.url, (response) => {
          response.resume();
          const cookie = response.headers['set-cookie']?.[0]?.split(';')[0];
          if (cookie) resolve(cookie);
          else reject(new Error('no cookie'));
        })
          .on('error', reject)
          .end(),
      );
      const times: number[] = [];
      const rcus: number[] = [];
      let cells = 0;
      for (let i = 0; i < VIEWS; i++) {
        const answer = await view(`${server.origin}/jobs/dense?window=day`, login);
        const footer = /this page: ([\d.]+) DynamoDB read capacity units/.exec(answer.body);
        if (!footer) throw new Error('the page reports no read capacity');
        times.push(answer.ms);
        rcus.push(Number(footer[1]));
        cells = (answer.body.match(/class="cell fate-/g) ?? []).length;
        if (!answer.body.includes(`${RUNS} runs`)) throw new Error(`the page does not count ${RUNS} runs`);
      }
      // The window's reads alone, one Query paged from start to end against WINDOW_SEGMENTS spans read side
      // by side, interleaved so that both meet the same machine load.
      const reads: Record<'one' | 'segmented', number[]> = { one: [], segmented: [] };
      for (let i = 0; i < VIEWS; i++) {
        for (const [kind, segments] of [
          ['one', 1],
          ['segmented', WINDOW_SEGMENTS],
        ] as const) {
          const started = performance.now();
          const { runs } = await windowRuns(
            client,
            'dense',
            now - 86_400_000,
            now + 7_200_000,
            20_000,
            segments,
          );
          if (runs.length !== RUNS) throw new Error(`read ${runs.length} runs, not ${RUNS}`);
          reads[kind].push(performance.now() - started);
        }
      }
      const one = median(reads.one);
      const segmented = median(reads.segmented);
      context.log(
        `  window reads: one query ${reads.one.map((t) => round(t, 0)).join(', ')} ms; ${WINDOW_SEGMENTS} spans ${reads.segmented.map((t) => round(t, 0)).join(', ')} ms`,
      );
      const time = median(times);
      const rcu = median(rcus);
      context.log(
        `  page views: ${times.map((t) => round(t, 0)).join(', ')} ms; RCU ${rcus.join(', ')}; ${cells} cells`,
      );
      return {
        figures: [
          {
            bench: 'console',
            figure: `job page, ${RUNS} runs in the window (day): time per view (median of ${VIEWS})`,
            value: ms(time),
            baseline: '1000 ms',
            ratio: ratio(time, 1000),
            goal: '< 1 s locally (issue 21)',
          },
          {
            bench: 'console',
            figure: `job page: its window's ${RUNS} runs read in ${WINDOW_SEGMENTS} spans side by side (median)`,
            value: ms(segmented),
            baseline: `${ms(one)} (one query, paged)`,
            ratio: ratio(segmented, one),
            goal: 'faster than one query',
          },
          {
            bench: 'console',
            figure: 'job page: DynamoDB read capacity per view',
            value: `${round(rcu, 1)} RCU`,
            baseline: `${RUNS} runs`,
            ratio: `${round(rcu / RUNS, 3)} RCU/run`,
            goal: 'bounded: at most 20,000 runs read per view',
          },
        ],
        details: { runs: RUNS, views: VIEWS, times, rcus, cells, reads },
      };
    } finally {
      await server.close();
      client.close();
      await runtime.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
