/**
 * Statistics and per-run resource measurement: wall time, client CPU (user+sys of this process
 * and of the child processes it waited for) and peak extra memory.
 */
import { readFileSync } from 'node:fs';
import type { DockerApi } from '../../src/docker/client.js';

export interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[n - 1]!, n };
}

/**
 * How often two medians of `k` draws from the same samples land more than `limit` apart (their
 * ratio above `limit`): the chance that a target line at `limit` fails for a variant that is the
 * floor itself. Bootstrap with a fixed seed, so that a report renders the same from its JSON.
 */
export function chanceApart(samples: readonly number[], k: number, limit: number, draws = 20_000): number {
  if (samples.length === 0) return NaN;
  // mulberry32: small, seeded, good enough to pick indices.
  let seed = 0x9e3779b9;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const medianOfDraw = (): number =>
    summarize(Array.from({ length: k }, () => samples[Math.floor(random() * samples.length)]!)).median;
  let apart = 0;
  for (let i = 0; i < draws; i++) if (medianOfDraw() / medianOfDraw() > limit) apart += 1;
  return apart / draws;
}

const CLOCK_TICKS_PER_S = 100;

/** user+sys of reaped children, ms (from /proc: Node exposes no getrusage(RUSAGE_CHILDREN)). */
function childrenCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the comm field: state is index 0, so cutime and cstime (fields 16 and 17) are 13 and 14.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

function peakRssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface Sample {
  wallMs: number;
  cpuMs: number;
  /** Peak memory the client needed on top of what the bench held before: this process's RSS growth, or a child's peak RSS. */
  rssMiB: number;
}

/** Measures `fn`; children it reports through `onChild` are sampled for memory. */
export async function measure<T>(
  fn: (onChild: (pid: number) => void) => Promise<T>,
): Promise<{ value: T; sample: Sample }> {
  (globalThis as { gc?: () => void }).gc?.();
  const children = new Set<number>();
  const rssBefore = process.memoryUsage.rss();
  let peakSelf = rssBefore;
  let peakChild = 0;
  const poll = (): void => {
    peakSelf = Math.max(peakSelf, process.memoryUsage.rss());
    for (const pid of children) peakChild = Math.max(peakChild, peakRssOf(pid));
  };
  const sampler = setInterval(poll, 20);
  const cpu0 = process.cpuUsage();
  const child0 = childrenCpuMs();
  const t0 = performance.now();
  try {
    const value = await fn((pid) => children.add(pid));
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    poll();
    const cpuMs = (cpu.user + cpu.system) / 1000 + (childrenCpuMs() - child0);
    return {
      value,
      sample: { wallMs, cpuMs, rssMiB: Math.max(peakSelf - rssBefore, peakChild) / 1024 / 1024 },
    };
  } finally {
    clearInterval(sampler);
  }
}

export interface CallRecord {
  method: string;
  at: number;
}

/** A DockerApi that records every call (method and time) before passing it on. */
export function countingApi(inner: DockerApi): { api: DockerApi; calls: CallRecord[] } {
  const calls: CallRecord[] = [];
  const api = {} as Record<string, unknown>;
  for (const [method, fn] of Object.entries(inner) as [string, (...args: unknown[]) => unknown][]) {
    api[method] = (...args: unknown[]) => {
      calls.push({ method, at: Date.now() });
      return fn(...args);
    };
  }
  return { api: api as unknown as DockerApi, calls };
}
