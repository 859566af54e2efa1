/**
 * `npm run bench` (scripts/bench.sh) runs this: planner scaling, up and down of N busybox
 * services by every variant (interleaved, warm-up first, median and min–max), readiness lag and
 * idle API calls; results go to bench/results/<mode>.{json,md}. Not part of the tests: targets are
 * reported against, never asserted.
 *
 * Every Docker call has a deadline, every up and down has one, and a watchdog ends the whole run:
 * a hung or failing daemon ends the bench with a message saying so, and what it made is removed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chartSvg } from './chart.js';
import { concurrencyRun } from './concurrency.js';
import {
  IMAGES,
  OWNER_ID,
  api,
  benchRunId,
  dockerode,
  leftovers,
  removeLeftovers,
  removeLeftoversAndRecheck,
  sleep,
  withDeadline,
  workerConfig,
  type ProxyKind,
} from './common.js';
import { HealthWatch, nowMs } from './health-watch.js';
import { idleReport, type IdleResult } from './idle.js';
import { benchPlanner, type PlannerResult } from './planner.js';
import { READY_LINE_LABEL } from '../../src/observed-state/ready-line.js';
import { sampleProxies } from './proxy-metrics.js';
import { markdown, type BenchResults, type RunRecord } from './report.js';
import { countingApi, measure, type CallRecord } from './stats.js';
import {
  compose,
  floor,
  ours,
  sequential,
  testcontainers,
  type Handle,
  type Scenario,
  type Variant,
  type VariantContext,
} from './variants.js';

process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';

interface Options {
  mode: string;
  ns: number[];
  readyNs: number[];
  runs: number;
  warmup: number;
  scenarios: Scenario[];
  variants: string[] | undefined;
  idleSeconds: number;
  idleServices: number;
  plannerSizes: number[];
  plannerBudgetMs: number;
  opTimeoutMs: number;
  watchdogMinutes: number;
  healthIntervalS: number;
  proxy: ProxyKind;
  proxyImage: string | undefined;
  /** Concurrency scenario: this many tasks of `concurrencyServices` services, started together (0: skip). */
  concurrencyTasks: number;
  concurrencyServices: number;
  /**
   * Idle time before each up (ms), so that no up or down runs on the kernel's tail of the previous
   * variant's down (a network namespace is torn down after dockerd answers). At N = 1, running, 6
   * runs of the four variants: the floor-no-proxy's ups spread over 884-1109 ms without it and over
   * 870-902 ms with 1.5 s. (ours-no-proxy stayed 50-80 ms behind the floor in both, so that gap is
   * not carry-over.) The same idle comes before each down: a task's services run for the task
   * before they are stopped, never only until the last of them is up, and a down begun at once
   * ran on the up's tail (proxies still compiling, health checks in flight).
   */
  pauseMs: number;
}

