/**
 * What the loop asks of an observer: refresh requests, holds and Docker's answers to our actions.
 * Apart from `types.ts` because these carry Docker's create options (`docker/client.ts` types),
 * and the reconciler, which reads `types.ts`, must load nothing that talks to Docker.
 */
import type { ContainerCreateOptions, NetworkCreateOptions } from '../docker/client.js';

/**
 * Asks an observer to look again: at the objects named (by Docker id), or at everything when none
 * is. The loop names what an action it ran has changed, so that it sees the action's effect in
 * one inspect instead of a relist of the task.
 */
export interface RefreshRequest {
  containers?: readonly string[];
  networks?: readonly string[];
  images?: boolean;
  /** Increasing; echoed by the first snapshot that reflects this request (`Snapshot.refreshed`). */
  token?: number;
  /**
   * Docker's own answers to actions that succeeded (`KnownEffect`): an observer that folds them
   * into what it knows needs no inspect to see them; one that cannot fold one looks at its object.
   */
  effects?: readonly KnownEffect[];
  /**
   * Objects an action now in flight is changing: an observer holds their events until the action's
   * `release`, then looks only at what its effect does not explain (its own events echo it).
   */
  hold?: HeldObjects;
  /** The hold (`HeldObjects.key`) whose action has settled, with this request's effects or none. */
  release?: number;
  /**
   * With a token and nothing named: the token comes back once the observer's view is as fresh as
   * a relist would make it. An observer whose event stream has been open since its last relist is
   * (every change since has marked its object), and echoes it without listing again.
   */
  current?: boolean;
  /**
   * The loop is removing everything and the observer ends with it: no safety-net relist (periodic
   * or after a stall) from here on, and no inspect after the events of a container it knows but
   * its destroy or rename (it removes each whatever its state). The teardown sees its own actions
   * in Docker's answers, and what it asks for is still looked at; a relist after a lost stream
   * still is made.
   */
  tearingDown?: true;
}

/** What an action in flight is changing, by Docker id or, for what it is creating, by name. */
export interface HeldObjects {
  /** Unique to the action's attempt (a process-wide sequence). */
  key: number;
  containers?: readonly string[];
  containerNames?: readonly string[];
  networks?: readonly string[];
  networkNames?: readonly string[];
}

/**
 * The effect of an action Docker answered with success, as certain as an inspect right after it:
 * a created object is what the options sent describe (Docker applies them or refuses the call), a
 * 204 start means running as of then, a 2xx or 404 remove means gone (Docker never reuses an id).
 * Options carry no `Env`: nothing observed reads it, and a proxy's holds its credentials.
 */
export type KnownEffect =
  | { kind: 'network-created'; networkId: string; options: NetworkCreateOptions }
  | { kind: 'container-created'; containerId: string; options: Omit<ContainerCreateOptions, 'Env'> }
  | { kind: 'container-started'; containerId: string }
  | { kind: 'container-removed'; containerId: string }
  | { kind: 'network-removed'; networkId: string };

export function isTargeted(request: RefreshRequest): boolean {
  return (request.containers?.length ?? 0) + (request.networks?.length ?? 0) > 0 || request.images === true;
}

/**
 * A request that asks for nothing to be looked at: it only holds, releases or folds. A relist
 * per request (`listOnDemand`) must not take one for a bare request, which asks for a relist.
 */
export function isNoticeOnly(request: RefreshRequest): boolean {
  return (
    request.token === undefined &&
    !isTargeted(request) &&
    (request.hold !== undefined ||
      request.release !== undefined ||
      (request.effects?.length ?? 0) > 0 ||
      request.tearingDown === true)
  );
}
