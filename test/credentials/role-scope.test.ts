import { describe, expect, it } from '@jest/globals';
import {
  roleScope,
  roleScopeFromCmd,
  RoleScopeError,
  validateRoleScope,
} from '../../src/credentials/role-scope.js';

const KEY = 'sha256:' + '0123456789abcdef'.repeat(4);
const SCOPE = `assume:docker-service-image:proj-ci/linux/${KEY}`;

describe('role scope', () => {
  it('is assume:docker-service-image:<provisionerId>/<workerType>/<imageKey>', () => {
    expect(roleScope({ provisionerId: 'proj-ci', workerType: 'linux', imageKey: KEY })).toBe(SCOPE);
  });

  it.each([
    ['a wildcard image key', 'assume:docker-service-image:proj-ci/linux/*'],
    ['a tag as image key', 'assume:docker-service-image:proj-ci/linux/postgres:15'],
    ['an upper-case digest', `assume:docker-service-image:proj-ci/linux/${KEY.toUpperCase()}`],
    ['another prefix', `assume:worker-pool:proj-ci/linux/${KEY}`],
    ['a missing worker type', `assume:docker-service-image:proj-ci/${KEY}`],
    ['an extra segment', `assume:docker-service-image:proj-ci/linux/x/${KEY}`],
    ['a newline', `assume:docker-service-image:proj-ci/linux/${KEY}\n`],
  ])('refuses %s', (_what, scope) => {
    expect(() => validateRoleScope(scope)).toThrow(RoleScopeError);
  });

  it('is found as the one role scope in a proxy Cmd', () => {
    expect(roleScopeFromCmd(['--root-url=http://tc', SCOPE])).toBe(SCOPE);
    expect(() => roleScopeFromCmd(['--root-url=http://tc'])).toThrow(/exactly one/);
    expect(() => roleScopeFromCmd(undefined)).toThrow(/exactly one/);
    expect(() => roleScopeFromCmd(['--root-url=http://tc', SCOPE, SCOPE])).toThrow(/exactly one/);
    expect(() =>
      roleScopeFromCmd(['--root-url=http://tc', 'assume:docker-service-image:${imageKey}']),
    ).toThrow(RoleScopeError);
  });
});
