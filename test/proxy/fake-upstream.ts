/**
 * The fake Taskcluster upstream of fixtures/images/upstream, run in-process: the same code the
 * `ds-fixtures/upstream` image runs, verifying Hawk with the `hawk` library.
 */
import { createRequire } from 'node:module';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamClient {
  accessToken: string;
  scopes: string[];
}

/** What the upstream saw of one request (its JSON reply). */
export interface Seen {
  method: string;
  resource: string;
  host: string;
  clientId: string | null;
  valid: boolean;
  error: string | null;
  certificateScopes: string[] | null;
  authorizedScopes: string[] | null;
  scopes: string[] | null;
}

const require = createRequire(import.meta.url);
const { createUpstream } = require('../../fixtures/images/upstream/server.cjs') as {
  createUpstream(clients: Record<string, UpstreamClient>, onSeen: (seen: Seen) => void): http.Server;
};

export interface RunningUpstream {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

export async function startUpstream(clients: Record<string, UpstreamClient>): Promise<RunningUpstream> {
  const seen: Seen[] = [];
  const server = createUpstream(clients, (s) => seen.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
