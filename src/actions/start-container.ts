/**
 * `start-container`: start a created or exited container. A running one counts as started. The
 * state it had before is reported, so the loop can count a start of an exited container as a
 * restart (the crash-loop budget).
 */
import { statusCodeOf } from '../docker/client.js';
import type { StartContainer } from '../reconciler/actions.js';
import { RetryableError, TerminalError } from '../reconciler/errors.js';
import { classify, containerByName, ownedBy } from './common.js';
import type { ActionResult, ExecuteContext } from './context.js';

export async function executeStartContainer(
  action: StartContainer,
  ctx: ExecuteContext,
): Promise<ActionResult> {
  const what = `start container ${action.container}`;
  const before = await containerByName(ctx, action.container).catch((error) => {
    throw classify(what, error);
  });
  if (!before) throw new RetryableError(`${what}: the container is not there`);
  if (!ownedBy(before.Config?.Labels, ctx.owner, action.target.node)) {
    throw new TerminalError('name-conflict', `${what}: the container of that name is not ours`);
  }
  const previousState = before.State?.Status ?? 'unknown';
  if (before.State?.Running) return { containerId: before.Id, previousState, alreadyDone: true };
  try {
    await ctx.docker.startContainer(before.Id);
    return { containerId: before.Id, previousState };
  } catch (error) {
    // 304: already started. After a timeout the daemon may have started it.
    if (statusCodeOf(error) === 304) return { containerId: before.Id, previousState, alreadyDone: true };
    const after = await ctx.docker.inspectContainer(before.Id).catch(() => undefined);
    if (after?.State?.Running) return { containerId: before.Id, previousState };
    throw classify(what, error);
  }
}
