/** `down`: the empty graph of one task run, reconciled until nothing of it is left. */
import { down } from '../../loop/teardown.js';
import type { ParsedCommand } from '../args.js';
import { ownerOf } from '../context.js';
import { dockerFromEnv } from '../docker.js';
import { ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';

export async function downCommand(parsed: ParsedCommand, io: CliIo): Promise<ExitCode> {
  const owner = ownerOf(parsed.values);
  const removed = await down(dockerFromEnv(io.env).api, owner, io.signal ? { signal: io.signal } : {});
  for (const c of removed.containers) io.stdout.write(`removed container ${c.name}\n`);
  for (const n of removed.networks) io.stdout.write(`removed network ${n.name}\n`);
  io.stdout.write(
    `Task ${owner.taskId} run ${owner.runId}: ${removed.containers.length} container(s) and ` +
      `${removed.networks.length} network(s) removed; nothing of it is left.\n`,
  );
  return ExitCode.ok;
}
