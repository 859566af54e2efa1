/**
 * Which of a task's containers the credential push reaches, how a proxy's role scope is found and
 * how the body gets in (an exec in the proxy's container, the body on stdin); the push itself
 * (retries, refusals) is the credentials source's, tested there.
 */
import { describe, expect, it } from '@jest/globals';
import type { CredentialsSource, LiveProxy } from '../../src/credentials/source.js';
import type { DockerApi, ExecResult } from '../../src/docker/client.js';
import { proxyCredentialsFrom, pushCredentials } from '../../src/library/credential-push.js';
import { PUT_CREDENTIALS_COMMAND } from '../../src/proxy/contract.js';
import { TerminalError } from '../../src/reconciler/errors.js';
import { desired, node, observed, snap } from './support/graph.js';

const ROLE = `assume:docker-service-image:prov/wt/sha256:${'a'.repeat(64)}`;
const CREDENTIALS = { clientId: 'worker', accessToken: 'rotated-token-0123456789' };

describe('pushCredentials', () => {
  const [db, dbProxy, cacheProxy] = [node('db', 'service'), node('db', 'proxy'), node('cache', 'proxy')];
  const snapshot = snap([
    observed(db),
    observed(dbProxy),
    // Not running: nothing to push to.
    observed(cacheProxy, { state: 'exited' }),
  ]);
  const execs: { id: string; cmd: readonly string[]; input: string }[] = [];
  const answers: ExecResult[] = [];
  const docker = {
    inspectContainer: async () => ({ Config: { Cmd: ['--root-url=https://tc', ROLE] } }),
    execWithInput: async (id: string, cmd: readonly string[], input: string) => {
      execs.push({ id, cmd, input });
      return answers.shift() ?? { exitCode: 0, output: '200\n' };
    },
  } as unknown as DockerApi;

  /** A source that sends one body through each proxy's `put` and reports what came back. */
  const sending = (pushed: LiveProxy[][]) =>
    ({
      updateCredentials: async (_credentials: unknown, proxies: LiveProxy[]) => {
        pushed.push(proxies);
        return Promise.all(
          proxies.map(async (p) => ({ proxy: p.name, status: await p.put('{"clientId":"x"}') })),
        );
      },
    }) as unknown as CredentialsSource;

  it('reaches each running proxy through an exec in its container, with the role scope from its command', async () => {
    execs.length = 0;
    const pushed: LiveProxy[][] = [];
    const results = await pushCredentials(
      { docker, desired: desired([db, dbProxy, cacheProxy]), source: sending(pushed), snapshot },
      CREDENTIALS,
    );
    expect(pushed.map((proxies) => proxies.map((p) => [p.name, p.roleScope]))).toEqual([
      [[dbProxy.name, ROLE]],
    ]);
    expect(results).toEqual([{ proxy: dbProxy.name, status: 200 }]);
    // The body goes on stdin; the command line is the image's fixed one.
    expect(execs).toEqual([
      {
        id: snapshot.containers.find((c) => c.name === dbProxy.name)!.id,
        cmd: PUT_CREDENTIALS_COMMAND,
        input: '{"clientId":"x"}',
      },
    ]);
  });

  it('passes on the status the proxy answered, and fails when the command could not reach it', async () => {
    const pushed: LiveProxy[][] = [];
    answers.push({ exitCode: 0, output: '400\n' });
    await expect(
      pushCredentials(
        { docker, desired: desired([db, dbProxy]), source: sending(pushed), snapshot },
        CREDENTIALS,
      ),
    ).resolves.toEqual([{ proxy: dbProxy.name, status: 400 }]);
    answers.push({ exitCode: 1, output: 'nothing listens on 127.0.0.1:61080\n' });
    await expect(
      pushCredentials(
        { docker, desired: desired([db, dbProxy]), source: sending(pushed), snapshot },
        CREDENTIALS,
      ),
    ).rejects.toThrow(/exited 1: nothing listens on 127\.0\.0\.1:61080/);
  });
});

describe('proxyCredentialsFrom', () => {
  it('refuses, terminally, to make a proxy when the manager has no worker credentials', async () => {
    const proxy = node('db', 'proxy');
    const error = await proxyCredentialsFrom(undefined)(proxy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TerminalError);
    expect(error).toMatchObject({ code: 'bad-spec' });
  });
});
