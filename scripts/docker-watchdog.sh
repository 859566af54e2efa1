#!/usr/bin/env bash
# Watches the Docker engine while a long run (the tests, the bench) uses it, and restarts it when
# it stops answering: dockerd 20.10 deadlocks in libnetwork under container churn (two locks taken
# in opposite orders, moby/moby#42545; Debian's 20.10.24 predates the fix), after which `network ls`,
# `rm -f` and soon `info` hang until it restarts. Two misses 20 s apart (15 s each) make a restart;
# what was running then fails, and what comes after has an engine again.
# Usage: scripts/docker-watchdog.sh & (kill it when the run ends). Messages go to stderr.
set -uo pipefail
cd "$(dirname "$0")/.."

misses=0
while sleep 20; do
  if timeout 15 docker info >/dev/null 2>&1 && timeout 15 docker network ls >/dev/null 2>&1; then
    misses=0
    continue
  fi
  misses=$((misses + 1))
  if [ "$misses" -ge 2 ]; then
    echo "docker-watchdog: dockerd stopped answering; restarting it" >&2
    scripts/docker-engine.sh || true
    misses=0
  fi
done
