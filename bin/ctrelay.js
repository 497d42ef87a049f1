#!/usr/bin/env node
// Runs the TypeScript CLI directly: tsx compiles on load (cached), so there is no build step.
// Paths are resolved from this file, so any cwd works, and an in-process loader avoids the cost
// of a second node process.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv);
// Exiting explicitly: a finished command must not hang on a handle a library left open. stdout and
// stderr are synchronous for files and pipes on Linux, so nothing written is lost.
process.exit(code);
