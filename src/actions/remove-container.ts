/**
 * `remove-container`: force-remove (kill at once, anonymous volumes too). Already gone counts as
 * removed; a removal Docker already has in progress (409) is waited for, bounded; after a timeout
 * the container is looked up again, because the daemon may have removed it.
 */
import { statusCodeOf } from '../docker/client.js';
import type { KnownEffect } from '../observed-state/requests.js';
import type { RemoveContainer } from '../reconciler/actions.js';
import { RetryableError } from '../reconciler/errors.js';
import { classify, waitUntilGone } from './common.js';
import type { ActionResult, ExecuteContext } from './context.js';

/** Every way this action succeeds ends with Docker saying the container is not there. */
export function removeContainerEffect(action: RemoveContainer): KnownEffect {
  return { kind: 'container-removed', containerId: action.containerId };
}

export async function executeRemoveContainer(
  action: RemoveContainer,
  ctx: ExecuteContext,
): Promise<ActionResult> {
  const what = `remove container ${action.target.name}`;
  const containerId = action.containerId;
  try {
    await ctx.docker.removeContainer(containerId);
    return { containerId };
  } catch (error) {
    const status = statusCodeOf(error);
    if (status === 404) return { containerId, alreadyDone: true };
    const gone = async () => (await ctx.docker.inspectContainer(containerId)) === undefined;
    if (status === 409) {
      const removed = await waitUntilGone(gone, ctx.removalWaitMs ?? 30_000, ctx.pollMs ?? 100).catch(
        () => false,
      );
      if (removed) return { containerId, alreadyDone: true };
      throw new RetryableError(`${what}: a removal in progress did not finish`, { cause: error });
    }
    if (await gone().catch(() => false)) return { containerId };
    throw classify(what, error);
  }
}
