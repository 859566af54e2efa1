/**
 * What an action acts on, for people and for the library's per-service events: its kind, target
 * and cause, and the graph node and service it is (or was) for. Pure: the service comes from the
 * desired graph, else from the labels of the object the snapshot shows.
 */
import type { DesiredState } from '../desired-state/types.js';
import { ownerLabels } from '../observed-state/ownership.js';
import type { Snapshot } from '../observed-state/types.js';
import type { Action, ActionKind, ActionTarget } from './actions.js';

export interface ActionInfo {
  id: string;
  kind: ActionKind;
  cause: string;
  target: ActionTarget;
  /** Graph node the target is (or was), when known. */
  node?: string;
  service?: string;
  /** For a disconnect: the container detached, and whether it is someone else's. */
  detached?: { containerId: string; container?: string; foreign: boolean };
}

export function describeAction(
  action: Action,
  desired: DesiredState,
  snapshot: Snapshot | undefined,
): ActionInfo {
  const node = action.target.node;
  const service = serviceOf(action, desired, snapshot);
  return {
    id: action.id,
    kind: action.kind,
    cause: action.cause,
    target: { ...action.target },
    // Stryker disable next-line ConditionalExpression: a node of undefined is none to every reader (events are rendered as JSON, which leaves it out)
    ...(node === undefined ? {} : { node }),
    // Stryker disable next-line ConditionalExpression: a service of undefined is none to every reader (events are rendered as JSON, which leaves it out)
    ...(service === undefined ? {} : { service }),
    ...(action.kind === 'disconnect-network'
      ? {
          detached: {
            containerId: action.containerId,
            // Stryker disable next-line ConditionalExpression: a container of undefined is none to every reader (events are rendered as JSON, which leaves it out)
            ...(action.container === undefined ? {} : { container: action.container }),
            foreign: action.foreign === true,
          },
        }
      : {}),
  };
}

function serviceOf(
  action: Action,
  desired: DesiredState,
  snapshot: Snapshot | undefined,
): string | undefined {
  // Stryker disable next-line ConditionalExpression,StringLiteral: a container to create is a node of the graph, which the lookup below finds as well
  if (action.kind === 'create-container') return action.container.service;
  if (action.kind === 'create-network') return action.network.service;
  const { node, name, objectId, type } = action.target;
  const inGraph =
    desired.containers.find((c) => c.id === node || c.name === name)?.service ??
    desired.networks.find((n) => n.id === node || n.name === name)?.service;
  if (inGraph !== undefined || !snapshot) return inGraph;
  const observed =
    type === 'container'
      ? snapshot.containers.find((c) => c.name === name || c.id === objectId)
      : snapshot.networks.find((n) => n.name === name || n.id === objectId);
  return ownerLabels(observed?.labels)?.service;
}
