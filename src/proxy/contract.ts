/**
 * What the rest of docker-services relies on in a proxy image, beyond taskcluster-proxy's flags:
 * the proxy listens on loopback of the network namespace it shares with its service, so neither
 * the worker's host nor its health check can reach it from outside; both go in with `docker exec`.
 */

/**
 * Written by the proxy once it listens (its port, then a newline), renamed into place so that a
 * reader sees all of it or nothing: the image's health check connects to that port on 127.0.0.1.
 */
export const LISTEN_PORT_FILE = '/tmp/taskcluster-proxy.port';

/**
 * Run in the proxy's container with the JSON body of taskcluster-proxy's `PUT /credentials` on its
 * stdin (never in its arguments or environment, which `docker inspect` and `ps` show): it sends
 * the body to the proxy on loopback and prints the HTTP status code. Exit 0 when the proxy
 * answered (whatever the status), else non-zero with a reason that never quotes the body.
 */
export const PUT_CREDENTIALS_COMMAND: readonly string[] = ['/proxy/put-credentials.sh'];
