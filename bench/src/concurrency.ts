/**
 * The concurrency scenario: `tasks` tasks of `services` services each, with the real proxy,
 * started together through one ServiceManager (as a worker running that many tasks at once);
 * every task must become ready (each service healthy). Reported: time until all are ready, how
 * many became ready, the peak memory of the proxies (sum and largest, sampled every second from
 * the host's /proc while the tasks start) and of this process, and the time to stop them all.
 */
import type Docker from 'dockerode';
import { Label } from '../../src/desired-state/labels.js';
import type { ServiceSession } from '../../src/library/session.js';
import { ServiceManager } from '../../src/library/manager.js';
import { OWNER_ID, payload, taskId, withDeadline } from './common.js';
import { memoryOf } from './proxy-metrics.js';
import type { VariantContext } from './variants.js';

export interface ConcurrencyResult {
  tasks: number;
  services: number;
  ready: number;
  /** From starting them together until the last start() resolved (or the first failure). */
  allReadyMs: number;
  /** Each task's time to ready, ms (the ready ones). */
  readyMs: number[];
  downMs: number;
  proxies: {
    seen: number;
    /** Largest sum of the proxies' VmRSS / Pss at one sample, MiB. */
    peakSumVmRssMiB: number;
    peakSumPssMiB: number;
    /** Largest single proxy, MiB. */
    peakVmRssMiB: number;
    peakPssMiB: number;
  };
  /** This process's RSS before, and at its peak while the tasks started, MiB. */
  benchRssMiB: { before: number; peak: number };
  errors: string[];
}

/** Samples the proxies of this bench's owner id: their host pids (one inspect each), then /proc. */
class ProxyMemorySampler {
  private readonly pids = new Map<string, number>();
  peak = { sumVmRss: 0, sumPss: 0, vmRss: 0, pss: 0 };

  constructor(private readonly docker: Docker) {}

  async sample(): Promise<void> {
    const proxies = await this.docker.listContainers({
      filters: JSON.stringify({ label: [`${Label.owner}=${OWNER_ID}`, `${Label.role}=proxy`] }),
    });
    await Promise.all(
      proxies
        .filter((c) => !this.pids.has(c.Id) && c.State === 'running')
        .map(async (c) => {
          const info = await this.docker.getContainer(c.Id).inspect();
          if (info.State.Pid > 0) this.pids.set(c.Id, info.State.Pid);
        }),
    );
    let sumVmRss = 0;
    let sumPss = 0;
    for (const pid of this.pids.values()) {
      const { vmRssKiB = 0, pssKiB = 0 } = memoryOf(pid);
      sumVmRss += vmRssKiB;
      sumPss += pssKiB;
      this.peak.vmRss = Math.max(this.peak.vmRss, vmRssKiB);
      this.peak.pss = Math.max(this.peak.pss, pssKiB);
    }
    this.peak.sumVmRss = Math.max(this.peak.sumVmRss, sumVmRss);
    this.peak.sumPss = Math.max(this.peak.sumPss, sumPss);
  }

  get seen(): number {
    return this.pids.size;
  }
}

export async function concurrencyRun(
  ctx: VariantContext,
  docker: Docker,
  tasks: number,
  services: number,
): Promise<ConcurrencyResult> {
  const manager = new ServiceManager({
    docker: ctx.docker,
    config: ctx.config,
    credentials: { clientId: 'bench-worker', accessToken: 'bench-access-token' },
  });
  const sampler = new ProxyMemorySampler(docker);
  const before = process.memoryUsage.rss();
  let peakSelf = before;
  const selfTimer = setInterval(() => (peakSelf = Math.max(peakSelf, process.memoryUsage.rss())), 50);
  let sampling = true;
  const samplerLoop = (async () => {
    while (sampling) {
      await sampler.sample().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();

  const t0 = performance.now();
  const started = await Promise.allSettled(
    Array.from({ length: tasks }, async () => {
      const session = await withDeadline(
        'a concurrent task',
        ctx.timeoutMs,
        manager.start({
          taskId: taskId(),
          runId: 0,
          payload: payload(services, ctx.health),
          scopes: [],
          deadline: new Date(Date.now() + 3600_000),
        }),
      );
      return { session, ms: performance.now() - t0 };
    }),
  );
  const allReadyMs = performance.now() - t0;
  // One last sample with every proxy up, then stop sampling.
  await sampler.sample().catch(() => {});
  sampling = false;
  await samplerLoop;
  clearInterval(selfTimer);

  const sessions: ServiceSession[] = started.flatMap((s) =>
    s.status === 'fulfilled' ? [s.value.session] : [],
  );
  const errors = started.flatMap((s) =>
    s.status === 'rejected' ? [String((s.reason as Error)?.message ?? s.reason).slice(0, 500)] : [],
  );
  const d0 = performance.now();
  await Promise.allSettled([
    ...sessions.map((session) => session.stop()),
    ...manager.activeSessions().map((session) => session.stop()),
  ]);
  const downMs = performance.now() - d0;
  const MiB = (kib: number): number => kib / 1024;
  return {
    tasks,
    services,
    ready: sessions.length,
    allReadyMs,
    readyMs: started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.ms] : [])),
    downMs,
    proxies: {
      seen: sampler.seen,
      peakSumVmRssMiB: MiB(sampler.peak.sumVmRss),
      peakSumPssMiB: MiB(sampler.peak.sumPss),
      peakVmRssMiB: MiB(sampler.peak.vmRss),
      peakPssMiB: MiB(sampler.peak.pss),
    },
    benchRssMiB: { before: before / 1024 ** 2, peak: peakSelf / 1024 ** 2 },
    errors,
  };
}
