import { describe, expect, it } from '@jest/globals';
import { createProgress } from '../../src/cli/progress.js';

function stream(isTTY: boolean) {
  let text = '';
  return { write: (t: string) => (text += t), isTTY, columns: 80, text: () => text };
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
    expect(frames).toHaveLength(3);
    expect(frames[0]).toBe('\x1b[2K … db       waiting\n\x1b[2K … cache    waiting\n');
    expect(frames[2]).toBe('\x1b[2K ✔ db       healthy\n\x1b[2K … cache    waiting\n');
  });
});
