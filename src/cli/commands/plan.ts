/**
 * `plan`: the dry run. One observation (or none, offline), the pure planner, the printer. No
 * executor and no writing Docker call is reachable from here: a dry run that goes through a fake
 * client can, and in Compose did, really remove containers.
 */
import { compile, emptyGraph } from '../../desired-state/compile.js';
import type { WorkerConfig } from '../../desired-state/config.js';
import type { DesiredState } from '../../desired-state/types.js';
import { observeOnce } from '../../observed-state/collect.js';
import type { Snapshot } from '../../observed-state/types.js';
import type { Plan } from '../../reconciler/actions.js';
import { formatPlan } from '../../reconciler/format.js';
import { scopeOf } from '../../observed-state/scope.js';
import { plan, type PlanOptions } from '../../reconciler/plan.js';
import { outputOption, type ParsedCommand } from '../args.js';
import { ownerOf, workerConfigFrom } from '../context.js';
import { dockerFromEnv } from '../docker.js';
import { ExitCode, UsageError } from '../errors.js';
import { loadTaskInput } from '../input.js';
import type { CliIo } from '../io.js';

export async function planCommand(parsed: ParsedCommand, io: CliIo): Promise<ExitCode> {
  const { values, positionals } = parsed;
  const format = outputOption(values);
  const down = values.down === true;
  if (down && positionals.length > 0)
    throw new UsageError('--down plans the empty graph and takes no FILE', 'plan');
  if (!down && positionals.length === 0)
    throw new UsageError('missing FILE (a path, or - for stdin), or --down', 'plan');

  const config = await workerConfigFrom(parsed, io);
  const desired = down ? emptyGraph(ownerOf(values)) : await compileFile(positionals[0]!, values, config, io);
  const snapshot = values.offline
    ? emptyEngine(desired, new Date().toISOString())
    : await observeOnce(dockerFromEnv(io.env).api, scopeOf(desired));
  const result = plan(desired, snapshot, planOptions(config, Date.now()));
  io.stdout.write(formatPlan(result, format, { clock: values.offline ? 'offline' : 'daemon' }));
  return planExitCode(result, io);
}

export async function compileFile(
  path: string,
  values: ParsedCommand['values'],
  config: WorkerConfig,
  io: CliIo,
): Promise<DesiredState> {
  const input = await loadTaskInput(path, io);
  const { taskId, runId } = ownerOf(values);
  return compile(input.payload, { config, taskId, runId, scopes: input.scopes });
}

/**
 * What `--offline` plans against: an engine that has nothing (no containers, no networks, no
 * images), so every image is planned as a pull. It is not a guess at any real engine.
 */
export function emptyEngine(desired: DesiredState, time: string): Snapshot {
  return {
    time,
    containers: [],
    networks: [],
    images: [],
    missingImages: scopeOf(desired).images,
    foreign: [],
  };
}

/**
 * A plan from the command line knows no restart history: a dead service is planned as a
 * restart due now, as the loop would on its first look.
 */
export function planOptions(config: WorkerConfig, now: number): PlanOptions {
  return { now, restarts: {}, restart: { ...config.restart } };
}

/**
 * 0 nothing to do, 2 changes planned, 1 when the plan is blocked (`up` would fail on it). A
 * restart held back by its backoff (a waiting entry with a time) is a planned change too: this
 * plan knows no restart history, so a service that died a moment ago is still in its first backoff.
 */
export function planExitCode(result: Plan, io: CliIo): ExitCode {
  if (result.blocked.length > 0) {
    io.stderr.write(
      `docker-services plan: blocked (${result.blocked.map((b) => `${b.name}: ${b.code}`).join(', ')}); \`up\` would fail\n`,
    );
    return ExitCode.error;
  }
  const changes = result.actions.length > 0 || result.waiting.some((w) => w.until !== undefined);
  return changes ? ExitCode.changesPlanned : ExitCode.ok;
}
