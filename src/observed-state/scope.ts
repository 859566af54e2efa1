/**
 * What one observation looks at: the objects of one owner (a worker), narrowed to one task run
 * for the reconciler of that run, or every task of the owner for garbage collection.
 */
export interface ObserveScope {
  ownerId: string;
  /** Absent: every task of this owner (garbage collection). */
  taskId?: string;
  /** Only meaningful with `taskId`; absent with a task id: every run of that task. */
  runId?: number;
  /** Image references whose local presence the snapshot reports. */
  images: string[];
}
