export type * from './types.js';
export type * from './requests.js';
export type { ObserveScope } from './scope.js';
export { collectSnapshot } from './collect.js';
export { classify, nameBelongsToRun, runNameStem, type Ownership } from './ownership.js';
export { mapContainer, mapImage, mapNetwork } from './map.js';
export { FrameParser, toDockerEvent, type DockerEvent } from './frames.js';
export { observe, backoffDelay, DEFAULT_BACKOFF, type Backoff, type ObserveOptions } from './observe.js';
export { DaemonClockSource } from './daemon-clock.js';
