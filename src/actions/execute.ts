/**
 * The one dispatcher from an action to its executor. The switch is exhaustive: a new action kind
 * that has no executor does not compile.
 */
import type { KnownEffect } from '../observed-state/requests.js';
import type { Action } from '../reconciler/actions.js';
import { executeConnectNetwork } from './connect-network.js';
import type { ActionResult, ExecuteContext } from './context.js';
import { createContainerEffect, executeCreateContainer } from './create-container.js';
import { createNetworkEffect, executeCreateNetwork } from './create-network.js';
import { executeDisconnectNetwork } from './disconnect-network.js';
import { executeLoadImage } from './load-image.js';
import { executePullImage } from './pull-image.js';
import { executeRemoveContainer, removeContainerEffect } from './remove-container.js';
import { executeRemoveNetwork, removeNetworkEffect } from './remove-network.js';
import { executeStartContainer, startContainerEffect } from './start-container.js';

export type { ActionResult, ExecuteContext } from './context.js';

export async function executeAction(action: Action, ctx: ExecuteContext): Promise<ActionResult> {
  switch (action.kind) {
    case 'pull-image':
      return executePullImage(action, ctx);
    case 'load-image':
      return executeLoadImage(action, ctx);
    case 'create-network':
      return executeCreateNetwork(action, ctx);
    case 'create-container':
      return executeCreateContainer(action, ctx);
    case 'connect-network':
      return executeConnectNetwork(action, ctx);
    case 'start-container':
      return executeStartContainer(action, ctx);
    case 'remove-container':
      return executeRemoveContainer(action, ctx);
    case 'disconnect-network':
      return executeDisconnectNetwork(action, ctx);
    case 'remove-network':
      return executeRemoveNetwork(action, ctx);
    default:
      return unreachable(action);
  }
}

/**
 * What a succeeded action did, as certain as an inspect right after it (`KnownEffect`); undefined
 * for a kind or an outcome whose effect only an inspect shows (an adoption, a start that found the
 * container running, a connect, a disconnect, an image).
 */
export function knownEffect(action: Action, result: ActionResult): KnownEffect | undefined {
  switch (action.kind) {
    case 'create-network':
      return createNetworkEffect(action, result);
    case 'create-container':
      return createContainerEffect(action, result);
    case 'start-container':
      return startContainerEffect(action, result);
    case 'remove-container':
      return removeContainerEffect(action);
    case 'remove-network':
      return removeNetworkEffect(action);
    case 'pull-image':
    case 'load-image':
    case 'connect-network':
    case 'disconnect-network':
      return undefined;
    default:
      return unreachable(action);
  }
}

function unreachable(action: never): never {
  throw new Error(`no executor for action ${JSON.stringify(action)}`);
}
