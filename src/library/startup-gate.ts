/**
 * The startup gate: what `ServiceSession.start()` waits on. It settles on the first fresh snapshot
 * that shows every service ready, or one failed (`evaluateStartup`), and otherwise on the worker's
 * startup timeout, the task's deadline or the caller's abort signal, whichever comes first.
 *
 * A failure settles the gate only once the loop has stopped, the logs are read and the task's
 * objects are removed: the caller of `start()` gets a `ServiceStartError` and nothing to clean up.
 */
import type { Logger } from 'winston';
import type { DesiredState } from '../desired-state/types.js';
import type { Snapshot } from '../observed-state/types.js';
import { ServiceStartError } from './errors.js';
import {
  evaluateStartup,
  failureFromReconcileError,
  type StartFailure,
  type StartupStatus,
} from './startup.js';

/** Node's timers take at most a signed 32-bit delay; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Past the settle time: a snapshot taken right at its end could still find the service too young. */
const RECHECK_MARGIN_MS = 20;

export interface StartupGateInit {
  desired: DesiredState;
  /** The task's service names, sorted: the one blamed when nothing is pending yet is the first. */
  services: string[];
  /** See `StartupOptions.settleMs`. */
  settleMs: number;
  /** The worker's startup timeout. */
  timeoutMs: number;
  logger: Logger | undefined;
  /** Redacts secrets from what goes into the error (probe output, loop messages, the cause). */
  scrub: (text: string) => string;
  now: () => number;
}

/** What the gate needs of the session it guards. */
export interface GateHost {
  /**
   * Whether the session still waits on the gate. Once it left `starting` another way (stopped
   * while starting), the gate decides nothing more.
   */
  isStarting(): boolean;
  /** Asks the observer for a fresh snapshot. */
  refresh(): void;
  /** One full observation now, already shown to the session (its events emitted). */
  look(): Promise<Snapshot>;
  /** Every service is ready: called on the deciding snapshot, before the next one is read. */
  ready(): void;
  /** Stops converging: nothing may be created while the logs are read and the task torn down. */
  stopLoop(): Promise<void>;
  /** The redacted tail of the failed container's log ('' when there is none). */
  logTail(failure: StartFailure): Promise<string>;
  /** Removes every object of the task. */
  teardown(): Promise<void>;
}

export class StartupGate {
  private status: StartupStatus | undefined;
  private failing = false;
  private settleTimer: NodeJS.Timeout | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly settled: Promise<void>;
  private settle!: { resolve: () => void; reject: (error: unknown) => void };
  private signal: AbortSignal | undefined;
  /** Daemon time of the first snapshot this start saw: what "before this start" means. */
  private startedAt: string | undefined;
  // A cancel is the task's: no service is blamed (the phase says how far the first pending one got).
  private readonly onAbort = (): void =>
    this.fail({ ...this.firstPending(), service: undefined, reason: { kind: 'cancelled' } });

  constructor(
    private readonly init: StartupGateInit,
    private readonly host: GateHost,
  ) {
    this.settled = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
  }

  /** Reads a fresh snapshot (the session has already derived its events). */
  snapshot(snapshot: Snapshot): void {
    if (!this.host.isStarting() || this.failing) return;
    this.startedAt ??= snapshot.time;
    const status = evaluateStartup(this.init.desired, snapshot, {
      settleMs: this.init.settleMs,
      startedAt: this.startedAt,
    });
    this.status = status;
    if (status.recheckInMs !== undefined && !this.settleTimer) {
      // One look once the settle time has passed; the events bring everything else.
      this.settleTimer = setTimeout(() => {
        this.settleTimer = undefined;
        this.host.refresh();
      }, status.recheckInMs + RECHECK_MARGIN_MS);
      this.timers.push(this.settleTimer);
    }
    if (status.failure) this.fail(status.failure);
    else if (status.ready) {
      this.host.ready();
      this.disarm();
      this.init.logger?.info('services ready', { services: this.init.services });
      this.settle.resolve();
    }
  }

