/**
 * The scope a service's proxy holds:
 * `assume:docker-service-image:<provisionerId>/<workerType>/<imageKey>`, keyed on an immutable
 * image identity (`sha256:<64 hex>`), never a tag.
 */
import { validScope } from 'taskcluster-lib-scopes';

export const ROLE_SCOPE_PREFIX = 'assume:docker-service-image:';

const IDENTIFIER = /^[a-zA-Z0-9_-]{1,38}$/;
const IMAGE_KEY = /^sha256:[0-9a-f]{64}$/;

export class RoleScopeError extends Error {
  override readonly name = 'RoleScopeError';
}

export function roleScope(parts: { provisionerId: string; workerType: string; imageKey: string }): string {
  return validateRoleScope(
    `${ROLE_SCOPE_PREFIX}${parts.provisionerId}/${parts.workerType}/${parts.imageKey}`,
  );
}

/** Returns the scope when it is a valid role scope for exactly one image; else throws saying why. */
export function validateRoleScope(scope: string): string {
  if (!validScope(scope))
    throw new RoleScopeError(`${JSON.stringify(scope)} is not a valid Taskcluster scope`);
  if (!scope.startsWith(ROLE_SCOPE_PREFIX))
    throw new RoleScopeError(`${JSON.stringify(scope)} does not start with ${ROLE_SCOPE_PREFIX}`);
  const [provisionerId = '', workerType = '', imageKey = '', ...rest] = scope
    .slice(ROLE_SCOPE_PREFIX.length)
    .split('/');
  if (rest.length > 0 || !IDENTIFIER.test(provisionerId) || !IDENTIFIER.test(workerType))
    throw new RoleScopeError(
      `${JSON.stringify(scope)} must be ${ROLE_SCOPE_PREFIX}<provisionerId>/<workerType>/<imageKey>`,
    );
  // A `*` or a tag here would hand one image's proxy the role of many.
  if (!IMAGE_KEY.test(imageKey))
    throw new RoleScopeError(`${JSON.stringify(scope)}: the image key must be sha256:<64 lower-case hex>`);
  return scope;
}

/** The role scope among a proxy's `Cmd` (`--root-url=…` then the scopes): exactly one is expected. */
export function roleScopeFromCmd(cmd: readonly string[] | undefined): string {
  const scopes = (cmd ?? []).filter((arg) => arg.startsWith(ROLE_SCOPE_PREFIX));
  if (scopes.length !== 1)
    throw new RoleScopeError(
      `a proxy's command must hold exactly one ${ROLE_SCOPE_PREFIX}… scope, found ${scopes.length}`,
    );
  return validateRoleScope(scopes[0] as string);
}
