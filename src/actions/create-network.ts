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
import type { KnownEffect } from '../observed-state/requests.js';
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

/** A network we created is what we sent; one adopted is whatever it is, and is inspected. */
export function createNetworkEffect(action: CreateNetwork, result: ActionResult): KnownEffect | undefined {
  if (result.adopted || !result.networkId) return undefined;
  return {
    kind: 'network-created',
    networkId: result.networkId,
    options: networkCreateOptions(action.network),
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
    await guard(networkId, ctx, what);
    return { networkId };
  } catch (error) {
    if (error instanceof TerminalError) throw error;
    if (poolExhausted(error)) throw poolExhaustedError(what, error);
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
    await guard(same.Id, ctx, what);
    ctx.logger?.debug('adopted network', { action: action.id, networkId: same.Id });
    return { networkId: same.Id, adopted: true };
  }
}

/**
 * dockerd 20.10 answers 404 ("could not find an available, non-overlapping IPv4 address pool among
 * the defaults"), newer ones "all predefined address pools have been fully subnetted". Retrying
 * only waits for another task to end, so the task fails at once with the fix.
 */
function poolExhausted(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /non-overlapping IPv4 address pool|address pools have been fully subnetted/i.test(message);
}

function poolExhaustedError(what: string, error: unknown): TerminalError {
  return new TerminalError(
    'network-pool-exhausted',
    `${what}: the Docker engine has no address range left for another network (${
      (error as Error).message
    }). A task uses one network plus one per service: give the engine more networks with ` +
      '`default-address-pools` in daemon.json (e.g. [{"base": "10.200.0.0/16", "size": 24}] holds 256) ' +
      'or run fewer tasks at once',
    { cause: error },
  );
}

/**
 * Terminal: once this returns, the network exists and the next plan will not create it again, so
 * a network the guard did not take would carry containers unguarded. The task fails instead.
 */
async function guard(networkId: string, ctx: ExecuteContext, what: string): Promise<void> {
  if (!ctx.isolation) return;
  try {
    await ctx.isolation.protect(networkId);
  } catch (error) {
    throw new TerminalError(
      'isolation-guard',
      `${what}: the isolation guard could not take it: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
