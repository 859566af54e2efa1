#!/usr/bin/env bash
# What every entry point (`npm test`, `npm run demo`, `npm run bench`) needs first, from a fresh
# machine: node_modules matching the lock file, a Docker engine that answers, the package built
# (the proxy image is made from dist/proxy), and the local images.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "dependencies"
lock_hash=$(sha256sum package-lock.json | cut -c1-16)
if [ "$(cat node_modules/.ds-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  npm ci --no-audit --no-fund
  echo "$lock_hash" >node_modules/.ds-lock-hash
else
  echo "node_modules matches package-lock.json"
fi

step "docker engine"
scripts/docker-engine.sh

step "build"
npm run --silent build

step "local images"
fixtures/images/build.sh
