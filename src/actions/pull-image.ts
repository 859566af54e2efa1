/**
 * `pull-image`: make an image present locally, or fetch what its tag names now (pull policy
 * `always`). There may be no registry at all (air-gapped workers, this test machine): a registry
 * that says the image cannot be had is terminal, as is one that refuses our login; any other pull
 * failure (5xx, 429, a stall) is retryable, and the loop's retry budget and backoff bound it.
 */
import { DockerApiError, DockerStallError, statusCodeOf } from '../docker/client.js';
import { registryOf } from '../desired-state/image-source.js';
import type { PullImage } from '../reconciler/actions.js';
import { RetryableError, TerminalError } from '../reconciler/errors.js';
import { classify } from './common.js';
import type { ActionResult, ExecuteContext } from './context.js';

export async function executePullImage(action: PullImage, ctx: ExecuteContext): Promise<ActionResult> {
  const what = `pull image ${action.image}`;
  const present = await ctx.docker.inspectImage(action.image).catch((error) => {
    throw classify(what, error);
  });
  // An image that is present is pulled again only to refresh its tag (the planner asked for it).
  const refresh = present !== undefined && action.refresh === true;
  if (present && !refresh) return { imageId: present.Id, alreadyDone: true };
  const registry = registryOf(action.image);
  const login = ctx.registries?.[registry];
  try {
    await ctx.docker.pullImage(action.image, {
      ...(login
        ? { auth: { username: login.username, password: login.password, serveraddress: registry } }
        : {}),
      ...(ctx.imageTimeouts
        ? { stallMs: ctx.imageTimeouts.stallMs, totalMs: ctx.imageTimeouts.totalMs }
        : {}),
      onProgress: (progress) => ctx.onImageProgress?.(action.image, progress),
    });
  } catch (error) {
    if (unauthorized(error)) {
      throw new TerminalError(
        'image-pull-unauthorized',
        `registry ${registry} refused to let this worker pull ${action.image} (${login ? 'with the login configured for it' : 'no login is configured for it'}): ` +
          `check registries["${registry}"] in the worker configuration, and that the login may read this repository`,
        { cause: error },
      );
    }
    if (error instanceof DockerStallError)
      throw new RetryableError(`${what}: the registry sent nothing for ${error.stallMs} ms`, {
        cause: error,
      });
    // A pull that timed out (or failed late) may still have landed the image.
    const landed = refresh ? undefined : await ctx.docker.inspectImage(action.image).catch(() => undefined);
    if (landed) return { imageId: landed.Id };
    if (cannotBeHad(error)) {
      throw new TerminalError(
        'image-not-found',
        `image ${action.image} is not present locally and cannot be pulled (${engineMessage(error)}): ` +
          "load it into the worker's Docker engine, or check the image name and its registry",
        { cause: error },
      );
    }
    throw classify(what, error);
  }
  const pulled = await ctx.docker.inspectImage(action.image).catch((error) => {
    throw classify(what, error);
  });
  if (!pulled) throw new RetryableError(`${what}: the pull finished but the image is not there`);
  return { imageId: pulled.Id };
}

/**
 * A registry that answered 401 or 403 to the login we sent. dockerd 20.10 passes the registry's
 * words through ("unauthorized: authentication required", "denied: requested access to the
 * resource is denied", "no basic auth credentials"), with status 500 or 404 depending on the
 * build, so the words decide. Without a login, `denied`/`unauthorized` are also how a registry
 * hides a repository that does not exist: either way, asking again gets the same answer.
 */
const UNAUTHORIZED = [
  /\bunauthorized\b/i,
  /^denied\b/i,
  /requested access to the resource is denied/i,
  /no basic auth credentials/i,
  /authentication required/i,
  /incorrect username or password/i,
];

function unauthorized(error: unknown): boolean {
  const message = engineMessage(error);
  return UNAUTHORIZED.some((pattern) => pattern.test(message)) && !/repository does not exist/i.test(message);
}

/**
 * Answers in which the registry says it has no such image for us: asking again gets the same
 * answer. Engines say it differently, so the text decides, not the status: Docker's own 20.10
 * answers 404 ("pull access denied for …, repository does not exist", "manifest for … not found");
 * Debian's 20.10 answers 500 with the registry's error code alone ("manifest unknown", "name
 * unknown", "denied", "unauthorized"); a manifest list without this platform comes as a line of the
 * progress stream, with no status. `denied` and `unauthorized` count because the pull carries no
 * credentials: the same anonymous request cannot be let in later.
 *
 * A registry that cannot be reached says nothing about the image and stays retryable: connection
 * refused, timeouts, 5xx, rate limits, and also a registry name that does not resolve ("no such
 * host"), which is what a worker without network sees, but also one whose network is still coming
 * up. The price: without network, a missing image fails only once the retry budget is spent.
 * A blob the registry lacks (20.10: "unknown blob") stays retryable: its manifest exists, and the
 * push may still be running.
 */
const CANNOT_BE_HAD = [
  /repository does not exist/i,
  /pull access denied/i,
  /manifest unknown/i,
  /name unknown/i,
  /no matching manifest for/i,
  /manifest for \S+ not found/i,
  // A registry's bare 404 without an error body: dockerd quotes the body it could not parse.
  /"404 page not found"/i,
];

function cannotBeHad(error: unknown): boolean {
  if (statusCodeOf(error) === 404) return true;
  const message = engineMessage(error);
  return CANNOT_BE_HAD.some((pattern) => pattern.test(message));
}

/** The engine's own words, without our operation prefix and dockerode's `(HTTP code 500) server error - `. */
function engineMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  if (error instanceof DockerApiError && message.startsWith(`${error.operation}: `))
    message = message.slice(error.operation.length + 2);
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}
