/**
 * Which Docker objects are ours. An object is ours only when its name follows our naming *and*
 * its labels say so: labels alone can be copied (containers inherit their image's labels), and a
 * name alone can be taken by anyone. An object with one and not the other is foreign: reported,
 * never touched. Names are compared exactly here, because Docker's name filters match patterns.
 */
import { Label, NAME_PREFIX } from '../desired-state/labels.js';
import type { ObserveScope } from './scope.js';

export type Ownership = { kind: 'ours' } | { kind: 'foreign'; reason: string } | { kind: 'unrelated' };

/** What our labels on an object say: whose it is, of which task run, which node and role. */
export interface OwnerLabels {
  ownerId: string;
  taskId: string;
  runId: number;
  node?: string;
  role?: string;
  service?: string;
  specHash?: string;
}

/**
 * Our labels on an object, read in one place; undefined unless they name an owner, a task and a
 * run (a whole number written as such). Labels alone do not make an object ours: see `classify`.
 */
export function ownerLabels(
  labels: Readonly<Record<string, string>> | null | undefined,
): OwnerLabels | undefined {
  const l = labels ?? {};
  const ownerId = l[Label.owner];
  const taskId = l[Label.taskId];
  const run = l[Label.runId];
  if (!ownerId || !taskId || run === undefined || !/^(0|[1-9]\d*)$/.test(run)) return undefined;
  const parsed: OwnerLabels = { ownerId, taskId, runId: Number(run) };
  const optional = {
    node: Label.node,
    role: Label.role,
    service: Label.service,
    specHash: Label.specHash,
  } as const;
  for (const [field, key] of Object.entries(optional) as [keyof typeof optional, string][]) {
    const value = l[key];
    if (value !== undefined) parsed[field] = value;
  }
  return parsed;
}

/** `ds-<taskId>-<runId>`: the task network's name, and the stem of every other name of that run. */
export function runNameStem(taskId: string, runId: number | string): string {
  return `${NAME_PREFIX}${taskId}-${runId}`;
}

/** Our names for one run are the stem itself or the stem followed by `_…`. */
export function nameBelongsToRun(name: string, taskId: string, runId: number | string): boolean {
  const stem = runNameStem(taskId, runId);
  return name === stem || name.startsWith(`${stem}_`);
}

/** A name the scope's task would use (any run when the scope names no run). */
function nameBelongsToScopeTask(name: string, taskId: string, runId: number | undefined): boolean {
  if (runId !== undefined) return nameBelongsToRun(name, taskId, runId);
  const head = `${NAME_PREFIX}${taskId}-`;
  if (!name.startsWith(head)) return false;
  const run = /^(\d+)(?:_|$)/.exec(name.slice(head.length));
  return run !== null;
}

/**
 * The pattern to hand Docker's `name` list filter (a regular expression, unanchored, matched
 * against container names with their leading `/` and against bare network names): it narrows the
 * list, and `classify` decides.
 */
export function nameFilterPattern(scope: ObserveScope, type: 'container' | 'network'): string {
  const head =
    scope.taskId === undefined
      ? NAME_PREFIX
      : scope.runId === undefined
        ? `${NAME_PREFIX}${scope.taskId}-`
        : runNameStem(scope.taskId, scope.runId);
  return `^${type === 'container' ? '/' : ''}${head.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
}

export function classify(
  scope: ObserveScope,
  name: string,
  labels: Record<string, string> | null | undefined,
): Ownership {
  const l = labels ?? {};
  const owner = l[Label.owner];
  const taskId = l[Label.taskId];
  const runId = l[Label.runId];
  const labelsInScope =
    owner === scope.ownerId &&
    (scope.taskId === undefined ||
      (taskId === scope.taskId && (scope.runId === undefined || runId === String(scope.runId))));

  if (labelsInScope) {
    if (!name.startsWith(NAME_PREFIX))
      return foreign(`carries our owner label but its name does not start with "${NAME_PREFIX}"`);
    if (taskId === undefined || runId === undefined)
      return foreign('carries our owner label but no task-id or run-id label');
    if (!nameBelongsToRun(name, taskId, runId))
      return foreign(
        `carries our owner label but its name does not match its labels (task ${taskId}, run ${runId})`,
      );
    return { kind: 'ours' };
  }
  // A name of another task's run, or any `ds-` name seen by garbage collection, is simply someone
  // else's business; a name of the scope's own task without matching labels is a squatter.
  if (scope.taskId !== undefined && nameBelongsToScopeTask(name, scope.taskId, scope.runId)) {
    if (owner === undefined) return foreign('has our naming but no owner label');
    if (owner !== scope.ownerId) return foreign(`has our naming but belongs to owner ${owner}`);
    return foreign(`has our naming but its labels say task ${taskId ?? '(none)'}, run ${runId ?? '(none)'}`);
  }
  return { kind: 'unrelated' };
}

function foreign(reason: string): Ownership {
  return { kind: 'foreign', reason };
}
