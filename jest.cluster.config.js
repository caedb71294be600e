// `npm run test:cluster` (scripts/test-cluster.sh): the scale-out tests, on a Temporal cluster the
// script starts; the same platform set-up as the main suite (jest.config.js), pointed at that cluster.
module.exports = {
  rootDir: __dirname,
  testMatch: ['<rootDir>/dist/test/cluster/**/*.test.js'],
  globalSetup: '<rootDir>/dist/test/helpers/global-setup.js',
  globalTeardown: '<rootDir>/dist/test/helpers/global-teardown.js',
  setupFilesAfterEnv: ['<rootDir>/dist/test/helpers/after-each-file.js'],
  testTimeout: 180000,
  maxWorkers: 1,
};
