/**
 * `pull-image`: make an image present locally. There may be no registry at all (air-gapped
 * workers, this test machine): a registry that says the image does not exist is terminal; any
 * other pull failure is retryable, and the loop's retry budget bounds it.
 */
import { statusCodeOf } from '../docker/client.js';
import type { PullImage } from '../reconciler/actions.js';
import { RetryableError, TerminalError } from '../reconciler/errors.js';
import { classify } from './common.js';
import type { ActionResult, ExecuteContext } from './context.js';

export async function executePullImage(action: PullImage, ctx: ExecuteContext): Promise<ActionResult> {
  const what = `pull image ${action.image}`;
  const present = await ctx.docker.inspectImage(action.image).catch((error) => {
    throw classify(what, error);
  });
  if (present) return { imageId: present.Id, alreadyDone: true };
  try {
    await ctx.docker.pullImage(action.image);
  } catch (error) {
    // A pull that timed out (or failed late) may still have landed the image.
    const landed = await ctx.docker.inspectImage(action.image).catch(() => undefined);
    if (landed) return { imageId: landed.Id };
    if (statusCodeOf(error) === 404) {
      throw new TerminalError(
        'image-not-found',
        `image ${action.image} is not present locally and the registry has no such image`,
        {
          cause: error,
        },
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
