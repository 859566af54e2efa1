/**
 * What one observation looks at: the objects of one owner (a worker), narrowed to one task run
 * for the reconciler of that run, or every task of the owner for garbage collection.
 */
import { imagesOf } from '../desired-state/images.js';
import type { DesiredState } from '../desired-state/types.js';

export interface ObserveScope {
  ownerId: string;
  /** Absent: every task of this owner (garbage collection). */
  taskId?: string;
  /** Only meaningful with `taskId`; absent with a task id: every run of that task. */
  runId?: number;
  /** Image references whose local presence the snapshot reports. */
  images: string[];
  /**
   * Names of networks that are not ours and that the graph joins (the worker's task network):
   * the snapshot reports them under `external`, to be looked at and never acted on.
   */
  externalNetworks?: string[];
}

/** The scope of one task run's reconcile: its objects and the images its graph uses. */
export function scopeOf(desired: DesiredState): ObserveScope {
  const external = desired.networks.filter((n) => n.external).map((n) => n.name);
  return {
    ownerId: desired.owner.ownerId,
    taskId: desired.owner.taskId,
    runId: desired.owner.runId,
    images: imagesOf(desired),
    ...(external.length > 0 ? { externalNetworks: external.sort() } : {}),
  };
}
