// `npm run test:cluster` (scripts/test-cluster.sh): the scale-out tests, on a Temporal cluster the
// script starts; the same platform set-up as the main suite, pointed at that cluster.
const base = require('./jest.config');
module.exports = { ...base, testMatch: ['<rootDir>/dist/test/cluster/**/*.test.js'], testPathIgnorePatterns: [] };
