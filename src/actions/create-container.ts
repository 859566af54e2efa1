/**
 * `create-container`: create (not start) a container on its first network. The payload decides
 * image, `Cmd`, env and health check only: no ports, mounts, privileges or restart policy (the
 * reconciler restarts, dockerd must never revive a dead task's proxy). A proxy's credentials are
 * asked for here and go into `Env` only.
 *
 * Idempotence: when the name is taken (409), or the call timed out and the daemon may have done
 * it, the container of that exact name decides: ours with the same spec hash is adopted, ours
 * with another hash is left to the next plan, anything else is a terminal conflict, untouched.
 */
import { statusCodeOf } from '../docker/client.js';
import type { ContainerCreateOptions } from '../docker/client.js';
import { Label } from '../desired-state/labels.js';
import { IMAGE_KEY_PLACEHOLDER } from '../desired-state/types.js';
import type { ContainerNode } from '../desired-state/types.js';
import type { KnownEffect } from '../observed-state/requests.js';
import type { CreateContainer } from '../reconciler/actions.js';
import { RetryableError, TerminalError } from '../reconciler/errors.js';
import { classify, containerByName, isTimeout, sameOwner } from './common.js';
import type { ActionResult, ExecuteContext } from './context.js';

/**
 * Docker's create options for a bound node: on `network`, or, for a node that joins another
 * container's network namespace, `NetworkMode: container:<id>` and no endpoint of its own
 * (dockerd refuses aliases, ports and extra hosts there: they are the namespace owner's).
 */
export function containerCreateOptions(
  container: ContainerNode,
  network: { name: string; aliases: string[] } | undefined,
  secretEnv: Record<string, string> = {},
): ContainerCreateOptions {
  const env = { ...container.env, ...secretEnv };
  const joined = container.namespaceContainerId;
  if (container.networkNamespaceOf !== undefined && joined === undefined)
    throw new TypeError(`${container.name} joins a network namespace but is not bound to its owner`);
  const endpoint = joined === undefined ? network : undefined;
  if (joined === undefined && endpoint === undefined)
    throw new TypeError(`${container.name} has neither a network nor a network namespace to join`);
  const options: ContainerCreateOptions = {
    name: container.name,
    Image: container.image,
    Env: Object.keys(env)
      .sort()
      .map((key) => `${key}=${env[key]}`),
    Labels: { ...container.labels },
    HostConfig: {
      NetworkMode: endpoint !== undefined ? endpoint.name : `container:${joined}`,
      Memory: container.limits.memoryBytes,
      MemorySwap: container.limits.memoryBytes,
      PidsLimit: container.limits.pidsLimit,
      LogConfig: {
        Type: 'json-file',
        Config: { 'max-size': String(container.limits.logMaxBytes), 'max-file': '1' },
      },
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      Privileged: false,
      PublishAllPorts: false,
      AutoRemove: false,
    },
  };
  if (endpoint !== undefined)
    options.NetworkingConfig = { EndpointsConfig: { [endpoint.name]: { Aliases: [...endpoint.aliases] } } };
  if (container.extraHosts !== undefined) options.HostConfig!.ExtraHosts = [...container.extraHosts];
  if (container.cmd) options.Cmd = [...container.cmd];
  if (container.healthCheck) {
    const h = container.healthCheck;
    options.Healthcheck = {
      Test: [...h.test],
      Interval: h.intervalNs,
      Timeout: h.timeoutNs,
      Retries: h.retries,
      StartPeriod: h.startPeriodNs,
    };
  }
  return options;
}

/**
 * A container we created is what we sent (without `Env`: the proxy's credentials are not asked
 * for again, and nothing observed reads it); one adopted is whatever it is, and is inspected.
 */
export function createContainerEffect(
  action: CreateContainer,
  result: ActionResult,
): KnownEffect | undefined {
  if (result.adopted || !result.containerId) return undefined;
  const { Env: _env, ...options } = containerCreateOptions(action.container, action.network);
  return { kind: 'container-created', containerId: result.containerId, options };
}

export async function executeCreateContainer(
  action: CreateContainer,
  ctx: ExecuteContext,
): Promise<ActionResult> {
  const container = action.container;
  const what = `create container ${container.name}`;
  if (container.cmd?.some((arg) => arg.includes(IMAGE_KEY_PLACEHOLDER))) {
    throw new TerminalError('bad-spec', `${what}: its command still holds the image key placeholder`);
  }
  let secretEnv: Record<string, string> = {};
  if (container.needsCredentials) {
    try {
      secretEnv = await ctx.credentials(container);
    } catch (error) {
      if (error instanceof TerminalError || error instanceof RetryableError) throw error;
      // The callback's message may quote what it was handling: say only that it failed.
      throw new RetryableError(`${what}: could not get the proxy's credentials`);
    }
  }
  try {
    const containerId = await ctx.docker.createContainer(
      containerCreateOptions(container, action.network, secretEnv),
    );
    return { containerId };
  } catch (error) {
    if (!isTimeout(error) && statusCodeOf(error) !== 409) throw classify(what, error);
    const existing = await containerByName(ctx, container.name).catch((inspectError) => {
      throw classify(what, inspectError);
    });
    if (!existing) throw classify(what, error);
    if (!sameOwner(existing.Config?.Labels, container.labels)) {
      throw new TerminalError(
        'name-conflict',
        `container name ${container.name} is held by ${existing.Id.slice(0, 12)}, which is not ours`,
      );
    }
    if (existing.Config?.Labels?.[Label.specHash] !== container.specHash) {
      throw new RetryableError(
        `${what}: our container of that name has another spec hash; it is replaced first`,
      );
    }
    ctx.logger?.debug('adopted container', { action: action.id, containerId: existing.Id });
    return { containerId: existing.Id, adopted: true };
  }
}
