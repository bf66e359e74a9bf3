/**
 * The SQS emulator in its own process (the benchmarks start it with tsx): prints `{"endpoint": …}` once it
 * listens, and runs until SIGTERM.
 */
import { startSqsEmulator } from '../local/emulators.js';

const emulator = await startSqsEmulator();
process.stdout.write(`${JSON.stringify({ endpoint: emulator.endpoint })}\n`);
const stop = () => {
  void emulator.stop().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
