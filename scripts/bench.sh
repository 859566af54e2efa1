#!/usr/bin/env bash
# The benchmark (`npm run bench`, `npm run bench -- --quick`): from a fresh machine it installs
# what the bench needs (npm packages, Debian's docker-compose 1.29), starts the Docker engine,
# builds the local images and the bench's stand-in proxy image, then runs bench/src/main.ts
# (through tsx). Results: bench/results/<full|quick>.{md,json}. Extra arguments go to the bench
# (`npm run bench -- --help`). Not part of `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

scripts/prepare.sh

step "docker-compose"
if ! command -v docker-compose >/dev/null; then
  echo "installing Debian's docker-compose (1.29)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null ||
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }
fi
docker-compose version --short

step "bench images"
# The proxies are the real Node proxy (docker-services/proxy, built above) unless the bench runs
# with `--proxy stand-in`: then busybox that sleeps and ignores the proxy's arguments, so that
# every variant measures Docker work and orchestration alone, not the Node proxy's start-up (the
# same image for the floor and for the library).
stand_in=ds-bench/proxy-stand-in:latest
stand_in_recipe=$({ sed -n '/^# ---- stand-in/,/^# ---- end/p' "$0"; docker image inspect --format '{{.Id}}' ds-fixtures/busybox:latest; } | sha256sum | cut -c1-16)
# ---- stand-in
if [ "$(docker image inspect --format '{{index .Config.Labels "docker-services-bench.recipe"}}' $stand_in 2>/dev/null || true)" != "$stand_in_recipe" ]; then
  printf 'FROM ds-fixtures/busybox:latest\nLABEL docker-services-bench.recipe=%s\nENTRYPOINT ["sh", "-c", "exec sleep 86400", "proxy"]\nCMD []\n' \
    "$stand_in_recipe" | DOCKER_BUILDKIT=0 docker build -q -t $stand_in - >/dev/null
  echo "$stand_in $(docker image inspect --format '{{.Id}}' $stand_in) built"
else
  echo "$stand_in $(docker image inspect --format '{{.Id}}' $stand_in) kept"
fi
# ---- end

step "bench"
export TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=localhost
# A deadlocked dockerd is restarted (scripts/docker-watchdog.sh): the runs it fails are reported,
# and the rest of a 50-minute bench still has an engine.
scripts/docker-watchdog.sh &
watchdog_pid=$!
trap 'kill $watchdog_pid 2>/dev/null || true' EXIT
# The bench has its own watchdog (--watchdog-minutes: 90 full, 20 quick); this one is for a wedged process.
timeout -k 30s 120m node --expose-gc --import tsx bench/src/main.ts "$@"
