/**
 * The one dispatcher from an action to its executor. The switch is exhaustive: a new action kind
 * that has no executor does not compile.
 */
import type { Action } from '../reconciler/actions.js';
import { executeConnectNetwork } from './connect-network.js';
import type { ActionResult, ExecuteContext } from './context.js';
import { executeCreateContainer } from './create-container.js';
import { executeCreateNetwork } from './create-network.js';
import { executeDisconnectNetwork } from './disconnect-network.js';
import { executeLoadImage } from './load-image.js';
import { executePullImage } from './pull-image.js';
import { executeRemoveContainer } from './remove-container.js';
import { executeRemoveNetwork } from './remove-network.js';
import { executeStartContainer } from './start-container.js';

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

function unreachable(action: never): never {
  throw new Error(`no executor for action ${JSON.stringify(action)}`);
}