  /**
   * The reconcile loop stopped on an error. The loop and the observer race: a fresh look tells an
   * exit code from a bare "crash loop".
   */
  loopFailed(error: unknown): void {
    const { desired, settleMs } = this.init;
    void this.host
      .look()
      .then((snapshot) => {
        const status = evaluateStartup(desired, snapshot, {
          settleMs,
          ...(this.startedAt === undefined ? {} : { startedAt: this.startedAt }),
          priorExits: 'fail',
        });
        this.fail(status.failure ?? failureFromReconcileError(desired, error, status.pending), error);
      })
      .catch(() => this.fail(failureFromReconcileError(desired, error, this.status?.pending ?? []), error));
  }

  /**
   * Arms the startup timeout, the task's deadline and the abort signal, and waits: resolves once
   * every service is ready, rejects with a `ServiceStartError` once the task is torn down.
   */
  async wait(options: { deadline: Date; signal?: AbortSignal }): Promise<void> {
    const { timeoutMs } = this.init;
    this.timers.push(
      setTimeout(
        () => this.fail({ ...this.firstPending(), reason: { kind: 'timeout', timeoutMs } }),
        timeoutMs,
      ),
    );
    const untilDeadline = options.deadline.getTime() - this.init.now();
    this.timers.push(
      setTimeout(
        () =>
          this.fail({
            ...this.firstPending(),
            reason: { kind: 'deadline', deadline: options.deadline.toISOString() },
          }),
        Math.max(0, Math.min(untilDeadline, MAX_TIMER_MS)),
      ),
    );
    this.signal = options.signal;
    if (options.signal?.aborted) this.onAbort();
    else options.signal?.addEventListener('abort', this.onAbort, { once: true });
    try {
      await this.settled;
    } finally {
      this.disarm();
    }
  }

  private disarm(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.signal?.removeEventListener('abort', this.onAbort);
  }

  /**
   * The session was stopped while it started: `start()` rejects as cancelled (no service blamed)
   * once that stop has torn the task down. The stop did the teardown, so the gate does none.
   */
  stopped(): void {
    if (this.failing) return;
    this.failing = true;
    const failure: StartFailure = {
      ...this.firstPending(),
      service: undefined,
      reason: { kind: 'cancelled' },
    };
    this.settle.reject(this.startError(failure, undefined, ''));
  }

  /** Who a timeout or an abort is blamed on: the first service still pending, in its phase. */
  private firstPending(): Pick<StartFailure, 'service' | 'role' | 'phase'> {
    const p = this.status?.pending[0];
    return p
      ? { service: p.service, role: p.role, phase: p.phase }
      : { service: this.init.services[0], role: 'service', phase: 'pending' };
  }

  private fail(failure: StartFailure, cause?: unknown): void {
    if (this.failing || !this.host.isStarting()) return;
    this.failing = true;
    void this.failAfterTeardown(failure, cause).then(this.settle.reject, this.settle.reject);
  }

  private async failAfterTeardown(failure: StartFailure, cause: unknown): Promise<never> {
    await this.host.stopLoop();
    let logTail = '';
    try {
      logTail = await this.host.logTail(failure);
    } catch {
      // The log is a courtesy; the failure itself is what must be reported.
    }
    const error = this.startError(failure, cause, logTail);
    const log = this.init.logger;
    log?.warn("services failed to start; removing the task's objects", {
      service: failure.service,
      phase: failure.phase,
      reason: error.reason.kind,
    });
    try {
      await this.host.teardown();
    } catch (teardownError) {
      log?.error('teardown after a failed start did not finish', {
        error: this.init.scrub(String((teardownError as Error)?.message ?? teardownError)),
      });
    }
    throw error;
  }

  /** The failure in the worker's terms, every text in it redacted. */
  private startError(failure: StartFailure, cause: unknown, logTail: string): ServiceStartError {
    const { scrub, desired } = this.init;
    const reason = { ...failure.reason };
    if (reason.kind === 'unhealthy' && reason.lastProbeOutput !== undefined) {
      reason.lastProbeOutput = scrub(reason.lastProbeOutput);
    }
    if (reason.kind === 'reconcile-failed') reason.message = scrub(reason.message);
    return new ServiceStartError(
      {
        service: failure.service,
        role: failure.role,
        phase: failure.phase,
        reason,
        logTail,
        taskId: desired.owner.taskId,
        runId: desired.owner.runId,
      },
      cause instanceof Error ? { cause: new Error(scrub(cause.message)) } : undefined,
    );
  }
}
