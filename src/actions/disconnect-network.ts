/**
 * `disconnect-network`: force-detach an endpoint from one of our networks so that the network can
 * be removed. A network or endpoint that is gone, or a container no longer attached, counts as done.
 */
import { statusCodeOf } from '../docker/client.js';
import type { DisconnectNetwork } from '../reconciler/actions.js';
import { classify } from './common.js';
import type { ActionResult, ExecuteContext } from './context.js';

export async function executeDisconnectNetwork(
  action: DisconnectNetwork,
  ctx: ExecuteContext,
): Promise<ActionResult> {
  const what = `disconnect ${action.containerId.slice(0, 12)} from network ${action.target.name}`;
  try {
    await ctx.docker.disconnectNetwork(action.networkId, action.containerId);
    return { networkId: action.networkId, containerId: action.containerId };
  } catch (error) {
    if (statusCodeOf(error) === 404)
      return { networkId: action.networkId, containerId: action.containerId, alreadyDone: true };
    // dockerd answers 500 "is not connected" for an endpoint that is already gone; look instead of parsing.
    const network = await ctx.docker.inspectNetwork(action.networkId).catch(() => null);
    if (network === undefined || (network && !(action.containerId in (network.Containers ?? {})))) {
      return { networkId: action.networkId, containerId: action.containerId, alreadyDone: true };
    }
    throw classify(what, error);
  }
}
