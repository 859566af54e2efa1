/**
 * What every executor gets: the narrow Docker client, the credentials source for proxies and the
 * owner whose objects it may touch. Executors decide nothing: one action, one intent, made
 * idempotent against what Docker already holds.
 */
import type { Logger } from 'winston';
import type { DockerApi } from '../docker/client.js';
import type { RegistryLogin } from '../desired-state/config.js';
import type { ContainerNode, OwnerRef } from '../desired-state/types.js';
import type { IsolationGuard } from '../host/isolation-guard.js';
import type { ArtifactFetcher } from './artifacts.js';

export interface ExecuteContext {
  docker: DockerApi;
  /**
   * Environment holding a proxy's credentials, asked for at create time only for containers with
   * `needsCredentials`. The values go into the create call and nowhere else (not logs, not errors).
   */
  credentials: (container: ContainerNode) => Promise<Record<string, string>>;
  logger?: Logger;
  /**
   * Whose objects these are. When set, an executor that addresses a container by name refuses one
   * whose owner, task or run label differs (the loop sets it from the desired graph).
   */
  owner?: OwnerRef;
  /**
   * The isolation guard, when the worker turned it on: a network we create or adopt is put in it
   * before the executor returns (so before any container on it starts), and taken out once removed.
   */
  isolation?: IsolationGuard;
  /** How long a remove waits for a removal Docker already has in progress (default 30 s). */
  removalWaitMs?: number;
  /** Poll interval of that wait (default 100 ms). */
  pollMs?: number;
  /** Registry logins by registry host, sent with a pull to that host. Secret: never logged or shown. */
  registries?: Readonly<Record<string, RegistryLogin>>;
  /** A pull or download that moves no byte for `stallMs` fails; none lasts longer than `totalMs`. */
  imageTimeouts?: { stallMs: number; totalMs: number };
  /** Fetches task artifacts (queue and index); without it an artifact image cannot be loaded. */
  artifacts?: ArtifactFetcher;
  /** Progress of a pull or a download: bytes done, and the total when known. */
  onImageProgress?: (image: string, progress: ImageProgress) => void;
}

export interface ImageProgress {
  currentBytes: number;
  totalBytes?: number;
}

/** What an executor did; the loop turns it into events. */
export interface ActionResult {
  containerId?: string;
  networkId?: string;
  imageId?: string;
  /** The object was already there, ours and as desired: nothing was created. */
  adopted?: boolean;
  /** Nothing to do: already removed, already connected, already running. */
  alreadyDone?: boolean;
  /** For a start: the container's Docker state before it (an `exited` one is a restart). */
  previousState?: string;
}
