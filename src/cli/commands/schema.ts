/**
 * `schema`: the JSON Schema of `payload.services`, for a host that validates payloads before they
 * reach the worker (d2g's docker-worker payload schema; docs/d2g.md). Pure output: no input file,
 * no Docker.
 */
import type { ParsedCommand } from '../args.js';
import { DEFAULT_LIMITS } from '../../desired-state/config.js';
import { servicesSchema } from '../../desired-state/schema.js';
import { ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';

export async function schemaCommand(_parsed: ParsedCommand, io: CliIo): Promise<ExitCode> {
  // The default limits: a host's schema is built into the host, while a worker's limits are its
  // configuration; a worker with smaller limits still refuses, at decode, what exceeds them.
  io.stdout.write(`${JSON.stringify(servicesSchema(DEFAULT_LIMITS), null, 2)}\n`);
  return ExitCode.ok;
}
