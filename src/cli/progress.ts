/**
 * How `up` shows its services getting ready. On a terminal: one line per service, redrawn in place
 * as its phase changes. Anywhere else (a pipe, a CI log): one plain, timestamped line per change,
 * because cursor movement in a log file is noise.
 */
import type { OutputStream } from './io.js';

export interface Progress {
  /**
   * Records a service's phase; only a change is shown. `meter` (bytes of a pull, say) is redrawn
   * on a terminal and left out of plain lines, where each change would be a line of its own.
   */
  update(service: string, phase: string, detail?: string, meter?: string): void;
  /** Final redraw; nothing is written after it. */
  done(): void;
}

/** Marker phases: running is not ready yet where a health check decides; `up` marks each ready at the end. */
const READY_PHASES = new Set(['ready', 'healthy']);
const FAILED_PHASES = new Set(['failed', 'died', 'unhealthy', 'removed']);

export function createProgress(
  stream: OutputStream,
  services: readonly string[],
  now = () => new Date(),
): Progress {
  return stream.isTTY ? new TtyProgress(stream, services) : new PlainProgress(stream, now);
}

class PlainProgress implements Progress {
  private readonly last = new Map<string, string>();
  constructor(
    private readonly stream: OutputStream,
    private readonly now: () => Date,
  ) {}

  update(service: string, phase: string, detail?: string): void {
    const text = detail ? `${phase} (${detail})` : phase;
    if (this.last.get(service) === text) return;
    this.last.set(service, text);
    this.stream.write(`${this.now().toISOString().slice(11, 19)} ${service}: ${text}\n`);
  }

  done(): void {}
}

class TtyProgress implements Progress {
  private readonly lines = new Map<string, { phase: string; detail?: string; meter?: string }>();
  private drawn = 0;
  private finished = false;

  constructor(
    private readonly stream: OutputStream,
    services: readonly string[],
  ) {
    for (const service of services) this.lines.set(service, { phase: 'waiting' });
    this.draw();
  }

  update(service: string, phase: string, detail?: string, meter?: string): void {
    const previous = this.lines.get(service);
    if (previous && previous.phase === phase && previous.detail === detail && previous.meter === meter)
      return;
    this.lines.set(service, { phase, ...(detail ? { detail } : {}), ...(meter ? { meter } : {}) });
    this.draw();
  }

  /** Every change was drawn when it came: the display is already final. */
  done(): void {
    this.finished = true;
  }

  private draw(): void {
    if (this.finished) return;
    const width = Math.max(...[...this.lines.keys()].map((s) => s.length), 7);
    // A pty without a size (e.g. under `script`) reports 0 columns.
    const columns = this.stream.columns || 100;
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const [service, { phase, detail, meter }] of this.lines) {
      const marker = READY_PHASES.has(phase) ? '✔' : FAILED_PHASES.has(phase) ? '✖' : '…';
      const line = ` ${marker} ${service.padEnd(width)}  ${phase}${meter ? ` ${meter}` : ''}${detail ? ` (${detail})` : ''}`;
      text += `\x1b[2K${line.slice(0, columns - 1)}\n`;
    }
    this.drawn = this.lines.size;
    this.stream.write(text);
  }
}
