/**
 * What the planner derives from the graph alone: the order every pass walks it in, and a cache of
 * it that a loop keeps between plans, which must never carry one graph's index to another.
 */
import { describe, expect, test } from '@jest/globals';
import { formatPlan } from '../../src/reconciler/format.js';
import { byNameThenId, compare } from '../../src/reconciler/graph-index.js';
import { PlanCache, plan } from '../../src/reconciler/plan.js';
import { baseOptions, buildDesired, convergedSnapshot } from '../support/builders.js';

describe('the order of the graph', () => {
  test('compare is a comparator: equal strings compare as 0', () => {
    expect(compare('a', 'a')).toBe(0);
    expect(compare('a', 'b')).toBe(-1);
    expect(compare('b', 'a')).toBe(1);
  });

  test('by name, then by id where names are equal', () => {
    const nodes = [
      { name: 'b', id: '1' },
      { name: 'a', id: '2' },
      { name: 'a', id: '1' },
    ];
    expect([...nodes].sort(byNameThenId)).toEqual([
      { name: 'a', id: '1' },
      { name: 'a', id: '2' },
      { name: 'b', id: '1' },
    ]);
    expect(byNameThenId({ name: 'a', id: '1' }, { name: 'a', id: '1' })).toBe(0);
  });
});

describe('PlanCache', () => {
  test('a cache kept from one graph to the next plans the next one, not the last', () => {
    const before = buildDesired([{ name: 'db', image: 'ds-fixtures/postgres:latest' }]);
    const after = buildDesired([
      { name: 'db', image: 'ds-fixtures/postgres:latest' },
      { name: 'cache', image: 'ds-fixtures/redis:latest' },
    ]);
    const observed = convergedSnapshot(before);
    observed.images.push(...convergedSnapshot(after).images);
    const cache = new PlanCache();
    plan(before, observed, { ...baseOptions(), cache });
    const cached = plan(after, observed, { ...baseOptions(), cache });
    const fresh = plan(after, observed, baseOptions());
    expect(formatPlan(cached, 'json')).toBe(formatPlan(fresh, 'json'));
    expect(cached.actions.map((a) => a.id)).toContain(
      'create-container:ds-fXaAmhBlTXmKjFmfd7Fh9A-0_cache_proxy',
    );
  });
});
