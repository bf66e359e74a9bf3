// A plain-JavaScript client script, run by CI against the installed package (no TypeScript, no repository):
// it finds the `punctual dev` running in the current directory, puts a one-shot at() job a few seconds
// ahead, and polls its runs until the run has succeeded (exit 0) or the time is up (exit 1).
//
//   npx punctual dev --tick 1s &        # in the same directory
//   node client.mjs [timeoutSeconds]    # default 60
import { PunctualClient } from 'punctual';

const timeoutMs = Number(process.argv[2] ?? 60) * 1000;
const deadline = Date.now() + timeoutMs;

// `punctual dev` writes its state file once ready: wait for it.
let client;
while (!client) {
  try {
    client = await PunctualClient.local();
  } catch (error) {
    if (Date.now() > deadline) {
      console.error(`no local runtime: ${error.message}`);
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3000);
const jobId = `smoke-${at.getTime()}`;
const { job } = await client.putJob({
  id: jobId,
  schedule: `at(${at.toISOString().slice(0, 19)})`,
  target: { type: 'handler', name: 'noop' },
});
console.log(`put ${job.id}: next slot ${job.nextRunAt}`);

let last = 'no run yet';
while (Date.now() < deadline) {
  const [run] = await client.listRuns({ jobId });
  if (run) last = `${run.runId} ${run.status}${run.reason ? `(${run.reason})` : ''}`;
  if (run?.status === 'succeeded') {
    console.log(`ok: ${last}`);
    client.close();
    process.exit(0);
  }
  if (run && ['failed', 'missed', 'skipped', 'cancelled'].includes(run.status)) break;
  await new Promise((resolve) => setTimeout(resolve, 500));
}
console.error(`failed: ${last}`);
client.close();
process.exit(1);
