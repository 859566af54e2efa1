#!/usr/bin/env node
/**
 * The proxy image's entrypoint: `node /proxy/proxy/main.js [--ip-address <address>] [--port <n>]
 * --root-url=<url> <scope>...`, credentials from TASKCLUSTER_CLIENT_ID / TASKCLUSTER_ACCESS_TOKEN /
 * TASKCLUSTER_CERTIFICATE. Exits 64 (usage) when started without a scope or credentials rather
 * than run unrestricted. Once it listens, it writes its port to `LISTEN_PORT_FILE` for the
 * image's health check and credential push, which cannot know the port otherwise.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { credentialsFromEnv, parseProxyArgs, ProxyUsageError } from './args.js';
import { LISTEN_PORT_FILE } from './contract.js';
import { createProxyServer } from './server.js';

function main(): void {
  let args;
  let credentials;
  try {
    args = parseProxyArgs(process.argv.slice(2), process.env);
    credentials = credentialsFromEnv(process.env);
  } catch (error) {
    if (error instanceof ProxyUsageError) {
      console.error(`taskcluster-proxy: ${error.message}`);
      process.exit(64);
    }
    throw error;
  }
  // The credentials have been read; keep them out of the environment of anything spawned later.
  delete process.env.TASKCLUSTER_ACCESS_TOKEN;
  delete process.env.TASKCLUSTER_CERTIFICATE;

  const { server } = createProxyServer({
    rootUrl: args.rootUrl,
    scopes: args.scopes,
    credentials,
    log: (line) => console.log(line),
  });
  server.listen(args.port, args.host, () => {
    announce(args.port);
    console.log(
      `taskcluster-proxy listening on ${args.host ?? ''}:${args.port} for ${args.rootUrl}, client ${credentials.clientId} ` +
        `(${credentials.certificate ? 'temporary' : 'permanent'}), authorized scopes ${JSON.stringify(args.scopes)}`,
    );
  });
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** Writes the port where the health check reads it; without it the proxy serves, yet never reports healthy. */
function announce(port: number): void {
  const partial = `${LISTEN_PORT_FILE}.${process.pid}`;
  try {
    writeFileSync(partial, `${port}\n`);
    renameSync(partial, LISTEN_PORT_FILE);
  } catch (error) {
    console.error(`taskcluster-proxy: could not write ${LISTEN_PORT_FILE}: ${(error as Error).message}`);
  }
}

main();
