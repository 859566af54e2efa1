#!/usr/bin/env bash
# Runs a command beside a dockerd of its own, in a network namespace of its own, with the iptables
# backend chosen here, so that bench/isolation.sh can measure either backend without switching
# the host's alternatives or restarting the shared daemon (whose tests and users keep running).
#
#   bench/netns-dockerd.sh legacy|nft -- COMMAND [ARGS...]
#
# The command runs inside the namespace, with DOCKER_HOST set to the private daemon and `iptables`
# (and its -save/-restore, ip6tables) resolving to the chosen backend; e.g.
#   bench/netns-dockerd.sh legacy -- bench/isolation.sh -d 60
# The daemon's rules live in that namespace only; the host's packet filter is not touched. The
# busybox fixture image is copied in from the shared daemon. Everything (daemon, containerd, the
# namespace, the temp dir) is removed on exit; the command's exit status is returned.
# DS_DOCKERD_ARGS adds daemon flags (word-split), e.g. "--default-address-pool base=10.1.0.0/16,size=24".
# Without them the daemon has Docker's default address pools, as on a stock host.
set -uo pipefail

backend=${1:-}
[ "$backend" = legacy ] || [ "$backend" = nft ] || { echo "usage: $0 legacy|nft -- COMMAND..." >&2; exit 1; }
shift
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "usage: $0 legacy|nft -- COMMAND..." >&2; exit 1; }
image=${DS_ISO_IMAGE:-ds-fixtures/busybox:latest}

run=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
ns=ds-bench-$run
dir=$(mktemp -d "/tmp/ds-netns-dockerd-$run.XXXX")
sock=unix://$dir/docker.sock
log() { printf 'netns-dockerd: %s\n' "$*" >&2; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -s "$dir/docker.pid" ]; then
    local pid
    pid=$(cat "$dir/docker.pid")
    timeout 30 docker -H "$sock" rm -f $(timeout 30 docker -H "$sock" ps -aq 2>/dev/null) >/dev/null 2>&1
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null
  fi
  # containerd and shims name the dir on their command lines.
  pkill -9 -f "$dir" 2>/dev/null
  sleep 0.5
  grep -o " $dir/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  rm -rf "$dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$dir/bin"
for tool in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  target=/usr/sbin/${tool/tables/tables-$backend}
  [ -x "$target" ] || { log "$target is missing (package iptables)"; exit 2; }
  ln -s "$target" "$dir/bin/$tool"
done

ip netns add "$ns" || exit 2
# nsenter, not `ip netns exec`: that also mounts a sysfs of the namespace over /sys, which hides
# the cgroup mounts dockerd needs.
in_ns() { nsenter --net="/run/netns/$ns" env PATH="$dir/bin:$PATH" DOCKER_HOST="$sock" "$@"; }
in_ns ip link set lo up

log "starting dockerd in namespace $ns with iptables-$backend (dir $dir)"
in_ns nohup dockerd -H "$sock" --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
  ${DS_DOCKERD_ARGS:-} >"$dir/dockerd.log" 2>&1 </dev/null &
for _ in $(seq 120); do
  timeout 5 docker -H "$sock" info >/dev/null 2>&1 && break
  sleep 0.5
done
timeout 5 docker -H "$sock" info >/dev/null 2>&1 || { log "dockerd did not answer"; tail -20 "$dir/dockerd.log" >&2; exit 2; }
timeout 120 docker save "$image" | timeout 120 docker -H "$sock" load >/dev/null || { log "cannot copy $image"; exit 2; }
log "ready: $(in_ns iptables --version)"

in_ns "$@"
