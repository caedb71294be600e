// Tests run from the compiled output: one tsc build for the whole project, no per-file transform.
module.exports = {
  rootDir: __dirname,
  testMatch: ['<rootDir>/dist/test/**/*.test.js'],
  // The scale-out tests need their own Temporal cluster: `npm run test:cluster`.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/dist/test/cluster/'],
  globalSetup: '<rootDir>/dist/test/helpers/global-setup.js',
  globalTeardown: '<rootDir>/dist/test/helpers/global-teardown.js',
  setupFilesAfterEnv: ['<rootDir>/dist/test/helpers/after-each-file.js'],
  testTimeout: 180000,
  maxWorkers: 1,
};
