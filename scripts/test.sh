#!/usr/bin/env bash
# `npm test`: prepares the real services the tests need (idempotently), then build, lint,
# typecheck and the whole jest suite against them. The last line is the jest summary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

prepare_services
ensure_database vcloud_test
ensure_database vcloud_bench
start_host_b_services
cd "$ROOT"
log "build"; npm run --silent build
log "the typed client matches the OpenAPI document"; node "$ROOT/scripts/gen-client.mjs" --check
log "lint"; npx eslint .
log "typecheck"; npm run --silent typecheck
bash "$ROOT/scripts/build-images.sh"

rm -f "$DATA/jest-results.json"
set +e
npx jest --runInBand --forceExit --json --outputFile="$DATA/jest-results.json" "$@"
status=$?
set -e
if [[ -f "$DATA/jest-results.json" ]]; then
  node -e '
    const r = require(process.argv[1]);
    console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
  ' "$DATA/jest-results.json"
else
  echo "jest: did not run its tests (see above), exit $status"
  [[ $status -ne 0 ]] || status=1
fi
exit $status
