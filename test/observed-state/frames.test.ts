import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { FrameParser, toDockerEvent } from '../../src/observed-state/frames.js';

type Framing = 'ndjson' | 'json-seq';

function frame(values: unknown[], framing: Framing): Buffer {
  const text = values
    .map((v) => (framing === 'ndjson' ? `${JSON.stringify(v)}\n` : `\x1e${JSON.stringify(v)}\n`))
    .join('');
  return Buffer.from(text, 'utf8');
}

function parseInChunks(bytes: Buffer, cuts: number[]): { values: unknown[]; skipped: number } {
  const parser = new FrameParser();
  const values: unknown[] = [];
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    values.push(...parser.push(bytes.subarray(start, cut)));
    start = cut;
  }
  values.push(...parser.push(bytes.subarray(start)));
  values.push(...parser.end());
  return { values, skipped: parser.skipped };
}

const event = (i: number, name = `ds-task-0_svc${i}`) => ({
  status: 'start',
  id: `c${i}`,
  Type: 'container',
  Action: i % 2 ? 'health_status: healthy' : 'start',
  Actor: { ID: `c${i}`, Attributes: { name, image: 'ds-fixtures/busybox:latest' } },
  scope: 'local',
  time: 1700000000 + i,
  timeNano: 1700000000000000000 + i,
});

// Values JSON can carry and that survive a round trip exactly (no -0, no NaN).
const jsonValue = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const eventArb = fc.record({
  Type: fc.constantFrom('container', 'network', 'image'),
  Action: fc.string(),
  Actor: fc.record({
    ID: fc.string(),
    Attributes: fc.dictionary(fc.string(), fc.string({ unit: 'grapheme' })),
  }),
  timeNano: fc.nat(),
});

describe('FrameParser', () => {
  it.each<Framing>(['ndjson', 'json-seq'])('parses %s framing', (framing) => {
    const values = [event(1), event(2), event(3)];
    expect(parseInChunks(frame(values, framing), [])).toEqual({ values, skipped: 0 });
  });

  it.each<Framing>(['ndjson', 'json-seq'])(
    'gives the same frames when a %s stream is cut at any single byte boundary',
    (framing) => {
      const values = [event(1, 'ds-ünïcödé-0_✓'), event(2), { Type: 'network', Action: 'connect' }];
      const bytes = frame(values, framing);
      for (let cut = 0; cut <= bytes.length; cut++) {
        expect(parseInChunks(bytes, [cut])).toEqual({ values, skipped: 0 });
      }
      const oneByteAtATime = Array.from({ length: bytes.length }, (_, i) => i);
      expect(parseInChunks(bytes, oneByteAtATime)).toEqual({ values, skipped: 0 });
    },
  );

  it('gives the same frames however a stream of either framing is split into reads', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(eventArb, jsonValue), { maxLength: 8 }),
        fc.constantFrom<Framing>('ndjson', 'json-seq'),
        fc.array(fc.nat(), { maxLength: 20 }),
        (values, framing, rawCuts) => {
          const bytes = frame(values, framing);
          const cuts = rawCuts.map((c) => c % (bytes.length + 1));
          expect(parseInChunks(bytes, cuts)).toEqual({ values, skipped: 0 });
        },
      ),
    );
  });

  it('skips and counts garbage lines, keeping the good frames around them', () => {
    const bytes = Buffer.from(
      [
        JSON.stringify(event(1)),
        'not json at all',
        '{"truncated": ',
        '',
        '   ',
        `\x1e${JSON.stringify(event(2))}`,
        '\x1e}{',
        JSON.stringify(event(3)),
        '',
      ].join('\n'),
    );
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(parseInChunks(bytes, [cut])).toEqual({ values: [event(1), event(2), event(3)], skipped: 3 });
    }
  });

  it('never throws on arbitrary bytes, and garbage between frames does not eat them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 5 }), (noise, cuts) => {
        const good = frame([event(7)], 'ndjson');
        // Garbage ends with a newline so it cannot merge with the frame after it.
        const bytes = Buffer.concat([Buffer.from(noise), Buffer.from('\n'), good]);
        const { values } = parseInChunks(
          bytes,
          cuts.map((c) => c % (bytes.length + 1)),
        );
        expect(values.at(-1)).toEqual(event(7));
      }),
    );
  });

  it('keeps a last frame without terminator until the stream ends', () => {
    const parser = new FrameParser();
    expect(parser.push(JSON.stringify(event(1)))).toEqual([]);
    expect(parser.end()).toEqual([event(1)]);
  });
});

describe('toDockerEvent', () => {
  it('reads type, action, actor and attributes', () => {
    expect(toDockerEvent(event(1))).toEqual({
      type: 'container',
      action: 'health_status: healthy',
      actorId: 'c1',
      attributes: { name: 'ds-task-0_svc1', image: 'ds-fixtures/busybox:latest' },
      timeNano: String(1700000000000000000 + 1),
    });
  });
  it('reads a network event, which carries no labels', () => {
    const wire = {
      Type: 'network',
      Action: 'connect',
      Actor: { ID: 'n1', Attributes: { container: 'c1', name: 'ds-task-0', type: 'bridge' } },
      scope: 'local',
      time: 1,
      timeNano: 1,
    };
    expect(toDockerEvent(wire)).toMatchObject({ type: 'network', action: 'connect', actorId: 'n1' });
  });
  it.each([null, 3, 'x', [], {}, { Type: 'container' }, { Type: 'container', Action: 'start', Actor: {} }])(
    'refuses %p',
    (value) => {
      expect(toDockerEvent(value)).toBeUndefined();
    },
  );
});
