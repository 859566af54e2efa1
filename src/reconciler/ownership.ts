/**
 * Whether an observed object belongs to one task run, by its labels. The observer has already
 * kept only objects whose name *and* labels are ours (`observed-state/ownership.ts`); this says
 * which run of ours.
 */
import { Label } from '../desired-state/labels.js';
import type { OwnerRef } from '../desired-state/types.js';
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
