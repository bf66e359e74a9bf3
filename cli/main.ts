/** Entry point of `punctual` (bin/punctual.js loads it through tsx). */
import './env.js';
import { main } from './run.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Nothing should keep the process alive after a command; if an SDK socket does, do not hang a script.
setTimeout(() => process.exit(code), 2000).unref();