const ALL_VARIANTS = [
  'floor',
  'ours',
  'floor-no-proxy',
  'ours-no-proxy',
  'floor-aa',
  'floor-no-proxy-aa',
  'sequential',
  'testcontainers',
  'compose',
] as const;

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const options: Options = {
    mode: quick ? 'quick' : 'full',
    // Most tasks have one to five services.
    ns: quick ? [1, 3, 5, 20] : [1, 3, 5, 20, 50],
    // Health-gated runs take longer; at N = 50 they would push the full run past 30 minutes.
    readyNs: [1, 3, 5, 20],
    runs: quick ? 3 : 5,
    warmup: 1,
    scenarios: ['running', 'ready'],
    variants: undefined,
    idleSeconds: quick ? 30 : 60,
    idleServices: 5,
    plannerSizes: [100, 1000, 10_000],
    plannerBudgetMs: quick ? 500 : 2000,
    opTimeoutMs: 180_000,
    pauseMs: 1_000,
    // A full run takes about an hour on a 2-core machine.
    watchdogMinutes: quick ? 20 : 90,
    healthIntervalS: 1,
    proxy: 'real',
    proxyImage: undefined,
    concurrencyTasks: 10,
    concurrencyServices: 3,
  };
  const value = (i: number): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${argv[i]} needs a value`);
    return v;
  };
  const list = (s: string): string[] => s.split(',').filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--quick':
        break;
      case '--ns':
        options.ns = list(value(i++)).map(Number);
        break;
      case '--ready-ns':
        options.readyNs = list(value(i++)).map(Number);
        break;
      case '--runs':
        options.runs = Number(value(i++));
        break;
      case '--warmup':
        options.warmup = Number(value(i++));
        break;
      case '--scenarios':
        options.scenarios = list(value(i++)) as Scenario[];
        break;
      case '--variants':
        options.variants = list(value(i++));
        break;
      case '--idle-seconds':
        options.idleSeconds = Number(value(i++));
        break;
      case '--planner-sizes':
        options.plannerSizes = list(value(i++)).map(Number);
        break;
      case '--watchdog-minutes':
        options.watchdogMinutes = Number(value(i++));
        break;
      case '--pause-ms':
        options.pauseMs = Number(value(i++));
        break;
      case '--mode':
        options.mode = value(i++);
        break;
      case '--proxy': {
        const kind = value(i++);
        if (kind !== 'real' && kind !== 'stand-in')
          throw new Error(`--proxy is real or stand-in, not ${JSON.stringify(kind)}`);
        options.proxy = kind;
        break;
      }
      case '--proxy-image':
        options.proxyImage = value(i++);
        break;
      case '--concurrency':
        [options.concurrencyTasks, options.concurrencyServices] = value(i++).split('x').map(Number) as [
          number,
          number,
        ];
        if (!(options.concurrencyTasks >= 0 && options.concurrencyServices >= 1))
          throw new Error(`--concurrency is TASKSxSERVICES, e.g. 10x3 (0x1: skip), not ${argv[i]}`);
        break;
      case '--help':
        console.log(
          'usage: npm run bench -- [--quick] [--ns 1,3,5,20,50] [--ready-ns 1,3,5,20] [--runs 5] [--warmup 1] [--scenarios running,ready]\n' +
            `  [--variants ${ALL_VARIANTS.join(',')}] [--idle-seconds 60 (0: skip)] [--planner-sizes 100,1000,10000 (empty: skip)]\n` +
            '  [--proxy real|stand-in (the Node proxy image, or busybox that sleeps)] [--proxy-image IMAGE (real: docker-services/proxy:latest)]\n' +
            '  [--concurrency 10x3 (tasks x services started together, real proxy; 0x1: skip)]\n' +
            '  [--pause-ms 1000 (idle before each up and down)] [--watchdog-minutes 90] [--mode NAME (results file name)]',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg}; see --help`);
    }
  }
  for (const v of options.variants ?? []) {
    if (!(ALL_VARIANTS as readonly string[]).includes(v)) throw new Error(`unknown variant ${v}`);
  }
  return options;
}

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, '..', 'results');

function log(message: string): void {
  console.log(
    `[bench ${new Date().toISOString().slice(11, 19)} load ${loadavg()[0]!.toFixed(1)}] ${message}`,
  );
}

