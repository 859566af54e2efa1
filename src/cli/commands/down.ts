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
  io.stdout.write(disconnectedNote(removed.disconnected));
  return ExitCode.ok;
}

/** Foreign containers that were on a network of ours, named: detached, never removed. */
export function disconnectedNote(
  disconnected: readonly { id: string; name?: string; network: string }[],
): string {
  return disconnected
    .map(
      (d) =>
        `note: container ${d.name ?? d.id.slice(0, 12)} is not ours; it was detached from network ${d.network} ` +
        'so that the network could be removed, and left running\n',
    )
    .join('');
}
