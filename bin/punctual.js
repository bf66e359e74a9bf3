#!/usr/bin/env node
// The CLI is TypeScript; tsx's ESM hook loads it in this same process (signals such as Ctrl-C reach it directly).
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
