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

step "host tools"
# nft: the isolation guard (src/host/isolation-guard.ts) and its tests.
if ! command -v nft >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null; }
fi
nft --version
# zstd, lz4: the decoders of .tar.zst and .tar.lz4 image artifacts (src/actions/image-tarball.ts).
if ! command -v zstd >/dev/null 2>&1 || ! command -v lz4 >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zstd lz4 >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zstd lz4 >/dev/null; }
fi
zstd --version

step "docker engine"
scripts/docker-engine.sh

# The image tests start a real registry (distribution 2.8) with htpasswd (bcrypt) logins.
step "registry for the image tests"
if ! command -v docker-registry >/dev/null || ! command -v htpasswd >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-registry apache2-utils \
    || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-registry apache2-utils; }
else
  echo "docker-registry and htpasswd are installed"
fi

step "build"
npm run --silent build

step "local images"
fixtures/images/build.sh
