/** taskcluster-client 87 is ESM-only: this proves the suites run as ES modules and can use it. */
import { describe, expect, it } from '@jest/globals';
import taskcluster from 'taskcluster-client';

describe('taskcluster-client under jest', () => {
  it('loads and builds a signed URL for a client made from its default export', async () => {
    const queue = new taskcluster.Queue({
      rootUrl: 'http://127.0.0.1:1',
      credentials: { clientId: 'tester', accessToken: 'not-a-real-token' },
    });
    const url: string = await queue.buildSignedUrl(queue.task, 'abc');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:1\/api\/queue\/v1\/task\/abc\?bewit=/);
  });
});
