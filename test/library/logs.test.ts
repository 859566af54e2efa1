import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { REDACTED, ServiceLogs, redact, tailBytes, tailLines } from '../../src/library/logs.js';

describe('redact', () => {
  it('replaces every occurrence of every secret, longest first', () => {
    expect(redact('pw=hunter22 again hunter22; tok=hunter2', ['hunter2', 'hunter22'])).toBe(
      `pw=${REDACTED} again ${REDACTED}; tok=${REDACTED}`,
    );
  });

  it('leaves values too short to be secrets alone', () => {
    expect(redact('x marks the spot', ['x', 'the', 'spot'])).toBe('x marks the spot');
  });

  it('redacts a multi-line secret whole and line by line', () => {
    const cert = '-----BEGIN-----\nAAAAsecretline\n-----END-----';
    expect(redact(`a ${cert} b`, [cert])).toBe(`a ${REDACTED} b`);
    expect(redact('only AAAAsecretline here', [cert])).toBe(`only ${REDACTED} here`);
  });

  it('never leaves a secret in the output (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 6, maxLength: 12 }), fc.array(fc.string()), (secret, parts) => {
        fc.pre(!REDACTED.includes(secret) && !secret.includes('\n'));
        const text = parts.join(secret);
        expect(redact(text, [secret]).includes(secret)).toBe(false);
      }),
    );
  });
});

describe('tailBytes / tailLines', () => {
  it('returns text within the bound unchanged', () => {
    expect(tailBytes('abc\n', 10)).toBe('abc\n');
  });

  it('keeps the end, from a line start, and says what was dropped', () => {
    const text = 'line1\nline2\nline3\n';
    expect(tailBytes(text, 8)).toBe('[… 12 bytes dropped]\nline3\n');
  });

  it('never splits a UTF-8 character and stays within the bound (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: 50 }), (text, max) => {
        const out = tailBytes(text, max);
        expect(out.includes('\uFFFD')).toBe(text.includes('\uFFFD'));
        const body = out.startsWith('[… ') ? out.slice(out.indexOf('\n') + 1) : out;
        expect(Buffer.byteLength(body)).toBeLessThanOrEqual(
          Math.max(max, Buffer.byteLength(text) <= max ? max : 0),
        );
        expect(text.endsWith(body)).toBe(true);
      }),
    );
  });

  it('tailLines keeps the last lines', () => {
    expect(tailLines('a\nb\nc\nd\n', 2, 100)).toBe('c\nd');
    expect(tailLines('', 2, 100)).toBe('');
  });
});

describe('ServiceLogs', () => {
  it('keeps the logs of replaced containers in order, redacted', () => {
    const logs = new ServiceLogs(1024);
    logs.record('db', 'aaaaaaaaaaaaaaaa', 'first run password=s3cr3t\n');
    logs.record('db', 'bbbbbbbbbbbbbbbb', 'second run\n');
    expect(logs.text('db', (t) => redact(t, ['s3cr3t']))).toBe(
      `first run password=${REDACTED}\n\n--- container bbbbbbbbbbbb (replacement) ---\nsecond run\n`,
    );
    expect(logs.services()).toEqual(['db']);
  });

  it('a later read of the same container replaces the earlier one; an empty read (gone) keeps it', () => {
    const logs = new ServiceLogs(1024);
    logs.record('db', 'a', 'one\n');
    logs.record('db', 'a', 'one\ntwo\n');
    logs.record('db', 'a', '');
    expect(logs.text('db', (t) => t)).toBe('one\ntwo\n');
  });

  it('bounds what it returns per service', () => {
    const logs = new ServiceLogs(64);
    for (let i = 0; i < 10; i++) logs.record('db', `c${i}`, `${'x'.repeat(40)}\n`);
    const text = logs.text('db', (t) => t);
    const body = text.slice(text.indexOf('\n') + 1);
    expect(text.startsWith('[… ')).toBe(true);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(64);
  });
});
