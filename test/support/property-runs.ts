/**
 * How many runs a property test gets: `base` × `DS_PROPERTY_SCALE` (5 for a refactor's check;
 * a mutation run sets 0.1, see test/mutation/setup.ts), at least one.
 */
export function propertyRuns(base: number): number {
  return Math.max(1, Math.round(base * Number(process.env.DS_PROPERTY_SCALE ?? 1)));
}
