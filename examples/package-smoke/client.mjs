// An application using the typed client against the `punctual dev` running in this directory: puts a one-shot
// at(...) job due in five seconds and waits until its run has succeeded. Run by .ci/package-smoke.sh.
import { PunctualClient } from 'punctual';

const client = await PunctualClient.local();
const at = new Date(Math.ceil((Date.now() + 5_000) / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, '');
await client.putJob({ id: 'smoke-once', schedule: `at(${at})`, target: { type: 'handler', name: 'noop' } });

const deadline = Date.now() + 60_000;
for (;;) {
  const [run] = await client.listRuns({ jobId: 'smoke-once', limit: 1 });
  if (run?.status === 'succeeded') {
    console.log(`client: run ${run.runId} succeeded`);
    break;
  }
  if (run && ['failed', 'missed', 'skipped', 'cancelled'].includes(run.status)) {
    console.error(`client: run ${run.runId} ended ${run.status}`);
    process.exit(1);
  }
  if (Date.now() > deadline) {
    console.error(`client: no succeeded run within 60 s (last: ${run ? run.status : 'none'})`);
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}