function hasCommand(command: string): boolean {
  try {
    execFileSync(command, ['version'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const docker = dockerode();
  const plain = api(docker);

  // Set once results exist, so that a watchdog or a signal still writes what was measured.
  const holder: { results?: BenchResults; variants?: Variant[] } = {};
  const cleanupAndExit = async (code: number, message: string): Promise<never> => {
    console.error(`bench: ${message}`);
    if (holder.results) {
      holder.results.meta.notes.push(`incomplete: ${message}`);
      holder.results.meta.loadAverage.end = loadavg();
      writeResults(holder.results);
    }
    try {
      // A library session still converging would re-create what is removed: stop those first.
      await withDeadline(
        'stopping sessions',
        60_000,
        Promise.allSettled((holder.variants ?? []).map((v) => v.abort?.())),
      ).catch(() => {});
      const removed = await withDeadline('cleanup', 60_000, removeLeftovers(plain));
      if (removed.containers.length + removed.networks.length > 0)
        console.error(
          `bench: removed ${removed.containers.length} containers, ${removed.networks.length} networks`,
        );
    } catch (error) {
      console.error(
        `bench: cleanup failed too (${(error as Error).message}); objects labelled` +
          ` docker-services-bench.run=${benchRunId} or owned by ${OWNER_ID} may remain`,
      );
    }
    process.exit(code);
  };

  const watchdog = setTimeout(
    () =>
      void cleanupAndExit(
        3,
        `watchdog: the run did not finish within ${options.watchdogMinutes} min; the Docker daemon is hung or far too slow`,
      ),
    options.watchdogMinutes * 60_000,
  );
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanupAndExit(130, `stopped by ${signal}`));
  }

  // The daemon must answer before anything else: a hung one ends the run here, clearly.
  let dockerVersion: string;
  try {
    const version = (await withDeadline('docker version', 10_000, docker.version())) as {
      Version?: string;
      ApiVersion?: string;
    };
    dockerVersion = `${version.Version} (API ${version.ApiVersion})`;
    await plain.systemTime();
  } catch (error) {
    return cleanupAndExit(
      2,
      `the Docker daemon does not answer: ${(error as Error).message} (is scripts/docker-engine.sh up?)`,
    );
  }
  const proxyImage =
    options.proxy === 'stand-in' ? IMAGES.proxyStandIn : (options.proxyImage ?? IMAGES.proxy);
  for (const image of [IMAGES.busybox, proxyImage]) {
    if (!(await plain.inspectImage(image)))
      return cleanupAndExit(2, `image ${image} is missing: run scripts/bench.sh (it builds the images)`);
  }
  const proxyImageConfig = (
    (await docker.getImage(proxyImage).inspect()) as {
      Config?: { Healthcheck?: { Test?: string[] }; Labels?: Record<string, string> | null };
    }
  ).Config;
  const proxyHealthCheck = Boolean(proxyImageConfig?.Healthcheck?.Test?.length);
  const proxyReadyLine = proxyImageConfig?.Labels?.[READY_LINE_LABEL] || undefined;

  const config = workerConfig(proxyImage);
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      mode: options.mode,
      benchRunId,
      machine: {
        cpus: cpus().length,
        memoryGiB: Math.round(totalmem() / 1024 ** 3),
        kernel: release(),
        docker: dockerVersion,
        node: process.version,
      },
      loadAverage: { start: loadavg(), end: [] },
      options: { ...options },
      notes: [
        options.proxy === 'real'
          ? `proxies: ${proxyImage}, the Node taskcluster-proxy${proxyReadyLine ? `, ready when it prints "${proxyReadyLine}"` : ''}${proxyHealthCheck ? ` with its health check${proxyReadyLine ? ' (liveness)' : ''}` : ''}`
          : `proxies: ${proxyImage}, a busybox stand-in that sleeps (Docker's and the orchestration's cost only)`,
        ...(options.pauseMs > 0 ? [`each up and each down begins after ${options.pauseMs} ms idle`] : []),
      ],
    },
    updown: [],
    concurrency: undefined,
    planner: [],
    idle: undefined,
    errors: [],
  };
  holder.results = results;

  if (options.plannerSizes.length > 0) {
    log(`planner: ${options.plannerSizes.join(', ')} nodes`);
    results.planner = benchPlanner(config, options.plannerSizes, options.plannerBudgetMs, options.runs);
    for (const r of results.planner as PlannerResult[])
      log(`  ${r.nodes} nodes, ${r.snapshot}: ${r.ms.median.toFixed(2)} ms (${r.actions} actions)`);
  }

  const watch = new HealthWatch(docker);
  await watch.start(10_000);

  let onChild: (pid: number) => void = () => {};
  const ctx: VariantContext = {
    docker: plain,
    config,
    watch,
    health: { intervalS: options.healthIntervalS },
    proxyHealthCheck,
    proxyReadyLine,
    onChild: (pid) => onChild(pid),
    timeoutMs: options.opTimeoutMs,
  };
  const counted = (): { ctx: VariantContext; calls: CallRecord[] } => {
    const { api: docker, calls } = countingApi(plain);
    return { ctx: { ...ctx, docker }, calls };
  };
  // The floor's own A/A control with proxies is asked for by name: the proxy cells' 10 % line is
  // wide enough for their spread, the 5 % line of the service-only cells is not obviously so.
  const wanted = options.variants ?? ALL_VARIANTS.filter((v) => v !== 'floor-aa');
  const variants: { variant: Variant; calls: CallRecord[] | undefined }[] = [];
  for (const name of wanted) {
    if (['floor', 'floor-no-proxy', 'floor-aa', 'floor-no-proxy-aa'].includes(name)) {
      const c = counted();
      variants.push({
        variant: floor(c.ctx, !name.startsWith('floor-no-proxy'), name.endsWith('-aa')),
        calls: c.calls,
      });
    } else if (name === 'ours' || name === 'ours-no-proxy') {
      const c = counted();
      variants.push({ variant: ours(c.ctx, name === 'ours'), calls: c.calls });
    } else if (name === 'sequential') {
      const c = counted();
      variants.push({ variant: sequential(c.ctx), calls: c.calls });
    } else if (name === 'testcontainers') {
      variants.push({ variant: await testcontainers(ctx), calls: undefined });
    } else if (name === 'compose') {
      if (hasCommand('docker-compose')) variants.push({ variant: compose(ctx), calls: undefined });
      else results.meta.notes.push('docker-compose is not installed: the compose variant was skipped');
    }
  }

  if (options.idleSeconds > 0) {
    results.idle = await idle(ctx, options, plain);
    writeResults(results);
  }

  holder.variants = variants.map((v) => v.variant);
  let consecutiveFailures = 0;
  const records = new Map<string, RunRecord>();
  const recordOf = (scenario: Scenario, n: number, variant: Variant): RunRecord => {
    const key = `${scenario}/${n}/${variant.name}`;
    let record = records.get(key);
    if (!record) {
      record = {
        scenario,
        n,
        variant: variant.name,
        proxies: variant.proxies,
        up: [],
        down: [],
        lag: [],
        upCalls: [],
        downCalls: [],
        proxySamples: [],
        errors: [],
      };
      records.set(key, record);
      results.updown.push(record);
    }
    return record;
  };

  // The biggest N last: should the run be cut short, the smaller blocks of every scenario are in.
  const blocks = options.scenarios
    .flatMap((scenario) =>
      (scenario === 'ready' ? options.ns.filter((n) => options.readyNs.includes(n)) : options.ns).map(
        (n) => ({ scenario, n }),
      ),
    )
    .sort((a, b) => Number(a.n >= 50) - Number(b.n >= 50));
  const warmed = new Set<Scenario>();
  for (const { scenario, n } of blocks) {
    {
      // Warm-up (module loading, JIT, testcontainers' client, compose's start-up) once per scenario.
      const warmup = warmed.has(scenario) ? 0 : options.warmup;
      warmed.add(scenario);
      for (let round = 0; round < warmup + options.runs; round++) {
        const warm = round < warmup;
        const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
        log(
          `${scenario} N=${n} ${warm ? 'warm-up' : `run ${round - warmup + 1}/${options.runs}`}: ${order.map((v) => v.variant.name).join(' ')}`,
        );
        for (const { variant, calls } of order) {
          if (options.pauseMs > 0) await sleep(options.pauseMs);
          const record = recordOf(scenario, n, variant);
          const callsBefore = calls?.length ?? 0;
          let handle: Handle | undefined;
          try {
            const up = await measure(async (child) => {
              onChild = child;
              const h = await withDeadline(
                `${variant.name} up of ${n}`,
                options.opTimeoutMs,
                variant.up(n, scenario),
              );
              return { handle: h, end: nowMs() };
            });
            handle = up.value.handle;
            const callsAfterUp = calls?.length ?? 0;
            // Outside the timings and on the bench's own connection: each proxy's start-up and memory.
            const proxySamples =
              (proxyHealthCheck || proxyReadyLine) && handle.proxyNames.length > 0
                ? await sampleProxies(
                    plain,
                    docker,
                    watch,
                    handle.proxyNames,
                    proxyReadyLine,
                    options.opTimeoutMs,
                  )
                : [];
            if (options.pauseMs > 0) await sleep(options.pauseMs);
            // The observer's calls while the proxies are sampled and in the pause are the running
            // task's, as in the idle scenario: neither the up's nor the down's.
            const callsBeforeDown = calls?.length ?? 0;
            const down = await measure(async (child) => {
              onChild = child;
              await withDeadline(`${variant.name} down of ${n}`, options.opTimeoutMs, handle!.down());
            });
            handle = undefined;
            consecutiveFailures = 0;
            if (warm) continue;
            record.up.push(up.sample);
            record.down.push(down.sample);
            record.proxySamples.push(...proxySamples);
            if (calls) {
              record.upCalls.push(callsAfterUp - callsBefore);
              record.downCalls.push(calls.length - callsBeforeDown);
              record.upCallsByMethod = countByMethod(
                calls.slice(callsBefore, callsAfterUp),
                record.upCallsByMethod,
              );
              record.downCallsByMethod = countByMethod(
                calls.slice(callsBeforeDown),
                record.downCallsByMethod,
              );
            }
            if (scenario === 'ready') {
              const last = watch.lastHealthy(up.value.handle.healthNames);
              if (last)
                record.lag.push({
                  fromDaemonMs: up.value.end - last.daemonMs,
                  fromSeenMs: up.value.end - last.receivedMs,
                });
            }
          } catch (error) {
            const message = (error as Error).message ?? String(error);
            log(`  ${variant.name} failed: ${message.split('\n')[0]}`);
            record.errors.push(message.slice(0, 500));
            results.errors.push(`${scenario} N=${n} ${variant.name}: ${message.slice(0, 500)}`);
            if (handle) await withDeadline('down after failure', 60_000, handle.down()).catch(() => {});
            await withDeadline('cleanup', 60_000, removeLeftovers(plain)).catch(() => {});
            if (++consecutiveFailures >= 3) {
              return cleanupAndExit(
                4,
                `three runs in a row failed; the Docker daemon is failing. Last error: ${message}`,
              );
            }
          }
        }
      }
      const left = await withDeadline('leftover check', 60_000, leftovers(plain));
      if (left.containers.length + left.networks.length > 0) {
        const remaining = await removeLeftoversAndRecheck(plain);
        const note =
          `${scenario} N=${n}: left ${[...left.containers, ...left.networks].join(' ')} ` +
          (remaining.length === 0 ? '(removed)' : `(could not remove ${remaining.join(' ')})`);
        results.errors.push(note);
        log(note);
      }
      writeResults(results);
    }
  }

  if (options.concurrencyTasks > 0) {
    log(
      `concurrency: ${options.concurrencyTasks} tasks x ${options.concurrencyServices} services, started together`,
    );
    try {
      results.concurrency = await concurrencyRun(
        ctx,
        docker,
        options.concurrencyTasks,
        options.concurrencyServices,
      );
      log(
        `  ${results.concurrency.ready}/${results.concurrency.tasks} ready in ${results.concurrency.allReadyMs.toFixed(0)} ms`,
      );
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      results.errors.push(`concurrency: ${message.slice(0, 500)}`);
      log(`  concurrency failed: ${message.split('\n')[0]}`);
      await withDeadline('cleanup', 60_000, removeLeftovers(plain)).catch(() => {});
    }
    writeResults(results);
  }

  watch.stop();
  results.meta.loadAverage.end = loadavg();
  const left = await withDeadline('final leftover check', 60_000, leftovers(plain));
  results.meta.leftovers = left;
  writeResults(results);
  log(`results: bench/results/${options.mode}.md and .json`);
  console.log(markdown(results));
  if (left.containers.length + left.networks.length > 0) {
    const remaining = await removeLeftoversAndRecheck(plain);
    console.error(
      `bench: the run left ${left.containers.length} containers and ${left.networks.length} networks; ` +
        (remaining.length === 0
          ? 'now removed'
          : `could not remove ${remaining.join(', ')} (a network with a phantom endpoint needs a dockerd restart)`),
    );
    return 1;
  }
  clearTimeout(watchdog);
  return 0;
}

