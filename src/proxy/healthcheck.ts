/**
 * The proxy image's HEALTHCHECK (there is no curl in the image): exits 0 when the proxy on
 * 127.0.0.1:<port> (default 80) answers `GET /__ready` with 200, else 1.
 */
import http from 'node:http';

const port = Number(process.argv[2] ?? 80);
const request = http.get({ host: '127.0.0.1', port, path: '/__ready', timeout: 2_000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
request.on('timeout', () => request.destroy(new Error('timeout')));
request.on('error', () => process.exit(1));
