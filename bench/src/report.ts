/**
 * The results as JSON (everything, every sample) and as markdown: a summary of ratios to the
 * floor, the detail per scenario and N, the planner, the idle cost, and the targets.
 */
import type { ConcurrencyResult } from './concurrency.js';
import type { IdleResult } from './idle.js';
import type { PlannerResult } from './planner.js';
import type { ProxySample } from './proxy-metrics.js';
import { chanceApart, summarize, type Sample, type Stats } from './stats.js';
import type { Scenario } from './variants.js';

export interface RunRecord {
  scenario: Scenario;
  n: number;
  variant: string;
  proxies: boolean;
  up: Sample[];
  down: Sample[];
  /** Ready scenario: from the last `healthy` event (Docker's time; this process's receipt) to the ready signal. */
  lag: { fromDaemonMs: number; fromSeenMs: number }[];
  /** Docker API calls per up and per down, where the variant's calls go through our client. */
  upCalls: number[];
  downCalls: number[];
  /** Those calls by method, summed over the measured runs: where a variant spends them. */
  upCallsByMethod?: Record<string, number>;
  downCallsByMethod?: Record<string, number>;
  /** One sample per proxy per run (real proxy only): start-up by Docker's clock and memory. */
  proxySamples: ProxySample[];
  errors: string[];
}

export interface BenchResults {
  meta: {
    date: string;
    mode: string;
    benchRunId: string;
    machine: { cpus: number; memoryGiB: number; kernel: string; docker: string; node: string };
    loadAverage: { start: number[]; end: number[] };
    options: object;
    notes: string[];
    leftovers?: { containers: string[]; networks: string[] };
  };
  updown: RunRecord[];
  planner: PlannerResult[];
  idle: IdleResult | undefined;
  concurrency?: ConcurrencyResult | undefined;
  errors: string[];
}

const TARGET_RATIO = 1.1;
/** Issue 19: the common case (1–5 services) and N = 20 at the floor, with the real proxy. */
const TARGET_RATIO_NS = [1, 3, 5, 20, 50];
const TARGET_NO_PROXY_RATIO = 1.05;
const TARGET_NO_PROXY_NS = [1, 5];
const TARGET_UP_CALLS_RATIO = 1.5;
const TARGET_DOWN_CALLS_RATIO = 2;
const TARGET_CALLS_NS = [5, 20];
const TARGET_PROXY_MIB = 25;
const TARGET_PLANNER_MS = 50;
const TARGET_LAG_MS = 50;

function baselineOf(record: RunRecord): string {
  return record.proxies ? 'floor' : 'floor-no-proxy';
}

function find(results: BenchResults, scenario: Scenario, n: number, variant: string): RunRecord | undefined {
  return results.updown.find((r) => r.scenario === scenario && r.n === n && r.variant === variant);
}

function stats(samples: readonly Sample[], key: keyof Sample): Stats {
  return summarize(samples.map((s) => s[key]));
}

export function ratio(results: BenchResults, record: RunRecord, phase: 'up' | 'down'): number | undefined {
  const base = find(results, record.scenario, record.n, baselineOf(record));
  if (!base || base[phase].length === 0 || record[phase].length === 0) return undefined;
  return stats(record[phase], 'wallMs').median / stats(base[phase], 'wallMs').median;
}

/**
 * The median over rounds of this variant's time over the floor's in the same round: rounds are
 * interleaved, so a round's pair shares the machine's state, which a ratio of medians does not.
 * Undefined when a failed run leaves the samples unpaired.
 */
export function pairedRatio(
  results: BenchResults,
  record: RunRecord,
  phase: 'up' | 'down',
): number | undefined {
  const base = find(results, record.scenario, record.n, baselineOf(record));
  if (!base || record.errors.length > 0 || base.errors.length > 0) return undefined;
  const ours = record[phase];
  const floor = base[phase];
  if (ours.length === 0 || ours.length !== floor.length) return undefined;
  return summarize(ours.map((s, i) => s.wallMs / floor[i]!.wallMs)).median;
}

