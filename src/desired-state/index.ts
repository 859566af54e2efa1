/** The desired state: payload and configuration codecs, `compile`, spec hashes and image binding. */
export * from './types.js';
export * from './labels.js';
export * from './errors.js';
export * from './config.js';
export * from './payload.js';
export * from './policy.js';
export * from './names.js';
export * from './hash.js';
export * from './images.js';
export * from './reference.js';
export * from './schema.js';
export * from './image-source.js';
export {
  compile,
  emptyGraph,
  ownershipLabels,
  PROXY_ALIAS,
  PROXY_LISTEN_ADDRESS,
  proxyUrl,
  HEALTH_CHECK_DEFAULTS,
  type CompileContext,
} from './compile.js';
export * from './task-container.js';
