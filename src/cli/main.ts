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

process.exit(await main(process.argv.slice(2), processIo(controller.signal)));
