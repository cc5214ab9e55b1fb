#!/usr/bin/env bash
# `npm test`: runtime, test dependencies, type-check, lint and format check, then every ava
# test on the project's Node 24. Extra arguments go to ava (e.g. `npm test -- test/cli/config.test.ts`).
set -euo pipefail
cd "$(dirname "$0")/.."

node scripts/setup.cjs            # idempotent: returns at once when .runtime/ is current
bash scripts/install-test-deps.sh
npm run --silent typecheck
npm run --silent lint            # Biome (biome.json): rules that catch bugs
npm run --silent format:check    # Biome's formatter: `npm run format` rewrites what it reports

# CI reads a plain "N passed, N failed" closing line. ava prints "N tests passed" only when
# nothing failed, so the passes are counted from its per-test "✔" lines.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
[[ -t 1 ]] && export FORCE_COLOR=1   # tee hides the terminal from ava; keep its colours
set +e
scripts/node24 node_modules/ava/entrypoints/cli.mjs "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
sed -i 's/\x1b\[[0-9;]*m//g' "$log"
passed=$(grep -E '^\s*✔ ' "$log" | grep -cv '\[expected fail\]' || true)
failed=$(grep -Eo '^\s*[0-9]+ tests? failed' "$log" | grep -Eo '[0-9]+' | head -1 || true)
failed=${failed:-0}
# A crash, timeout or failed hook fails the run without a failed test: count it as one.
if (( status != 0 && failed == 0 )); then failed=1; fi
echo "ava: ${passed} passed, ${failed} failed"
exit "$status"
