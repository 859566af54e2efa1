/** The reconciler's decision half: plan, its rendering, and the restart arithmetic. */
export type * from './actions.js';
export { plan, type PlanOptions, type ImageResolver } from './plan.js';
export { formatPlan, summarize, type PlanFormat, type PlanSummary } from './format.js';
export {
  backoffDelayMs,
  decideRestart,
  recordRestart,
  restartKey,
  DEFAULT_RESTART_POLICY,
  type RestartDecision,
  type RestartLedger,
  type RestartPolicy,
} from './restarts.js';
