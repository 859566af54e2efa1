/**
 * Service logs for the worker: what a service printed, bounded in size and with every known secret
 * value replaced, so that the worker can upload it as an artifact or put its tail in an error.
 *
 * A service's log may span several containers: the reconciler replaces a dead container (or
 * restarts it), and Docker's log of a removed container is gone. `ServiceLogs` keeps what was read
 * from each container of a service, so that `stop()` returns the whole story, not only the last run.
 */
import { redact as redactSecrets } from '../credentials/redact.js';
import type { DockerApi } from '../docker/client.js';

export { REDACTED } from '../credentials/redact.js';

/** Default bound of a service's collected log (the last 1 MiB). */
export const DEFAULT_MAX_LOG_BYTES = 1024 * 1024;

/** Default bound of the log tail put in a start error. */
export const DEFAULT_TAIL_BYTES = 8 * 1024;
export const DEFAULT_TAIL_LINES = 40;

/**
 * Replaces every known secret value in `text` (the credentials module's `redact`, which also
 * catches JSON-escaped, URL- and base64-encoded forms). A multi-line value is also redacted line
 * by line: a service may print it across lines, or the log may be cut between two of them.
 * Values too short to be secrets (under 6 characters) are left alone: hiding every `x` hides nothing.
 */
export function redact(text: string, secrets: Iterable<string>): string {
  const values: string[] = [];
  for (const secret of secrets) {
    values.push(secret);
    if (secret.includes('\n')) values.push(...secret.split(/\r?\n/).filter((line) => line.trim() !== ''));
  }
  return redactSecrets(text, values);
}

/**
 * The last `maxBytes` bytes of `text` (UTF-8), starting at a line start when one is in reach, with
 * a first line saying how much was dropped. Text within the bound is returned unchanged.
 */
export function tailBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let start = bytes.length - maxBytes;
  // Never start inside a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  const newline = bytes.indexOf(0x0a, start);
  if (newline !== -1 && newline + 1 < bytes.length) start = newline + 1;
  return `[… ${start} bytes dropped]\n${bytes.subarray(start).toString('utf8')}`;
}

/** The last `lines` lines of `text`, and at most `maxBytes` of them. */
export function tailLines(text: string, lines: number, maxBytes: number): string {
  const trimmed = text.replace(/\n+$/, '');
  if (trimmed === '') return '';
  const all = trimmed.split('\n');
  const kept = all.slice(-lines).join('\n');
  return tailBytes(kept, maxBytes);
}

/**
 * Reads a container's log. Docker's json-file driver already bounds it (the container's log size
 * limit); the result is cut again to `maxBytes` so that a different driver cannot blow memory.
 * A container that is gone has no log: an empty string, not an error.
 */
export async function readContainerLog(
  docker: DockerApi,
  containerId: string,
  maxBytes: number,
): Promise<string> {
  try {
    return tailBytes(await docker.containerLogs(containerId, {}), maxBytes);
  } catch {
    return '';
  }
}

interface Captured {
  containerId: string;
  text: string;
}

/**
 * The logs read so far, per service, in the order its containers appeared. Reading the same
 * container again replaces what was read from it (Docker returns the whole log each time).
 */
export class ServiceLogs {
  private readonly byService = new Map<string, Captured[]>();

  constructor(private readonly maxBytes: number = DEFAULT_MAX_LOG_BYTES) {}

  record(service: string, containerId: string, text: string): void {
    const captured = this.byService.get(service) ?? [];
    const existing = captured.find((c) => c.containerId === containerId);
    const bounded = tailBytes(text, this.maxBytes);
    if (existing) {
      // A removed container's log reads as empty: keep what was read while it existed.
      if (text !== '') existing.text = bounded;
    } else captured.push({ containerId, text: bounded });
    // Older containers beyond the bound can never be part of the result.
    let total = 0;
    for (let i = captured.length - 1; i >= 0; i--) {
      total += Buffer.byteLength(captured[i]!.text);
      if (total > this.maxBytes && i > 0) {
        captured.splice(0, i);
        break;
      }
    }
    this.byService.set(service, captured);
  }

  services(): string[] {
    return [...this.byService.keys()].sort();
  }

  /** The service's log across its containers, redacted (by `scrub`), then cut to the bound. */
  text(service: string, scrub: (text: string) => string): string {
    const captured = this.byService.get(service) ?? [];
    const joined = captured
      .map((c, i) =>
        i === 0 ? c.text : `--- container ${c.containerId.slice(0, 12)} (replacement) ---\n${c.text}`,
      )
      .join(captured.length > 1 ? '\n' : '');
    // Redact before cutting: a cut may split a secret, but never a replacement marker into a secret.
    return tailBytes(scrub(joined), this.maxBytes);
  }
}
