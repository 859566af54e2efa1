// taskcluster-client ships no types; src/proxy and src/credentials wrap the parts we use in typed facades.
declare module 'taskcluster-client' {
  const taskcluster: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  export default taskcluster;
}
declare module 'taskcluster-lib-scopes' {
  export function validScope(scope: string): boolean;
  export function satisfiesExpression(scopes: string[], expression: unknown): boolean;
  export function scopeIntersection(a: string[], b: string[]): string[];
}
