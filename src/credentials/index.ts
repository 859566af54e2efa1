export { redact, redactError, secretsOf, REDACTED } from './redact.js';
export {
  roleScope,
  roleScopeFromCmd,
  validateRoleScope,
  RoleScopeError,
  ROLE_SCOPE_PREFIX,
} from './role-scope.js';
export {
  proxyCredentials,
  decodeWorkerCredentials,
  isTemporary,
  CredentialsError,
  WorkerCredentials,
  type ProxyEnv,
  type ProxyCredentialsInput,
} from './proxy-credentials.js';
export {
  CredentialsSource,
  CredentialsPushError,
  type CredentialsSourceOptions,
  type LiveProxy,
  type PushResult,
} from './source.js';
