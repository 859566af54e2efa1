/**
 * `docker-services/types`: the data the reconciler works on and the CLI's JSON output shows (the
 * desired graph, the observed snapshot, the plan and its actions), and the label keys that tie a
 * Docker object to its task. Not needed to embed the library; see `src/index.ts` for that.
 */
export type * from './desired-state/types.js';
export type * from './observed-state/types.js';
export type * from './reconciler/actions.js';
export type { ActionInfo } from './reconciler/describe.js';
export type { ReconcileFailureReason, TerminalCode } from './reconciler/errors.js';
export { Label, LABEL_NAMESPACE, type LabelKey } from './desired-state/labels.js';