const ms = (v: number): string => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : '–');
const x = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(2)}×`;
const range = (s: Stats): string => (s.n === 0 ? '–' : `${ms(s.median)} (${ms(s.min)}–${ms(s.max)})`);

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function summaryTable(results: BenchResults, scenario: Scenario): string {
  const ns = [...new Set(results.updown.filter((r) => r.scenario === scenario).map((r) => r.n))].sort(
    (a, b) => a - b,
  );
  const variants = [...new Set(results.updown.filter((r) => r.scenario === scenario).map((r) => r.variant))];
  const header = ['variant', 'vs', ...ns.map((n) => `N=${n} up`), ...ns.map((n) => `N=${n} down`)];
  const rows = variants.map((variant) => {
    const any = results.updown.find((r) => r.variant === variant)!;
    const cells = (phase: 'up' | 'down'): string[] =>
      ns.map((n) => {
        const record = find(results, scenario, n, variant);
        if (!record || record[phase].length === 0) return '–';
        const median = stats(record[phase], 'wallMs').median;
        const isBase = variant === baselineOf(record);
        return isBase ? `${ms(median)} ms` : `${x(ratio(results, record, phase))}`;
      });
    return [variant, any.proxies ? 'floor' : 'floor-no-proxy', ...cells('up'), ...cells('down')];
  });
  return table(header, rows);
}

function detailTable(results: BenchResults, scenario: Scenario, n: number): string {
  const records = results.updown.filter((r) => r.scenario === scenario && r.n === n);
  const header = [
    'variant',
    'up ms median (min–max)',
    'up ×floor (paired)',
    'down ms median (min–max)',
    'down ×floor (paired)',
    'CPU ms up / down',
    'ΔRSS MiB up / down',
    'API calls up / down',
    ...(scenario === 'ready' ? ['ready lag ms (Docker time / seen)'] : []),
    'runs',
  ];
  const rows = records.map((r) => {
    const lag =
      r.lag.length === 0
        ? '–'
        : `${range(summarize(r.lag.map((l) => l.fromDaemonMs)))} / ${ms(summarize(r.lag.map((l) => l.fromSeenMs)).median)}`;
    const calls =
      r.upCalls.length === 0 ? '–' : `${summarize(r.upCalls).median} / ${summarize(r.downCalls).median}`;
    return [
      r.variant,
      range(stats(r.up, 'wallMs')),
      `${x(ratio(results, r, 'up'))} (${x(pairedRatio(results, r, 'up'))})`,
      range(stats(r.down, 'wallMs')),
      `${x(ratio(results, r, 'down'))} (${x(pairedRatio(results, r, 'down'))})`,
      `${ms(stats(r.up, 'cpuMs').median)} / ${ms(stats(r.down, 'cpuMs').median)}`,
      `${ms(stats(r.up, 'rssMiB').max)} / ${ms(stats(r.down, 'rssMiB').max)}`,
      calls,
      ...(scenario === 'ready' ? [lag] : []),
      `${r.up.length}${r.errors.length ? ` (${r.errors.length} failed)` : ''}`,
    ];
  });
  return table(header, rows);
}

function callsRatio(results: BenchResults, record: RunRecord, phase: 'up' | 'down'): number | undefined {
  const base = find(results, record.scenario, record.n, baselineOf(record));
  const key = phase === 'up' ? 'upCalls' : 'downCalls';
  if (!base || base[key].length === 0 || record[key].length === 0) return undefined;
  return summarize(record[key]).median / summarize(base[key]).median;
}

const MiB = (kib: number | undefined): number | undefined => (kib === undefined ? undefined : kib / 1024);

function targets(results: BenchResults): string[] {
  const lines: string[] = [];
  const verdict = (ok: boolean | undefined): string =>
    ok === undefined ? 'not measured' : ok ? 'met' : '**not met**';
  const timeTarget = (variant: string, ns: number[], target: number): void => {
    for (const n of ns) {
      for (const scenario of ['running', 'ready'] as const) {
        const r = find(results, scenario, n, variant);
        if (!r) continue;
        const up = ratio(results, r, 'up');
        const down = ratio(results, r, 'down');
        const ok = up === undefined || down === undefined ? undefined : up <= target && down <= target;
        lines.push(
          `- ${variant}, ${scenario}, N=${n}: up ${x(up)}, down ${x(down)} (target ≤ ${target.toFixed(2)}×): ${verdict(ok)}`,
        );
      }
    }
  };
  timeTarget('ours', TARGET_RATIO_NS, TARGET_RATIO);
  timeTarget('ours-no-proxy', TARGET_NO_PROXY_NS, TARGET_NO_PROXY_RATIO);
  timeTarget(
    'ours-no-proxy',
    TARGET_RATIO_NS.filter((n) => !TARGET_NO_PROXY_NS.includes(n)),
    TARGET_RATIO,
  );
  // Not a target: how far the floor lands from itself in this run, the yardstick for the lines
  // above; and, from the cell's floor samples of both, how often that lands past the line.
  for (const control of ['floor-aa', 'floor-no-proxy-aa']) {
    for (const n of TARGET_RATIO_NS) {
      for (const scenario of ['running', 'ready'] as const) {
        const r = find(results, scenario, n, control);
        const base = r && find(results, scenario, n, baselineOf(r));
        if (!r || !base) continue;
        const line = r.proxies ? TARGET_RATIO : TARGET_NO_PROXY_RATIO;
        const chance = (phase: 'up' | 'down'): string => {
          const pooled = [...r[phase], ...base[phase]].map((s) => s.wallMs);
          const p = chanceApart(pooled, Math.min(r[phase].length, base[phase].length), line);
          return Number.isFinite(p) ? `${Math.round(p * 100)} %` : '–';
        };
        lines.push(
          `- A/A control, ${control} (the floor's calls again) against ${base.variant}, ${scenario}, N=${n}: up ${x(ratio(results, r, 'up'))}, down ${x(ratio(results, r, 'down'))}; two medians of these ${r.up.length + base.up.length} floor runs land over ${line.toFixed(2)}× apart in up ${chance('up')}, down ${chance('down')} of draws`,
        );
      }
    }
  }
  for (const n of TARGET_CALLS_NS) {
    for (const scenario of ['running', 'ready'] as const) {
      const r = find(results, scenario, n, 'ours');
      if (!r) continue;
      const up = callsRatio(results, r, 'up');
      const down = callsRatio(results, r, 'down');
      const ok =
        up === undefined || down === undefined
          ? undefined
          : up <= TARGET_UP_CALLS_RATIO && down <= TARGET_DOWN_CALLS_RATIO;
      lines.push(
        `- API calls, ours, ${scenario}, N=${n}: up ${x(up)}, down ${x(down)} the floor's (target up ≤ ${TARGET_UP_CALLS_RATIO}×, down ≤ ${TARGET_DOWN_CALLS_RATIO}×): ${verdict(ok)}`,
      );
    }
  }
  for (const r of results.updown.filter(
    (r) => r.variant === 'ours' && r.n === 3 && r.proxySamples.length > 0,
  )) {
    const pss = MiB(
      summarize(r.proxySamples.flatMap((p) => (p.pssKiB === undefined ? [] : [p.pssKiB]))).median,
    );
    const rss = MiB(
      summarize(r.proxySamples.flatMap((p) => (p.vmRssKiB === undefined ? [] : [p.vmRssKiB]))).median,
    );
    const own = MiB(
      summarize(r.proxySamples.flatMap((p) => (p.privateKiB === undefined ? [] : [p.privateKiB]))).median,
    );
    lines.push(
      `- proxy memory per service, ours, ${r.scenario}, N=3: Pss ${ms(pss ?? NaN)} MiB (private ${ms(own ?? NaN)} MiB), VmRSS ${ms(rss ?? NaN)} MiB median (target ≤ ${TARGET_PROXY_MIB} MB; Pss counts shared pages once across the proxies): Pss ${verdict(pss === undefined ? undefined : pss <= TARGET_PROXY_MIB)}, VmRSS ${verdict(rss === undefined ? undefined : rss <= TARGET_PROXY_MIB)}`,
    );
  }
  if (results.concurrency) {
    const c = results.concurrency;
    lines.push(
      `- concurrency, ${c.tasks} tasks × ${c.services} services with the real proxy: ${c.ready} of ${c.tasks} ready in ${ms(c.allReadyMs)} ms (target: every one): ${verdict(c.ready === c.tasks)}`,
    );
  }
  const big = results.planner.filter((p) => p.nodes >= 10_000);
  for (const p of big) {
    lines.push(
      `- planner, ${p.nodes} nodes, ${p.snapshot} snapshot: ${ms(p.ms.median)} ms (target ≤ ${TARGET_PLANNER_MS} ms): ${verdict(p.ms.median <= TARGET_PLANNER_MS)}`,
    );
  }
  for (const r of results.updown.filter(
    (r) => r.scenario === 'ready' && r.variant.startsWith('ours') && r.lag.length > 0,
  )) {
    const lag = summarize(r.lag.map((l) => l.fromDaemonMs)).median;
    lines.push(
      `- readiness lag, ${r.variant}, N=${r.n}: ${ms(lag)} ms median (target ≤ ${TARGET_LAG_MS} ms): ${verdict(lag <= TARGET_LAG_MS)}`,
    );
  }
  if (results.idle) {
    lines.push(
      `- idle, ${results.idle.services} services for ${results.idle.seconds} s: ${results.idle.otherCallsPerMinute.toFixed(1)} calls/min besides the relists (${((((results.idle.byMethod.systemTime ?? 0) - (results.idle.otherByMethod.systemTime ?? 0)) * 60) / results.idle.seconds).toFixed(1)}/min) (target 0): ${verdict(results.idle.otherCallsPerMinute === 0)}`,
    );
  }
  return lines;
}

