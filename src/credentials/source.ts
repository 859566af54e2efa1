/**
 * Holds the worker's current credentials for one task and hands each of its proxies what it
 * should hold: the create-container executor's `credentials(container)` callback, and the push of
 * rotated credentials to the proxies already running (the body of taskcluster-proxy's
 * `PUT /credentials`, through each proxy's `put`). Nothing it throws or logs quotes a token or a certificate.
 */
import type { Logger } from 'winston';
import type { ContainerNode } from '../desired-state/types.js';
import {
  CredentialsError,
  decodeWorkerCredentials,
  proxyCredentials,
  type ProxyEnv,
  type WorkerCredentials,
} from './proxy-credentials.js';
import { redact, secretsOf } from './redact.js';
import { roleScopeFromCmd, validateRoleScope } from './role-scope.js';
import { exponentialBackoffMs } from '../util/backoff.js';

/**
 * A running proxy to push credentials to. It listens on loopback of its own network namespace,
 * which only its service shares: `put` is the way in that the caller has (the library's is a
 * `docker exec` in the proxy's container), given taskcluster-proxy's `PUT /credentials` body.
 */
export interface LiveProxy {
  /** Says which proxy, in logs and errors (its container's name). */
  name: string;
  roleScope: string;
  /** Sends the body; resolves with the HTTP status the proxy answered, rejects when it was not reached. */
  put(body: string): Promise<number>;
}

export interface PushResult {
  proxy: string;
  attempts: number;
}

export class CredentialsPushError extends Error {
  override readonly name = 'CredentialsPushError';
  constructor(
    readonly failed: { proxy: string; reason: string }[],
    readonly pushed: PushResult[],
  ) {
    super(
      `could not push new credentials to ${failed.length} proxy(ies): ` +
        failed.map((f) => `${f.proxy} (${f.reason})`).join('; '),
    );
  }
}

export interface CredentialsSourceOptions {
  workerCredentials: WorkerCredentials;
  /** The task's deadline: minted proxy credentials expire then. */
  deadline: Date;
  now?: () => Date;
  logger?: Logger;
  /** Tries per proxy for a push (default 5), with exponential backoff from `retryDelayMs` (default 200). */
  pushAttempts?: number;
  retryDelayMs?: number;
  /** Deadline of one push to one proxy (default 5 s). */
  pushTimeoutMs?: number;
}

export class CredentialsSource {
  private worker: WorkerCredentials;
  private readonly deadline: Date;
  private readonly now: () => Date;
  private readonly logger: Logger | undefined;
  private readonly pushAttempts: number;
  private readonly retryDelayMs: number;
  private readonly pushTimeoutMs: number;
  /** Every secret this source has held, so that errors can be scrubbed of old ones too. */
  private readonly secrets = new Set<string>();

  constructor(options: CredentialsSourceOptions) {
    this.worker = decodeWorkerCredentials(options.workerCredentials);
    this.remember(this.worker);
    this.deadline = options.deadline;
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger;
    this.pushAttempts = Math.max(1, options.pushAttempts ?? 5);
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.pushTimeoutMs = options.pushTimeoutMs ?? 5_000;
  }

  /** The executor's callback: the env of a proxy container, from the role scope in its `Cmd`. */
  readonly credentials = async (container: ContainerNode): Promise<Record<string, string>> => {
    return this.envFor(roleScopeFromCmd(container.cmd));
  };

  envFor(roleScope: string): ProxyEnv {
    const env = proxyCredentials({
      workerCredentials: this.worker,
      roleScope,
      deadline: this.deadline,
      now: this.now(),
    });
    this.remember({ accessToken: env.TASKCLUSTER_ACCESS_TOKEN, certificate: env.TASKCLUSTER_CERTIFICATE });
    return env;
  }

  /** Scrubs every secret this source has held (or minted) from `text`. */
  redact(text: string): string {
    return redact(text, this.secrets);
  }

  /**
   * Takes the worker's new credentials (proxies created from now on get them) and pushes to every
   * live proxy what it should now hold. Resolves when every proxy took them; otherwise rejects
   * with a `CredentialsPushError` naming the proxies that did not, after `pushAttempts` tries each.
   */
  async updateCredentials(
    newCredentials: WorkerCredentials,
    liveProxies: readonly LiveProxy[],
  ): Promise<PushResult[]> {
    this.worker = decodeWorkerCredentials(newCredentials);
    this.remember(this.worker);
    const outcomes = await Promise.allSettled(liveProxies.map((proxy) => this.push(proxy)));
    const pushed: PushResult[] = [];
    const failed: { proxy: string; reason: string }[] = [];
    outcomes.forEach((outcome, i) => {
      const proxy = (liveProxies[i] as LiveProxy).name;
      if (outcome.status === 'fulfilled') pushed.push(outcome.value);
      else
        failed.push({
          proxy,
          reason: this.redact(String((outcome.reason as Error)?.message ?? outcome.reason)),
        });
    });
    this.logger?.info('pushed rotated credentials to proxies', {
      pushed: pushed.map((p) => p.proxy),
      failed: failed.map((f) => f.proxy),
    });
    if (failed.length > 0) throw new CredentialsPushError(failed, pushed);
    return pushed;
  }

  private async push(proxy: LiveProxy): Promise<PushResult> {
    const env = this.envFor(validateRoleScope(proxy.roleScope));
    const body = JSON.stringify({
      clientId: env.TASKCLUSTER_CLIENT_ID,
      accessToken: env.TASKCLUSTER_ACCESS_TOKEN,
      certificate: env.TASKCLUSTER_CERTIFICATE,
    });
    let lastReason = '';
    for (let attempt = 1; attempt <= this.pushAttempts; attempt++) {
      try {
        const status = await withDeadline(proxy.put(body), this.pushTimeoutMs);
        // 4xx: the proxy refuses these credentials; asking again will not change its mind.
        if (status >= 200 && status < 300) return { proxy: proxy.name, attempts: attempt };
        lastReason = `HTTP ${status}`;
        if (status >= 400 && status < 500) break;
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        lastReason = cause?.code ?? (error as Error).message ?? String(error);
      }
      if (attempt < this.pushAttempts) {
        await new Promise((resolve) =>
          setTimeout(resolve, exponentialBackoffMs(this.retryDelayMs, 5_000, attempt - 1)),
        );
      }
    }
    throw new CredentialsError(`${proxy.name}: ${lastReason}`);
  }

  private remember(credentials: { accessToken?: string; certificate?: string | null }): void {
    for (const secret of secretsOf(credentials)) this.secrets.add(secret);
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
