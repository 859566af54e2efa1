/**
 * `gc`: what this owner left of tasks that are not active (after a crash, or an `up` never
 * followed by `down`). With `--dry-run` it is `plan(∅, snapshot)` for each such run, printed.
 */
import { emptyGraph } from '../../desired-state/compile.js';
import { collectSnapshot } from '../../observed-state/collect.js';
import { formatPlan } from '../../reconciler/format.js';
import { inactiveRuns } from '../../reconciler/ownership.js';
import { plan } from '../../reconciler/plan.js';
import { collectGarbage } from '../../loop/teardown.js';
import { outputOption, type ParsedCommand } from '../args.js';
import { ownerIdOf, workerConfigOf } from '../context.js';
import { dockerFromEnv } from '../docker.js';
import { ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';
import { disconnectedNote } from './down.js';
import { planOptions } from './plan.js';

export async function gcCommand(parsed: ParsedCommand, io: CliIo): Promise<ExitCode> {
  const { values } = parsed;
  const ownerId = ownerIdOf(values);
  const active = (values.active as string[] | undefined) ?? [];
  const { api } = dockerFromEnv(io.env);

  if (values['dry-run']) {
    const format = outputOption(values);
    const snapshot = await collectSnapshot(api, { ownerId, images: [] });
    const config = workerConfigOf(values, io.env);
    const plans = inactiveRuns(snapshot, ownerId, active).map((owner) =>
      plan(emptyGraph(owner), snapshot, planOptions(config, Date.now())),
    );
    if (format === 'json') {
      io.stdout.write(
        `${JSON.stringify(
          plans.map((p) => JSON.parse(formatPlan(p, 'json')) as unknown),
          null,
          2,
        )}\n`,
      );
    } else if (plans.length === 0) {
      io.stdout.write(`No garbage: owner ${ownerId} has no objects of inactive tasks.\n`);
    } else {
      io.stdout.write(plans.map((p) => formatPlan(p, 'text')).join('\n'));
    }
    return plans.some((p) => p.actions.length > 0) ? ExitCode.changesPlanned : ExitCode.ok;
  }

  const collected = await collectGarbage(api, ownerId, active, io.signal ? { signal: io.signal } : {});
  for (const task of collected) {
    io.stdout.write(
      `task ${task.taskId} run ${task.runId}: removed ${task.containers.length} container(s), ${task.networks.length} network(s)\n`,
    );
    io.stdout.write(disconnectedNote(task.disconnected));
  }
  io.stdout.write(
    collected.length === 0
      ? `No garbage: owner ${ownerId} has no objects of inactive tasks.\n`
      : `Collected ${collected.length} inactive task run(s) of owner ${ownerId}.\n`,
  );
  return ExitCode.ok;
}