export function markdown(results: BenchResults): string {
  const { meta } = results;
  const load = (l: number[]): string => l.map((v) => v.toFixed(2)).join(' ');
  const out: string[] = [];
  out.push(`# docker-services benchmark (${meta.mode})`);
  out.push('');
  out.push(
    `${meta.date}; ${meta.machine.cpus} cores, ${meta.machine.memoryGiB} GiB, Linux ${meta.machine.kernel}, dockerd ${meta.machine.docker}, Node ${meta.machine.node}. ` +
      `Load average at start ${load(meta.loadAverage.start)}, at end ${load(meta.loadAverage.end)} (the machine is shared: numbers taken under load are noisy).`,
  );
  out.push('');
  out.push(
    'Wall time until every service runs (or is healthy) and until nothing remains, as the ratio of medians to the floor ' +
      '(raw API calls for the same objects, all at once); the floor itself in ms. Variants with proxies are compared with ' +
      '`floor`, service-only variants with `floor-no-proxy`.',
  );
  for (const note of meta.notes) out.push(`\n_${note}_`);
  for (const scenario of ['running', 'ready'] as const) {
    if (!results.updown.some((r) => r.scenario === scenario)) continue;
    out.push('');
    out.push(
      `## ${scenario === 'running' ? 'Up until running, down' : 'Up until healthy (health check every 1 s), down'}`,
    );
    out.push('');
    out.push(summaryTable(results, scenario));
  }
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push(...targets(results));
  if (results.planner.length > 0) {
    out.push('');
    out.push('## Planner');
    out.push('');
    out.push(
      table(
        ['nodes', 'services', 'snapshot', 'actions', 'plan() ms median (min–max)', 'iterations'],
        results.planner.map((p) => [
          String(p.nodes),
          String(p.services),
          p.snapshot,
          String(p.actions),
          range(p.ms),
          String(p.iterations),
        ]),
      ),
    );
  }
  const proxyRecords = results.updown.filter((r) => r.proxySamples.length > 0);
  if (proxyRecords.length > 0) {
    out.push('');
    out.push('## Proxies');
    out.push('');
    out.push(
      "Per proxy, over every proxy of every run: start → healthy (Docker's `start` and first `health_status: healthy` " +
        'events), start → listening (the daemon\'s timestamp of the proxy\'s "listening" log line), and the memory of its ' +
        "main process from the host's `/proc/<pid>`: VmRSS (every mapped page in full), Pss (pages shared with " +
        'the other proxies, such as the node binary, divided among them: what one more proxy costs) and Private (the pages ' +
        'no other process maps: what its exit frees), sampled once it is healthy.',
    );
    out.push('');
    const col = (r: RunRecord, key: keyof ProxySample, scale = 1): string => {
      const values = r.proxySamples.flatMap((p) => (p[key] === undefined ? [] : [p[key]! / scale]));
      return range(summarize(values));
    };
    out.push(
      table(
        [
          'scenario',
          'N',
          'variant',
          'start → healthy ms',
          'start → listening ms',
          'VmRSS MiB',
          'Pss MiB',
          'Private MiB',
          'proxies',
        ],
        proxyRecords.map((r) => [
          r.scenario,
          String(r.n),
          r.variant,
          col(r, 'startToHealthyMs'),
          col(r, 'startToListeningMs'),
          col(r, 'vmRssKiB', 1024),
          col(r, 'pssKiB', 1024),
          col(r, 'privateKiB', 1024),
          String(r.proxySamples.length),
        ]),
      ),
    );
  }
  const byMethod = results.updown.filter((r) => r.upCallsByMethod && r.upCalls.length > 0);
  if (byMethod.length > 0) {
    out.push('');
    out.push('## API calls by method');
    out.push('');
    out.push(
      "Per up and per down, the mean over the measured runs of each method (`·` for none): where a variant spends its calls beside the floor's.",
    );
    const methods = [
      ...new Set(
        byMethod.flatMap((r) => [
          ...Object.keys(r.upCallsByMethod!),
          ...Object.keys(r.downCallsByMethod ?? {}),
        ]),
      ),
    ].sort();
    const cell = (counts: Record<string, number> | undefined, method: string, runs: number): string => {
      const v = (counts?.[method] ?? 0) / runs;
      return v === 0 ? '·' : Number.isInteger(v) ? String(v) : v.toFixed(1);
    };
    for (const phase of ['up', 'down'] as const) {
      out.push('');
      out.push(
        table(
          ['scenario', 'N', 'variant', ...methods],
          byMethod.map((r) => [
            r.scenario,
            String(r.n),
            `${r.variant} ${phase}`,
            ...methods.map((m) =>
              cell(phase === 'up' ? r.upCallsByMethod : r.downCallsByMethod, m, r.upCalls.length),
            ),
          ]),
        ),
      );
    }
  }
  if (results.concurrency) {
    const c = results.concurrency;
    out.push('');
    out.push('## Concurrency');
    out.push('');
    out.push(
      `${c.tasks} tasks × ${c.services} services with the real proxy, started together through one ServiceManager, each service with a health check every second: ` +
        `**${c.ready} of ${c.tasks} ready**, all in ${ms(c.allReadyMs)} ms (each task: ${range(summarize(c.readyMs))} ms); down of all ${ms(c.downMs)} ms. ` +
        `Proxies (${c.proxies.seen} seen, sampled every second from /proc): peak sum VmRSS ${ms(c.proxies.peakSumVmRssMiB)} MiB, Pss ${ms(c.proxies.peakSumPssMiB)} MiB; ` +
        `largest single proxy VmRSS ${ms(c.proxies.peakVmRssMiB)} MiB, Pss ${ms(c.proxies.peakPssMiB)} MiB. ` +
        `This process: RSS ${ms(c.benchRssMiB.before)} MiB before, ${ms(c.benchRssMiB.peak)} MiB at its peak.`,
    );
    for (const e of c.errors) out.push(`\n- failed: ${e.split('\n')[0]}`);
  }
  if (results.idle) {
    const i = results.idle;
    out.push('');
    out.push('## Idle cost');
    out.push('');
    // One relist reads the daemon time once (collectSnapshot); a burst may hold several.
    const relists = (i.byMethod.systemTime ?? 0) - (i.otherByMethod.systemTime ?? 0);
    out.push(
      `${i.services} services with proxies, converged, watched for ${i.seconds} s: ${i.calls} calls (${i.callsPerMinute.toFixed(1)}/min) ` +
        `in ${i.relists} bursts (${i.relistsPerMinute.toFixed(1)}/min) holding ${relists} relists ` +
        `(${((relists * 60) / i.seconds).toFixed(1)}/min), ${i.otherCallsPerMinute.toFixed(1)} calls/min outside relists.`,
    );
    out.push('');
    out.push(
      table(
        ['method', 'calls', 'outside relists'],
        Object.entries(i.byMethod)
          .sort()
          .map(([m, c]) => [m, String(c), String(i.otherByMethod[m] ?? 0)]),
      ),
    );
  }
  out.push('');
  out.push('## Detail');
  out.push('');
  out.push(
    '×floor is the ratio of medians (the summary and the targets use it); in brackets, the median over rounds of ' +
      "the variant's time over the floor's in the same round (rounds are interleaved), which the machine's drift " +
      'between rounds moves less.',
  );
  for (const scenario of ['running', 'ready'] as const) {
    for (const n of [...new Set(results.updown.filter((r) => r.scenario === scenario).map((r) => r.n))].sort(
      (a, b) => a - b,
    )) {
      out.push('');
      out.push(`### ${scenario}, N=${n}`);
      out.push('');
      out.push(detailTable(results, scenario, n));
    }
  }
  if (results.errors.length > 0) {
    out.push('');
    out.push('## Errors');
    out.push('');
    for (const e of results.errors) out.push(`- ${e.split('\n')[0]}`);
  }
  out.push('');
  return out.join('\n');
}
