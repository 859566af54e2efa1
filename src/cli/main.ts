#!/usr/bin/env node
/**
 * The `docker-services` bin. It exits explicitly once the command is done: `up` leaves the
 * services running on purpose, and no open Docker event stream may keep this process alive.
 * SIGINT/SIGTERM abort a running command, which then cleans up after itself and exits non-zero.
 */
import { processIo } from './io.js';
import { main } from './run.js';

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());

// No top-level await: the single executable (`npm run package`) runs this file as one CommonJS
// bundle, where top-level await does not exist. `main` never rejects: every failure is an exit code.
void main(process.argv.slice(2), processIo(controller.signal)).then((code) => process.exit(code));
