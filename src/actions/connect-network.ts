/**
 * `connect-network`: attach a created container to a further network (API 1.41 creates on one
 * network only). Already attached counts as done; after a failure or timeout the container is
 * inspected again, because the daemon may have attached it anyway.
 */
import type { ConnectNetwork } from '../reconciler/actions.js';
import { RetryableError, TerminalError } from '../reconciler/errors.js';
import { classify, containerByName, ownedBy } from './common.js';
import type { ActionResult, ExecuteContext } from './context.js';

export async function executeConnectNetwork(
  action: ConnectNetwork,
  ctx: ExecuteContext,
): Promise<ActionResult> {
  const what = `connect container ${action.container} to network ${action.network}`;
  const attached = async (): Promise<{ id: string; connected: boolean }> => {
    const found = await containerByName(ctx, action.container);
    if (!found) throw new RetryableError(`${what}: the container is not there`);
    if (
      !ownedBy(
        found.Config?.Labels,
        ctx.owner,
        action.target.type === 'container' ? action.target.node : undefined,
      )
    ) {
      throw new TerminalError('name-conflict', `${what}: the container of that name is not ours`);
    }
    return { id: found.Id, connected: Boolean(found.NetworkSettings?.Networks?.[action.network]) };
  };
  const before = await attached().catch((error) => {
    throw classify(what, error);
  });
  if (before.connected) return { containerId: before.id, alreadyDone: true };
  try {
    await ctx.docker.connectNetwork(action.network, before.id, action.aliases);
    return { containerId: before.id };
  } catch (error) {
    const after = await attached().catch(() => undefined);
    if (after?.connected) return { containerId: after.id };
    throw classify(what, error);
  }
}
