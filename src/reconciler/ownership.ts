/**
 * Whether an observed object belongs to one task run, by its labels. The observer has already
 * kept only objects whose name *and* labels are ours (`observed-state/ownership.ts`); this says
 * which run of ours.
 */
import { Label } from '../desired-state/labels.js';
import type { OwnerRef } from '../desired-state/types.js';
import { ownerLabels } from '../observed-state/ownership.js';
import type { Snapshot } from '../observed-state/types.js';

export function ofRun(owner: OwnerRef, labels: Readonly<Record<string, string>>): boolean {
  return (
    labels[Label.owner] === owner.ownerId &&
    labels[Label.taskId] === owner.taskId &&
    labels[Label.runId] === String(owner.runId)
  );
}

/** The run's containers and networks that a snapshot still shows. */
export function taskObjectsLeft(owner: OwnerRef, snapshot: Snapshot): number {
  return (
    snapshot.containers.filter((c) => ofRun(owner, c.labels)).length +
    snapshot.networks.filter((n) => ofRun(owner, n.labels)).length
  );
}

/**
 * Task runs of `ownerId` with an object in the snapshot, by their labels, minus the runs of the
 * active tasks: what garbage collection tears down. Sorted by task and run.
 */
export function inactiveRuns(snapshot: Snapshot, ownerId: string, active: readonly string[]): OwnerRef[] {
  const keep = new Set(active);
  const runs = new Map<string, OwnerRef>();
  for (const object of [...snapshot.containers, ...snapshot.networks]) {
    const run = ownerLabels(object.labels);
    if (run?.ownerId !== ownerId || keep.has(run.taskId)) continue;
    runs.set(`${run.taskId}/${run.runId}`, { ownerId, taskId: run.taskId, runId: run.runId });
  }
  return [...runs.keys()].sort().map((key) => runs.get(key)!);
}
