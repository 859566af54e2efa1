#!/usr/bin/env bash
# Ensures a Docker engine answers on /var/run/docker.sock, idempotently.
#   - `docker info` and `docker network ls` answer within 10 s each: nothing to do (the dockerd
#     20.10 hang seen here was in `network ls` and `rm -f`; `info` alone may not show it).
#   - dockerd runs but does not answer (seen on dockerd 20.10 after heavy churn): kill and restart it.
#   - otherwise: install docker.io from apt when missing, clear a stale pid file, start dockerd.
# The daemon log goes to ${DOCKERD_LOG:-/var/log/docker-services-dockerd.log}.
set -euo pipefail

log=${DOCKERD_LOG:-/var/log/docker-services-dockerd.log}
pidfile=/var/run/docker.pid

answers() { timeout 10 docker info >/dev/null 2>&1 && timeout 10 docker network ls >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker-engine: installing docker.io from apt" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io >/dev/null
fi

if pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker-engine: dockerd is running but does not answer; restarting it" >&2
  pkill -9 -x dockerd || true
  for _ in $(seq 1 50); do pgrep -x dockerd >/dev/null || break; sleep 0.2; done
fi
# A killed daemon leaves its pid file behind and the next one refuses to start.
if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then
  rm -f "$pidfile"
fi
if [ -f /var/run/docker/containerd/containerd.pid ] && \
   ! kill -0 "$(cat /var/run/docker/containerd/containerd.pid 2>/dev/null)" 2>/dev/null; then
  rm -f /var/run/docker/containerd/containerd.pid
fi

# Small address pools: every task gets one network plus one per service, so /24s from one /16
# fit 256 networks instead of the default handful of /16s.
echo "docker-engine: starting dockerd (log: $log)" >&2
nohup dockerd --default-address-pool base=10.231.0.0/16,size=24 >>"$log" 2>&1 </dev/null &
disown || true

for _ in $(seq 1 120); do
  if answers; then
    echo "docker-engine: ready ($(docker version --format '{{.Server.Version}}, API {{.Server.APIVersion}}'))" >&2
    exit 0
  fi
  sleep 0.5
done
echo "docker-engine: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 30 "$log" >&2
exit 1
