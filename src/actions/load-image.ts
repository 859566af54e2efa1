/**
 * `load-image`: make a task's image artifact present locally under the graph's local reference.
 */
import type { LoadImage } from '../reconciler/actions.js';
import { describeSource } from '../desired-state/image-source.js';
import { TerminalError } from '../reconciler/errors.js';
import type { ActionResult, ExecuteContext } from './context.js';

export async function executeLoadImage(action: LoadImage, ctx: ExecuteContext): Promise<ActionResult> {
  // Downloading and loading artifacts is not built yet (issue 15, part 2): the plan shows the load,
  // and executing it fails terminally, naming what cannot be done.
  await Promise.resolve(ctx);
  throw new TerminalError(
    'image-not-found',
    `cannot ${describeSource(action.source)}: this version of docker-services does not download task ` +
      'image artifacts yet (fix: use a registry image)',
  );
}
