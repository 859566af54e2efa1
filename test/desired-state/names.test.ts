import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  parseOwnedName,
  proxyContainerName,
  serviceContainerName,
  serviceNetworkName,
  taskNetworkName,
} from '../../src/desired-state/names.js';
import { TASK_ID, serviceNameArb, taskIdArb } from './support.js';

describe('names', () => {
  it('follow the documented pattern', () => {
    expect(taskNetworkName(TASK_ID, 2)).toBe(`ds-${TASK_ID}-2`);
    expect(serviceNetworkName(TASK_ID, 2, 'db')).toBe(`ds-${TASK_ID}-2_db`);
    expect(serviceContainerName(TASK_ID, 2, 'db')).toBe(`ds-${TASK_ID}-2_db`);
    expect(proxyContainerName(TASK_ID, 2, 'db')).toBe(`ds-${TASK_ID}-2_db_proxy`);
  });

  it('parse back to exactly what made them', () => {
    fc.assert(
      fc.property(taskIdArb, fc.nat({ max: 1000 }), serviceNameArb, (taskId, runId, service) => {
        expect(parseOwnedName(taskNetworkName(taskId, runId))).toEqual({ taskId, runId });
        expect(parseOwnedName(serviceContainerName(taskId, runId, service))).toEqual({
          taskId,
          runId,
          service,
        });
        expect(parseOwnedName(`/${serviceNetworkName(taskId, runId, service)}`)).toEqual({
          taskId,
          runId,
          service,
        });
        expect(parseOwnedName(proxyContainerName(taskId, runId, service))).toEqual({
          taskId,
          runId,
          service,
          proxy: true,
        });
      }),
    );
  });

  it.each([
    'ds-',
    'redis',
    `ds-${TASK_ID}`,
    `ds-${TASK_ID}-`,
    `ds-${TASK_ID}-01`,
    `ds-${TASK_ID}-0_`,
    `ds-${TASK_ID}-0_DB`,
    `ds-${TASK_ID}-0_db_proxy_x`,
    `ds-${TASK_ID}-0_db_other`,
    `ds-${TASK_ID}x-0`,
    'ds-short-0_db',
    `xds-${TASK_ID}-0`,
    // Sixteen digits fit the pattern but not a safe integer: no run of ours has that id.
    `ds-${TASK_ID}-9999999999999999`,
  ])('%s is not one of ours', (name) => {
    expect(parseOwnedName(name)).toBeUndefined();
  });
});
