import { describe, expect, it } from '@jest/globals';
import {
  credentialsFromEnv,
  parseCredentialsBody,
  parseProxyArgs,
  ProxyUsageError,
} from '../../src/proxy/args.js';

const SCOPE = 'assume:docker-service-image:prov/wt/sha256:' + 'a'.repeat(64);

describe('parseProxyArgs', () => {
  it('takes the root URL and the positional scopes (the taskcluster-proxy Cmd)', () => {
    expect(parseProxyArgs(['--port', '80', '--root-url=http://tc.example/', SCOPE])).toEqual({
      rootUrl: 'http://tc.example',
      host: undefined,
      port: 80,
      scopes: [SCOPE],
    });
    expect(parseProxyArgs(['--root-url', 'https://tc', 'a:b', 'c:d']).scopes).toEqual(['a:b', 'c:d']);
    expect(parseProxyArgs(['a:b'], { TASKCLUSTER_ROOT_URL: 'http://env' }).rootUrl).toBe('http://env');
  });

  it("takes the listen address and port as docker-services gives them (taskcluster-proxy's flags)", () => {
    const args = parseProxyArgs(['--ip-address=127.0.0.1', '--port=61080', '--root-url=http://tc', SCOPE]);
    expect(args).toMatchObject({ host: '127.0.0.1', port: 61080 });
    expect(parseProxyArgs(['-i', '::1', '-p', '8080', '--root-url=http://tc', SCOPE])).toMatchObject({
      host: '::1',
      port: 8080,
    });
    // An address only: a name could resolve off loopback.
    expect(() => parseProxyArgs(['--ip-address=localhost', '--root-url=http://tc', SCOPE])).toThrow(
      /"localhost" is not an IP address/,
    );
  });

  it('refuses to start without a scope: it would authorize everything', () => {
    expect(() => parseProxyArgs(['--root-url=http://tc'])).toThrow(ProxyUsageError);
    expect(() => parseProxyArgs(['--port', '80', '--root-url=http://tc'])).toThrow(/at least one scope/);
  });

  it('refuses a missing or bad root URL, an unknown flag and an invalid scope', () => {
    expect(() => parseProxyArgs([SCOPE])).toThrow(/--root-url is required/);
    expect(() => parseProxyArgs(['--root-url=not a url', SCOPE])).toThrow(/not a URL/);
    expect(() => parseProxyArgs(['--root-url=ftp://x', SCOPE])).toThrow(/http/);
    expect(() => parseProxyArgs(['--root-url=http://x', '--task-id', 't', SCOPE])).toThrow(
      /unknown option --task-id/,
    );
    expect(() => parseProxyArgs(['--root-url=http://x', 'bad\nscope'])).toThrow(/not a valid scope/);
    expect(() => parseProxyArgs(['--root-url=http://x', '--port', 'x', SCOPE])).toThrow(/bad port/);
  });
});

describe('credentialsFromEnv', () => {
  it('needs a client id and an access token; the certificate is optional', () => {
    expect(credentialsFromEnv({ TASKCLUSTER_CLIENT_ID: 'c', TASKCLUSTER_ACCESS_TOKEN: 't' })).toEqual({
      clientId: 'c',
      accessToken: 't',
    });
    expect(
      credentialsFromEnv({
        TASKCLUSTER_CLIENT_ID: 'c',
        TASKCLUSTER_ACCESS_TOKEN: 't',
        TASKCLUSTER_CERTIFICATE: '{}',
      }),
    ).toEqual({ clientId: 'c', accessToken: 't', certificate: '{}' });
    expect(() => credentialsFromEnv({ TASKCLUSTER_CLIENT_ID: 'c' })).toThrow(ProxyUsageError);
    expect(() => credentialsFromEnv({ TASKCLUSTER_ACCESS_TOKEN: 't' })).toThrow(ProxyUsageError);
  });
});

describe('parseCredentialsBody', () => {
  it('accepts taskcluster-proxy bodies and never quotes the token in its errors', () => {
    expect(parseCredentialsBody({ clientId: 'c', accessToken: 't', certificate: '' })).toEqual({
      clientId: 'c',
      accessToken: 't',
    });
    expect(parseCredentialsBody({ clientId: 'c', accessToken: 't', certificate: { version: 1 } })).toEqual({
      clientId: 'c',
      accessToken: 't',
      certificate: '{"version":1}',
    });
    const secret = 'SECRET-TOKEN-123';
    for (const body of [
      { clientId: '', accessToken: secret },
      { clientId: 'c' },
      { clientId: 'c', accessToken: secret, certificate: `{${secret}` },
      { clientId: 'c', accessToken: secret, certificate: 5 },
      null,
    ]) {
      let message = '';
      try {
        parseCredentialsBody(body);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain(secret);
    }
  });
});
