/**
 * `remove-network`: remove one of our networks. Gone counts as removed. dockerd refuses while the
 * network has active endpoints (403 on 20.10, 409 elsewhere): retryable, the next plan detaches
 * or removes what is still attached.
 */
import { statusCodeOf } from '../docker/client.js';
import type { KnownEffect } from '../observed-state/requests.js';
import type { RemoveNetwork } from '../reconciler/actions.js';
import { RetryableError } from '../reconciler/errors.js';
import { classify } from './common.js';
import type { ActionResult, ExecuteContext } from './context.js';

/** Every way this action succeeds ends with Docker saying the network is not there. */
export function removeNetworkEffect(action: RemoveNetwork): KnownEffect {
  return { kind: 'network-removed', networkId: action.networkId };
}

export async function executeRemoveNetwork(
  action: RemoveNetwork,
  ctx: ExecuteContext,
): Promise<ActionResult> {
  const what = `remove network ${action.target.name}`;
  const networkId = action.networkId;
  try {
    await ctx.docker.removeNetwork(networkId);
    await release(networkId, ctx);
    return { networkId };
  } catch (error) {
    const status = statusCodeOf(error);
    if (status === 404) {
      await release(networkId, ctx);
      return { networkId, alreadyDone: true };
    }
    if (status === 403 || status === 409) {
      throw new RetryableError(`${what}: it still has active endpoints`, { cause: error });
    }
    const after = await ctx.docker.inspectNetwork(networkId).catch(() => null);
    if (after === undefined) {
      await release(networkId, ctx);
      return { networkId };
    }
    throw classify(what, error);
  }
}

/** Tidying only: an interface that is gone matches nothing, and the guard prunes it at its next start. */
async function release(networkId: string, ctx: ExecuteContext): Promise<void> {
  await ctx.isolation?.release(networkId).catch((error: unknown) =>
    ctx.logger?.warn('isolation guard: could not release a removed network', {
      networkId,
      error: (error as Error).message,
    }),
  );
}
