import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { redact, redactError, REDACTED, secretsOf } from '../../src/credentials/redact.js';

describe('redact', () => {
  it('removes each secret, also JSON-escaped, URL-encoded and base64-encoded', () => {
    const token = 'tok/en+with"quote';
    const text = `a ${token} b ${JSON.stringify({ t: token })} c ${encodeURIComponent(token)} d ${Buffer.from(token).toString('base64')}`;
    const out = redact(text, [token]);
    expect(out).not.toContain(token);
    expect(out).not.toContain(JSON.stringify(token).slice(1, -1));
    expect(out).not.toContain(encodeURIComponent(token));
    expect(out).not.toContain(Buffer.from(token).toString('base64'));
    expect(out.startsWith(`a ${REDACTED} b`)).toBe(true);
  });

  it('leaves text alone when there is nothing to hide, and ignores tiny or missing secrets', () => {
    expect(redact('nothing here', ['secret-value'])).toBe('nothing here');
    expect(redact('a b c', ['a', '', undefined, null])).toBe('a b c');
  });

  it('never leaves a secret of six characters or more in the output', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 6, maxLength: 30 }),
        fc.string(),
        fc.string(),
        (secret, pre, post) => {
          expect(redact(`${pre}${secret}${post}`, [secret])).not.toContain(secret);
        },
      ),
    );
  });

  it('redactError scrubs message and stack and drops the cause', () => {
    const error = new TypeError('failed with token abcdef123456', { cause: 'abcdef123456' });
    const out = redactError(error, ['abcdef123456']);
    expect(out.message).toBe(`failed with token ${REDACTED}`);
    expect(out.name).toBe('TypeError');
    expect(out.stack).not.toContain('abcdef123456');
    expect(out.cause).toBeUndefined();
  });

  it('secretsOf lists the token, the certificate and its signature and seed', () => {
    const certificate = JSON.stringify({
      version: 1,
      seed: 'seed-seed-seed',
      signature: 'sig-sig-sig',
      scopes: [],
    });
    expect(secretsOf({ accessToken: 'token-1', certificate })).toEqual([
      'token-1',
      certificate,
      'sig-sig-sig',
      'seed-seed-seed',
    ]);
    expect(secretsOf({ accessToken: 'token-1', certificate: null })).toEqual(['token-1']);
  });
});
