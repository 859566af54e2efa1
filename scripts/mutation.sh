#!/usr/bin/env bash
# Mutation testing of the pure core (`npm run mutation [-- FILE…]`; README, "Mutation testing"):
# runs StrykerJS (stryker.config.mjs) once per source file, each with its own incremental file
# under test/mutation/incremental/, so that a run after a change re-tests only what the change
# touched, and a run cut short keeps the files it finished. Without arguments: every file of
# src/desired-state and src/reconciler. Extra Stryker flags go after `--`
# (`npm run mutation -- src/reconciler/plan.ts -- --concurrency 1`).
set -euo pipefail
cd "$(dirname "$0")/.."

files=()
while [[ $# -gt 0 && $1 != -- ]]; do
  files+=("$1")
  shift
done
[[ ${1:-} == -- ]] && shift
if [[ ${#files[@]} -eq 0 ]]; then
  mapfile -t files < <(ls src/desired-state/*.ts src/reconciler/*.ts | grep -v '/index\.ts$')
fi

mkdir -p test/mutation/incremental
for file in "${files[@]}"; do
  [[ -f $file ]] || { echo "mutation: no file $file" >&2; exit 1; }
  incremental="test/mutation/incremental/$(echo "${file#src/}" | tr / _).json"
  echo "== $file ($(date -u +%H:%M:%S))"
  # A file's mutants run at the lowest priority: the machine is shared.
  nice -n 19 npx stryker run --mutate "$file" --incrementalFile "$incremental" "$@"
done
