/**
 * `connect-network`: attach a created container to a further network (API 1.41 creates on one
 * network only). Already attached counts as done; after a failure or timeout the container is
 * inspected again, because the daemon may have attached it anyway.
 *
 * With a Docker id (`target.objectId`, see start-container) the connect is tried straight away;
 * by name, the container is looked up first to check it is ours.
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
  const attachedById = async (id: string): Promise<{ id: string; connected: boolean } | 'gone'> => {
    const found = await ctx.docker.inspectContainer(id);
    if (!found) return 'gone';
    return { id, connected: Boolean(found.NetworkSettings?.Networks?.[action.network]) };
  };
  const knownId = action.target.type === 'container' ? action.target.objectId : undefined;
  const before = knownId
    ? { id: knownId, connected: false }
    : await attached().catch((error) => {
        throw classify(what, error);
      });
  if (before.connected) return { containerId: before.id, alreadyDone: true };
  try {
    await ctx.docker.connectNetwork(action.network, before.id, action.aliases);
    return { containerId: before.id };
  } catch (error) {
    const after = await (knownId ? attachedById(knownId) : attached()).catch(() => undefined);
    if (after !== undefined && after !== 'gone' && after.connected) return { containerId: after.id };
    if (after === 'gone') throw new RetryableError(`${what}: the container is not there`, { cause: error });
    throw classify(what, error);
  }
}
