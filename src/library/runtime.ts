/**
 * What a session needs from the rest of docker-services, in one narrow interface: the desired
 * state (compile), the observed state (an Observable of snapshots), the reconcile loop, teardown
 * and garbage collection. `defaultRuntime()` builds it from the real modules; nothing else in
 * `src/library` imports them, so the seams are all here.
 */
import type { Observable } from 'rxjs';
import type { Logger } from 'winston';
import type { ContainerNode, DesiredState, OwnerRef } from '../desired-state/types.js';
import type { WorkerConfig } from '../desired-state/config.js';
import type { TaskContainerOptions } from '../desired-state/task-container.js';
import type { DockerApi } from '../docker/client.js';
import type { ObserveScope } from '../observed-state/scope.js';
import type { Snapshot } from '../observed-state/types.js';
import type { RefreshRequest } from '../observed-state/requests.js';
import type { RestartPolicy } from '../reconciler/restarts.js';
import type { CollectedTask, Removed } from '../loop/teardown.js';
import type { ExecuteContext } from '../actions/context.js';

export type { CollectedTask } from '../loop/teardown.js';

export interface CompileInput {
  config: WorkerConfig;
  taskId: string;
  runId: number;
  scopes: string[];
  /** An existing network (not ours) to join as the task network; see `CompileContext.taskNetwork`. */
  taskNetwork?: string;
}

export interface ReconcileInput {
  desired: DesiredState;
  restart: RestartPolicy;
  concurrency: number;
  credentials: (container: ContainerNode) => Promise<Record<string, string>>;
  /** The reconcile loop's own snapshots, shared with the session so that Docker is watched once. */
  snapshots: Observable<Snapshot>;
  /** Asks the observer for a fresh snapshot (the loop does after each action, naming what it changed). */
  refresh: (request?: RefreshRequest) => void;
  /** Stops the loop once the actions in flight have settled (it then errors with `aborted`). */
  signal?: AbortSignal;
  logger?: Logger;
  /** What pulls and loads need: registry logins (secret), timeouts, progress, the artifact client. */
  images?: ImageFetchOptions;
}

export type ImageFetchOptions = Pick<
  ExecuteContext,
  'registries' | 'imageTimeouts' | 'artifacts' | 'onImageProgress'
>;

export interface Runtime {
  compile(payload: unknown, input: CompileInput): DesiredState;
  taskContainerOptions(desired: DesiredState): TaskContainerOptions;
  /** Fresh snapshots of `scope`, pushed by Docker's events, a periodic relist and each `refresh$` value. */
  observe(scope: ObserveScope, refresh$: Observable<RefreshRequest | void>): Observable<Snapshot>;
  /** One full observation now. */
  collect(scope: ObserveScope): Promise<Snapshot>;
  /**
   * Converges `desired` and keeps converging while subscribed (a died service is restarted per
   * `restart`). Errors with a `ReconcileError` on a condition it cannot get past.
   */
  reconcile(input: ReconcileInput): Observable<unknown>;
  /**
   * Reconciles the empty graph of the task run; resolves when nothing of it remains. Watches
   * through `snapshots`/`refresh` when given (an observer of the task that is already running).
   */
  down(
    owner: OwnerRef,
    options: {
      concurrency: number;
      logger?: Logger;
      snapshots?: Observable<Snapshot>;
      refresh?: (request?: RefreshRequest) => void;
    },
  ): Promise<Pick<Removed, 'disconnected'> | void>;
  /** Reconciles the empty graph for every task of `ownerId` that is not in `activeTaskIds`. */
  collectGarbage(
    ownerId: string,
    activeTaskIds: readonly string[],
    options: { concurrency: number; logger?: Logger },
  ): Promise<CollectedTask[]>;
}

export type RuntimeFactory = (docker: DockerApi) => Runtime;
