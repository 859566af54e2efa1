/**
 * `node --import tsx bench/src/trace.ts [N] [--no-proxy] [--ready] [--proxy-image IMAGE]`: one up
 * and down through the library (after one not traced, as in the bench's warm-up) with every Docker
 * API call printed with its time since start: where the library's time goes. The proxy is the real
 * one (docker-services/proxy:latest) unless named.
 */
import { Label } from '../../src/desired-state/labels.js';
import { OWNER_ID, api, removeLeftovers, workerConfig } from './common.js';
import { countingApi } from './stats.js';
import { ours, type VariantContext } from './variants.js';
import type { HealthWatch } from './health-watch.js';

const n = Number(process.argv[2] ?? 1);
const proxies = !process.argv.includes('--no-proxy');
const scenario = process.argv.includes('--ready') ? 'ready' : 'running';
const imageAt = process.argv.indexOf('--proxy-image');
const proxyImage = imageAt > 0 ? process.argv[imageAt + 1] : undefined;
const plain = api();
const { api: counted, calls } = countingApi(plain);
// Prints when the observer's event stream delivers data, to tell event-driven refreshes from relists.
// Each call's answer too (`<- method`), to tell Docker's time from ours.
const answered = Object.fromEntries(
  Object.entries(counted).map(([method, fn]) => [
    method,
    async (...args: unknown[]) => {
      try {
        return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      } finally {
        calls.push({ method: `   <- ${method}`, at: Date.now() });
      }
    },
  ]),
) as unknown as typeof counted;
const docker = {
  ...answered,
  events: async (options: Parameters<typeof counted.events>[0]) => {
    const stream = await answered.events(options);
    stream.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        try {
          const e = JSON.parse(line) as {
            Type?: string;
            Action?: string;
            Actor?: { Attributes?: Record<string, string> };
          };
          const attributes = e.Actor?.Attributes ?? {};
          if (attributes[Label.owner] === OWNER_ID || attributes.name?.startsWith('ds-'))
            calls.push({ method: `   event ${e.Type} ${e.Action} ${attributes.name ?? ''}`, at: Date.now() });
        } catch {
          // a split frame
        }
      }
    });
    stream.on('end', () => calls.push({ method: '   event stream ended', at: Date.now() }));
    return stream;
  },
};
const ctx: VariantContext = {
  docker,
  config: workerConfig(proxyImage),
  watch: undefined as unknown as HealthWatch,
  health: { intervalS: 1 },
  // Only the floor's ready scenario reads it; the trace runs the library alone.
  proxyHealthCheck: false,
  onChild: () => {},
  timeoutMs: 120_000,
};
const variant = ours(ctx, proxies);
try {
  // A worker's second task, not its first: the manager's clock and module loading are warm.
  await (await variant.up(n, scenario)).down();
  calls.length = 0;
  const t0 = Date.now();
  const handle = await variant.up(n, scenario);
  const up = Date.now() - t0;
  const upCallsAt = calls.length;
  const upCalls = calls.filter((c) => !c.method.startsWith(' ')).length;
  await handle.down();
  const down = Date.now() - t0 - up;
  let last = t0;
  for (const [i, c] of calls.entries()) {
    if (i === upCallsAt) console.log(`-- up done at ${up} ms`);
    console.log(`${String(c.at - t0).padStart(6)} ms (+${String(c.at - last).padStart(4)}) ${c.method}`);
    last = c.at;
  }
  console.log(
    `-- down done at ${up + down} ms: up ${up} ms (${upCalls} calls), down ${down} ms (${calls.filter((c) => !c.method.startsWith(' ')).length - upCalls} calls)`,
  );
} finally {
  await removeLeftovers(plain);
}
process.exit(0);
