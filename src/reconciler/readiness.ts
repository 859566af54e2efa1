/**
 * When a container counts as ready: the one definition, in two steps that its users share.
 *
 * - `runsHealthy`: running, and healthy where it has a health check (Docker's `none` means it has
 *   none). What the library's phases and its startup gate see of a container.
 * - `readyAs`: that, for the container the planner wants: the spec hash of the bound node, and an
 *   endpoint on exactly the networks of ours it wants (a further one on a network of ours is one
 *   too many). The planner starts a service only when its proxy is ready in this sense, and a plan
 *   is `ready` when every container is.
 *
 * The startup gate reads the desired graph before images are bound (it has no spec hashes to
 * compare) and adds its own conditions on top of `runsHealthy`: a health check the graph asks for
 * must show, and a container without one must have run for the settle time.
 */
import { Label } from '../desired-state/labels.js';
import type { ContainerNode } from '../desired-state/types.js';
import type { ObservedContainer, ObservedNetwork } from '../observed-state/types.js';

export function runsHealthy(observed: ObservedContainer): boolean {
  return observed.state === 'running' && (observed.health === 'none' || observed.health === 'healthy');
}

/** Our networks as a plan sees them: of an attachment's name, and whether a name is one of ours. */
export interface OurNetworks<A> {
  of(attachment: A): ObservedNetwork | undefined;
  has(name: string): boolean;
}

/**
 * `observed` is ready as the bound `node`. `attachments` are the networks it wants, by name, and
 * `attachedCount` how many different ones.
 */
export function readyAs<A extends { network: string }>(
  node: ContainerNode,
  observed: ObservedContainer,
  attachments: readonly A[],
  attachedCount: number,
  ours: OurNetworks<A>,
): boolean {
  if (!runsHealthy(observed) || observed.labels[Label.specHash] !== node.specHash) return false;
  for (const attachment of attachments) {
    const network = ours.of(attachment);
    if (network === undefined || observed.networks[attachment.network]?.networkId !== network.id)
      return false;
  }
  // A shortcut: with as many endpoints as networks wanted, each checked above, none is extra.
  let endpoints = 0;
  // Stryker disable next-line UpdateOperator: a count gone wrong only skips the shortcut, and the loop below decides the same
  for (const _ in observed.networks) endpoints++;
  // Stryker disable next-line ConditionalExpression: without the shortcut the loop below decides the same
  if (endpoints === attachedCount) return true;
  for (const name in observed.networks) {
    if (!attachments.some((a) => a.network === name) && ours.has(name)) return false;
  }
  return true;
}
