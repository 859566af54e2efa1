import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  CredentialsError,
  decodeWorkerCredentials,
  proxyCredentials,
} from '../../src/credentials/proxy-credentials.js';
import { RoleScopeError } from '../../src/credentials/role-scope.js';

const ROLE = 'assume:docker-service-image:prov/wt/sha256:' + 'c'.repeat(64);
const PERMANENT = { clientId: 'static/worker', accessToken: 'permanent-token-SECRET' };
const TEMPORARY = {
  clientId: 'worker/p/w/g/i',
  accessToken: 'temporary-token-SECRET',
  certificate: JSON.stringify({ version: 1, scopes: ['assume:worker-pool:p/w'], seed: 's', signature: 'x' }),
};
const NOW = new Date('2026-03-01T12:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Certificate {
  version: number;
  scopes: string[];
  start: number;
  expiry: number;
  issuer?: string;
}

describe('proxyCredentials with permanent worker credentials', () => {
  it('mints temporary credentials holding exactly the role scope, expiring at the deadline', () => {
    const deadline = new Date(NOW.getTime() + 3 * HOUR);
    const env = proxyCredentials({ workerCredentials: PERMANENT, roleScope: ROLE, deadline, now: NOW });
    expect(Object.keys(env).sort()).toEqual([
      'TASKCLUSTER_ACCESS_TOKEN',
      'TASKCLUSTER_CERTIFICATE',
      'TASKCLUSTER_CLIENT_ID',
    ]);
    expect(env.TASKCLUSTER_CLIENT_ID).toBe(PERMANENT.clientId);
    expect(env.TASKCLUSTER_ACCESS_TOKEN).not.toBe(PERMANENT.accessToken);
    const cert = JSON.parse(env.TASKCLUSTER_CERTIFICATE) as Certificate;
    expect(cert.scopes).toEqual([ROLE]);
    expect(cert.expiry).toBe(deadline.getTime());
    // Five minutes back, for a worker clock ahead of the auth service's.
    expect(cert.start).toBe(NOW.getTime() - 5 * 60 * 1000);
    expect(cert.issuer).toBeUndefined();
    expect(env.TASKCLUSTER_CERTIFICATE).not.toContain(PERMANENT.accessToken);
  });

  it('never spans more than 31 days and never outlives the deadline', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 * DAY }), (untilDeadline) => {
        const deadline = new Date(NOW.getTime() + untilDeadline);
        const env = proxyCredentials({ workerCredentials: PERMANENT, roleScope: ROLE, deadline, now: NOW });
        const cert = JSON.parse(env.TASKCLUSTER_CERTIFICATE) as Certificate;
        expect(cert.scopes).toEqual([ROLE]);
        expect(cert.expiry).toBeLessThanOrEqual(deadline.getTime());
        expect(cert.expiry - cert.start).toBeLessThanOrEqual(31 * DAY);
        expect(cert.start).toBeLessThanOrEqual(NOW.getTime());
      }),
      { numRuns: 50 },
    );
  });

  it('names the credentials when asked (named temporary credentials)', () => {
    const env = proxyCredentials({
      workerCredentials: PERMANENT,
      roleScope: ROLE,
      deadline: new Date(NOW.getTime() + HOUR),
      now: NOW,
      clientId: 'docker-service/prov/wt/task/0/db',
    });
    expect(env.TASKCLUSTER_CLIENT_ID).toBe('docker-service/prov/wt/task/0/db');
    expect((JSON.parse(env.TASKCLUSTER_CERTIFICATE) as Certificate).issuer).toBe(PERMANENT.clientId);
  });

  it('refuses a deadline that has passed', () => {
    expect(() =>
      proxyCredentials({ workerCredentials: PERMANENT, roleScope: ROLE, deadline: NOW, now: NOW }),
    ).toThrow(CredentialsError);
  });
});

describe('proxyCredentials with temporary worker credentials', () => {
  it("hands over the worker's own credentials (the role scope is the proxy's authorized scope)", () => {
    const env = proxyCredentials({
      workerCredentials: TEMPORARY,
      roleScope: ROLE,
      deadline: new Date(NOW.getTime() + HOUR),
      now: NOW,
    });
    expect(env).toEqual({
      TASKCLUSTER_CLIENT_ID: TEMPORARY.clientId,
      TASKCLUSTER_ACCESS_TOKEN: TEMPORARY.accessToken,
      TASKCLUSTER_CERTIFICATE: TEMPORARY.certificate,
    });
  });
});

describe('validation', () => {
  it('refuses a role scope that is not one image role', () => {
    for (const roleScope of [
      'assume:docker-service-image:prov/wt/*',
      '*',
      'assume:docker-service-image:prov/wt/latest',
    ])
      expect(() =>
        proxyCredentials({
          workerCredentials: PERMANENT,
          roleScope,
          deadline: new Date(NOW.getTime() + HOUR),
          now: NOW,
        }),
      ).toThrow(RoleScopeError);
  });

  it('names a bad field by its own name, as the JSON the worker wrote has it', () => {
    expect(() => decodeWorkerCredentials({ accessToken: 'permanent-token-SECRET' })).toThrow(
      /bad: clientId$/,
    );
    expect(() => decodeWorkerCredentials({ clientId: 'x', accessToken: 't', certificate: 5 })).toThrow(
      /bad: certificate$/,
    );
  });

  it('refuses bad worker credentials without quoting them', () => {
    for (const bad of [
      { clientId: 'x', accessToken: 5 },
      { clientId: '', accessToken: 'permanent-token-SECRET' },
      { clientId: 'x', accessToken: 'permanent-token-SECRET', certificate: '{not json SECRET' },
      null,
    ]) {
      let message = '';
      try {
        decodeWorkerCredentials(bad);
      } catch (error) {
        expect(error).toBeInstanceOf(CredentialsError);
        message = (error as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain('SECRET');
    }
  });
});
