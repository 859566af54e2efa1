// Jest runs the suites as native ES modules (NODE_OPTIONS=--experimental-vm-modules, set by
// `npm run jest`): taskcluster-client 87 is ESM-only and CommonJS jest cannot load it.
// ts-jest only transpiles (tsconfig's isolatedModules); `npm run typecheck` is the type check.
/** @type {import('jest').Config} */
export default {
  extensionsToTreatAsEsm: ['.ts'],
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 60_000,
};
