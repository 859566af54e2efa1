/**
 * `start-container`: start a created or exited container. A running one counts as started.
 *
 * With a Docker id (`target.objectId`: one the planner saw as ours, or one our own create just
 * returned) it is one call: a container's labels never change and ids are never reused, so the
 * id is ours as long as it exists. By name, the container is looked up first to check it is ours,
 * and the state it had before is reported.
 */
import { statusCodeOf } from '../docker/client.js';
import type { KnownEffect } from '../observed-state/requests.js';
import type { StartContainer } from '../reconciler/actions.js';
import { RetryableError, TerminalError } from '../reconciler/errors.js';
import { classify, containerByName, ownedBy } from './common.js';
import type { ActionResult, ExecuteContext } from './context.js';

/** Docker's 204: running as of then. One found running already (304) did nothing we know of. */
export function startContainerEffect(_action: StartContainer, result: ActionResult): KnownEffect | undefined {
  if (result.alreadyDone || !result.containerId) return undefined;
  return { kind: 'container-started', containerId: result.containerId };
}

export async function executeStartContainer(
  action: StartContainer,
  ctx: ExecuteContext,
): Promise<ActionResult> {
  const what = `start container ${action.container}`;
  if (action.target.objectId !== undefined) return startById(action.target.objectId, what, ctx);
  const before = await containerByName(ctx, action.container).catch((error) => {
    throw classify(what, error);
  });
  if (!before) throw new RetryableError(`${what}: the container is not there`);
  if (!ownedBy(before.Config?.Labels, ctx.owner, action.target.node)) {
    throw new TerminalError('name-conflict', `${what}: the container of that name is not ours`);
  }
  const previousState = before.State?.Status ?? 'unknown';
  if (before.State?.Running) return { containerId: before.Id, previousState, alreadyDone: true };
  return { ...(await startById(before.Id, what, ctx)), previousState };
}

async function startById(id: string, what: string, ctx: ExecuteContext): Promise<ActionResult> {
  try {
    await ctx.docker.startContainer(id);
    return { containerId: id };
  } catch (error) {
    const status = statusCodeOf(error);
    // 304: already started.
    if (status === 304) return { containerId: id, alreadyDone: true };
    if (status === 404) throw new RetryableError(`${what}: the container is not there`, { cause: error });
    // After a timeout the daemon may have started it.
    const after = await ctx.docker.inspectContainer(id).catch(() => undefined);
    if (after?.State?.Running) return { containerId: id };
    throw classify(what, error);
  }
}
