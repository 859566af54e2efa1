/** `status`: one observation of everything this owner has, grouped by task run. Read only. */
import { observeOnce } from '../../observed-state/collect.js';
import { ownerLabels, type OwnerLabels } from '../../observed-state/ownership.js';
import type { ObservedContainer, Snapshot } from '../../observed-state/types.js';
import { phaseOf } from '../../library/phases.js';
import { outputOption, type ParsedCommand } from '../args.js';
import { ownerIdOf } from '../context.js';
import { dockerFromEnv } from '../docker.js';
import { ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';

interface ContainerStatus {
  name: string;
  phase: string;
  exitCode?: number;
  oomKilled?: boolean;
}

export interface ServiceStatus {
  name: string;
  service?: ContainerStatus;
  proxy?: ContainerStatus;
}

export interface TaskStatus {
  taskId: string;
  runId: number;
  services: ServiceStatus[];
  networks: string[];
}

export interface OwnerStatus {
  ownerId: string;
  snapshotTime: string;
  tasks: TaskStatus[];
}

export async function statusCommand(parsed: ParsedCommand, io: CliIo): Promise<ExitCode> {
  const format = outputOption(parsed.values);
  const ownerId = ownerIdOf(parsed.values);
  const snapshot = await observeOnce(dockerFromEnv(io.env).api, { ownerId, images: [] });
  const status = ownerStatus(snapshot, ownerId);
  io.stdout.write(format === 'json' ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
  return ExitCode.ok;
}

export function ownerStatus(snapshot: Snapshot, ownerId: string): OwnerStatus {
  const tasks = new Map<string, TaskStatus>();
  const taskOf = (labels: OwnerLabels | undefined): TaskStatus | undefined => {
    if (labels?.ownerId !== ownerId) return undefined;
    const { taskId, runId } = labels;
    const key = `${taskId}/${runId}`;
    if (!tasks.has(key)) tasks.set(key, { taskId, runId, services: [], networks: [] });
    return tasks.get(key)!;
  };
  for (const network of snapshot.networks) taskOf(ownerLabels(network.labels))?.networks.push(network.name);
  for (const container of snapshot.containers) {
    const labels = ownerLabels(container.labels);
    const task = taskOf(labels);
    const role = labels?.role;
    const name = labels?.service;
    if (!task || !name || (role !== 'service' && role !== 'proxy')) continue;
    let service = task.services.find((s) => s.name === name);
    if (!service) task.services.push((service = { name }));
    service[role] = containerStatus(container);
  }
  const sorted = [...tasks.keys()].sort().map((key) => {
    const task = tasks.get(key)!;
    return {
      ...task,
      services: task.services.sort((a, b) => (a.name < b.name ? -1 : 1)),
      networks: task.networks.sort(),
    };
  });
  return { ownerId, snapshotTime: snapshot.time, tasks: sorted };
}

function containerStatus(container: ObservedContainer): ContainerStatus {
  const phase = phaseOf(container);
  return {
    name: container.name,
    phase,
    ...(phase === 'exited' ? { exitCode: container.exitCode, oomKilled: container.oomKilled } : {}),
  };
}

function describe(status: ContainerStatus | undefined): string {
  if (!status) return 'missing';
  if (status.phase !== 'exited') return status.phase;
  return `exited (${status.oomKilled ? 'OOM-killed' : `code ${status.exitCode}`})`;
}

export function formatStatus(status: OwnerStatus): string {
  const lines = [`Owner ${status.ownerId}, snapshot ${status.snapshotTime} (daemon clock)`];
  if (status.tasks.length === 0) lines.push('', 'No tasks: nothing of this owner is on the engine.');
  for (const task of status.tasks) {
    lines.push(
      '',
      `Task ${task.taskId} run ${task.runId}: ${task.services.length} service(s), ${task.networks.length} network(s)`,
    );
    const rows = task.services.map((s) => [s.name, describe(s.service), `proxy ${describe(s.proxy)}`]);
    const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const row of rows)
      lines.push(`  ${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]}`);
  }
  return `${lines.join('\n')}\n`;
}
