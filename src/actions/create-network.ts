/**
 * `create-network`: a user-defined bridge with our labels. Docker refuses a duplicate name
 * (`CheckDuplicate`); then, as after a timeout (the daemon may have created it anyway), the
 * network of that exact name decides: ours with the same spec hash is adopted, ours with another
 * hash is left for the next plan to replace, anything else is a terminal conflict and is not touched.
 */
import { statusCodeOf } from '../docker/client.js';
import type { NetworkCreateOptions } from '../docker/client.js';
import { Label } from '../desired-state/labels.js';
import type { NetworkNode } from '../desired-state/types.js';
import type { CreateNetwork } from '../reconciler/actions.js';
import { RetryableError, TerminalError } from '../reconciler/errors.js';
import { classify, isTimeout, networksByName, sameOwner } from './common.js';
import type { ActionResult, ExecuteContext } from './context.js';

export function networkCreateOptions(network: NetworkNode): NetworkCreateOptions {
  return {
    Name: network.name,
    Driver: 'bridge',
    CheckDuplicate: true,
    Attachable: false,
    Internal: false,
    Labels: { ...network.labels },
  };
}

export async function executeCreateNetwork(
  action: CreateNetwork,
  ctx: ExecuteContext,
): Promise<ActionResult> {
  const network = action.network;
  const what = `create network ${network.name}`;
  try {
    const networkId = await ctx.docker.createNetwork(networkCreateOptions(network));
    return { networkId };
  } catch (error) {
    if (!isTimeout(error) && statusCodeOf(error) !== 409) throw classify(what, error);
    const existing = await networksByName(ctx, network.name).catch((inspectError) => {
      throw classify(what, inspectError);
    });
    if (existing.length === 0) throw classify(what, error);
    const foreign = existing.find((n) => !sameOwner(n.Labels, network.labels));
    if (foreign) {
      throw new TerminalError(
        'name-conflict',
        `network name ${network.name} is held by ${foreign.Id.slice(0, 12)}, which is not ours`,
      );
    }
    const same = existing.find((n) => n.Labels?.[Label.specHash] === network.specHash);
    if (!same)
      throw new RetryableError(
        `${what}: our network of that name has another spec hash; it is replaced first`,
      );
    ctx.logger?.debug('adopted network', { action: action.id, networkId: same.Id });
    return { networkId: same.Id, adopted: true };
  }
}
