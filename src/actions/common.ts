/**
 * Shared by the executors: classifying Docker's answers into retryable and terminal errors, the
 * ownership check by labels, exact-name lookups (Docker's name filters match substrings) and the
 * bounded wait for something to disappear.
 */
import {
  DockerApiError,
  DockerTimeoutError,
  DockerUnreachableError,
  statusCodeOf,
} from '../docker/client.js';
import type { ContainerInspect, NetworkInspect } from '../docker/client.js';
import { Label } from '../desired-state/labels.js';
import type { OwnerRef } from '../desired-state/types.js';
import { RetryableError, TerminalError } from '../reconciler/errors.js';
import type { ExecuteContext } from './context.js';
import { ofRun } from '../reconciler/ownership.js';

export function isTimeout(error: unknown): boolean {
  return error instanceof DockerTimeoutError;
}

/** The failure, or one of its causes, is the engine being out of reach (not the call failing). */
export function engineUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++)
    if (e instanceof DockerUnreachableError) return true;
  return false;
}

/** Passes our own error types through; turns anything else into a retryable or terminal one. */
export function classify(what: string, error: unknown): RetryableError | TerminalError {
  if (error instanceof RetryableError || error instanceof TerminalError) return error;
  if (error instanceof DockerTimeoutError)
    return new RetryableError(`${what}: ${error.message}`, { cause: error });
  const status = statusCodeOf(error);
  const message = error instanceof DockerApiError || error instanceof Error ? error.message : String(error);
  // 400 is Docker refusing the request itself: sending it again cannot help.
  if (status === 400) return new TerminalError('bad-spec', `${what}: ${message}`, { cause: error });
  return new RetryableError(`${what}: ${message}`, { cause: error });
}

/** Our owner, task and run labels (and the node, when given) are on the object. */
export function ownedBy(
  labels: Record<string, string> | null | undefined,
  owner: OwnerRef | undefined,
  node?: string,
): boolean {
  const l = labels ?? {};
  if (!l[Label.owner]) return false;
  if (owner && !ofRun(owner, l)) return false;
  if (node !== undefined && l[Label.node] !== node) return false;
  return true;
}

/** Ownership as the desired object's own labels state it (owner, task, run, node). */
export function sameOwner(
  labels: Record<string, string> | null | undefined,
  desired: Record<string, string>,
): boolean {
  const l = labels ?? {};
  return [Label.owner, Label.taskId, Label.runId, Label.node].every(
    (key) => desired[key] !== undefined && l[key] === desired[key],
  );
}

export function dockerName(inspect: { Name?: string }): string {
  const name = inspect.Name ?? '';
  return name.startsWith('/') ? name.slice(1) : name;
}

/** Inspect by name, and only an object of exactly that name counts (inspect also matches id prefixes). */
export async function containerByName(
  ctx: ExecuteContext,
  name: string,
): Promise<ContainerInspect | undefined> {
  const found = await ctx.docker.inspectContainer(name);
  if (!found) return undefined;
  if (dockerName(found) !== name && found.Id !== name) return undefined;
  return found;
}

/** Networks named exactly `name` (an old engine may hold more than one). */
export async function networksByName(ctx: ExecuteContext, name: string): Promise<NetworkInspect[]> {
  const listed = await ctx.docker.listNetworks({ name: [name] });
  return listed.filter((n) => n.Name === name);
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `gone()` says so or `timeoutMs` passes; true when gone. */
export async function waitUntilGone(
  gone: () => Promise<boolean>,
  timeoutMs: number,
  pollMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await gone()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
}