function countByMethod(
  calls: readonly CallRecord[],
  into: Record<string, number> = {},
): Record<string, number> {
  for (const { method } of calls) into[method] = (into[method] ?? 0) + 1;
  return into;
}

function writeResults(results: BenchResults): void {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${results.meta.mode}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(resultsDir, `${results.meta.mode}.md`), markdown(results));
  writeFileSync(join(resultsDir, `${results.meta.mode}.svg`), chartSvg(results));
}

async function idle(
  ctx: VariantContext,
  options: Options,
  plain: VariantContext['docker'],
): Promise<IdleResult> {
  log(`idle: ${options.idleServices} services converged for ${options.idleSeconds} s, counting API calls`);
  const { api: docker, calls } = countingApi(plain);
  const variant = ours({ ...ctx, docker }, true);
  const handle = await withDeadline(
    'idle up',
    options.opTimeoutMs,
    variant.up(options.idleServices, 'running'),
  );
  try {
    await sleep(2000);
    const from = calls.length;
    await sleep(options.idleSeconds * 1000);
    const report = idleReport(calls.slice(from), options.idleSeconds, options.idleServices);
    log(
      `  ${report.callsPerMinute.toFixed(1)} calls/min, ${report.relistsPerMinute.toFixed(1)} relists/min, ${report.otherCallsPerMinute.toFixed(1)} other calls/min`,
    );
    return report;
  } finally {
    await withDeadline('idle down', options.opTimeoutMs, handle.down());
  }
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error(`bench: ${(error as Error)?.stack ?? String(error)}`);
    await withDeadline('cleanup', 30_000, removeLeftovers(api())).catch(() =>
      console.error(
        `bench: cleanup failed; objects labelled docker-services-bench.run=${benchRunId} or owned by ${OWNER_ID} may remain`,
      ),
    );
    process.exit(1);
  },
);
