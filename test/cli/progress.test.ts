import { describe, expect, it } from '@jest/globals';
import { createProgress } from '../../src/cli/progress.js';

function stream(isTTY: boolean, columns = 80) {
  let text = '';
  return { write: (t: string) => (text += t), isTTY, columns, text: () => text };
}

describe('progress', () => {
  it('plain: one timestamped line per change, repeats dropped', () => {
    const out = stream(false);
    const progress = createProgress(out, ['db', 'cache'], () => new Date('2026-01-01T12:34:56Z'));
    progress.update('db', 'created');
    progress.update('db', 'created');
    progress.update('cache', 'started');
    progress.update('db', 'died', 'exit 3');
    progress.done();
    expect(out.text()).toBe('12:34:56 db: created\n12:34:56 cache: started\n12:34:56 db: died (exit 3)\n');
  });

  it('tty: one line per service, redrawn in place', () => {
    const out = stream(true);
    const progress = createProgress(out, ['db', 'cache'], () => new Date());
    progress.update('db', 'healthy');
    progress.done();
    progress.update('db', 'died'); // after done: nothing more is drawn
    const frames = out.text().split('\x1b[2A');
    expect(frames).toHaveLength(2);
    expect(frames[0]).toBe('\x1b[2K … db       waiting\n\x1b[2K … cache    waiting\n');
    expect(frames[1]).toBe('\x1b[2K ✔ db       healthy\n\x1b[2K … cache    waiting\n');
  });

  it('tty: lines fit the terminal; a pty that reports no width gets whole lines', () => {
    const narrow = stream(true, 12);
    createProgress(narrow, ['postgres'], () => new Date()).update('postgres', 'unhealthy');
    expect(narrow.text().split('\x1b[1A').at(-1)).toBe('\x1b[2K ✖ postgres\n');
    const unsized = stream(true, 0);
    createProgress(unsized, ['web'], () => new Date()).update('web', 'running', 'proxy healthy');
    expect(unsized.text().split('\x1b[1A').at(-1)).toBe('\x1b[2K … web      running (proxy healthy)\n');
  });
});
