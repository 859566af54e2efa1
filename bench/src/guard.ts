/**
 * `node --import tsx bench/src/guard.ts protect|release NETWORK_ID...`: puts networks in the
 * isolation guard (or takes them out) exactly as the executors do, for bench/isolation.sh --guard.
 */
import { NftablesGuard } from '../../src/host/isolation-guard.js';

const [op, ...ids] = process.argv.slice(2);
if ((op !== 'protect' && op !== 'release') || ids.length === 0) {
  process.stderr.write('usage: guard.ts protect|release NETWORK_ID...\n');
  process.exit(1);
}
const guard = new NftablesGuard();
for (const id of ids) await guard[op](id);
