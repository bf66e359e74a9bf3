#!/usr/bin/env node
// The CLI, compiled to dist/ by `npm run build` (run by prepack, and before `npm start` and `npm test` in the
// repository): plain JavaScript, nothing is transpiled at run time.
import '../dist/cli/main.js';
