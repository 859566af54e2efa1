#!/usr/bin/env node
/**
 * The proxy image's entrypoint: `node /proxy/proxy/main.js --port 80 --root-url=<url> <scope>...`,
 * credentials from TASKCLUSTER_CLIENT_ID / TASKCLUSTER_ACCESS_TOKEN / TASKCLUSTER_CERTIFICATE.
 * Exits 64 (usage) when started without a scope or credentials rather than run unrestricted.
 */
import { credentialsFromEnv, parseProxyArgs, ProxyUsageError } from './args.js';
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
  server.listen(args.port, () => {
    console.log(
      `taskcluster-proxy listening on :${args.port} for ${args.rootUrl}, client ${credentials.clientId} ` +
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

main();
