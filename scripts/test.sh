#!/usr/bin/env bash
# The one test command (`npm test`): from a fresh machine it installs what the tests need, starts
# the Docker engine, builds the package, the local images and the single executable, then runs
# typecheck, lint and every jest suite (unit, property and integration against the real engine),
# and finally fails if the run left any container or network behind. Extra arguments go to jest
# (e.g. a path filter).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

scripts/prepare.sh

# The single executable that test/package/executable.test.ts runs without Node on PATH (about
# 30 s: a bundle, a blob, and a copy of the node binary with the blob injected).
step "package"
npm run --silent package

step "typecheck"
npm run --silent typecheck

step "lint"
npm run --silent lint

# A daemon that stops answering mid-run is restarted rather than left to time every remaining
# test out (see scripts/docker-watchdog.sh).
scripts/docker-watchdog.sh &
watchdog_pid=$!
trap 'kill $watchdog_pid 2>/dev/null || true' EXIT

step "jest"
export DS_TEST_RUN=${DS_TEST_RUN:-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')}
export DS_REQUIRE_ENGINE=1
results=$(mktemp)
status=0
npm run --silent jest -- --json --outputFile="$results" "$@" || status=$?

step "leftovers"
scripts/leftover-check.sh "$DS_TEST_RUN" || status=1

node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`\n${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results" || status=1
exit "$status"
