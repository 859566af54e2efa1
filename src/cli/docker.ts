/**
 * Docker from the usual conventions: `DOCKER_HOST` as `unix:///path`, `tcp://host:port` (or
 * `http://`, `https://` with DOCKER_CERT_PATH honoured by dockerode's own defaults), otherwise the
 * default socket. Only `src/docker/client.ts` uses dockerode's calls; this only builds the handle.
 */
import Docker from 'dockerode';
import { dockerApi, type DockerApi } from '../docker/client.js';
import { InputError } from './errors.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export type DockerTarget =
  { socketPath: string } | { protocol: 'http' | 'https'; host: string; port: number };

export function dockerTarget(env: Record<string, string | undefined>): DockerTarget {
  const raw = env.DOCKER_HOST?.trim();
  if (!raw) return { socketPath: DEFAULT_DOCKER_SOCKET };
  if (raw.startsWith('/')) return { socketPath: raw };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(`DOCKER_HOST "${raw}" is not unix:///path/to/socket or tcp://host:port`);
  }
  if (url.protocol === 'unix:') return { socketPath: url.pathname };
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const tls = url.protocol === 'https:' || env.DOCKER_TLS_VERIFY === '1';
    const port = url.port ? Number(url.port) : tls ? 2376 : 2375;
    return { protocol: tls ? 'https' : 'http', host: url.hostname, port };
  }
  throw new InputError(`DOCKER_HOST "${raw}": unsupported scheme ${url.protocol} (use unix:// or tcp://)`);
}

export function dockerFromEnv(env: Record<string, string | undefined>): { docker: Docker; api: DockerApi } {
  const docker = new Docker(dockerTarget(env));
  return { docker, api: dockerApi(docker) };
}
