#!/usr/bin/env bash
# Does Docker's isolation between two user-defined bridge networks hold while other networks are
# created and removed (issue 16, item 5)? The isolation between two tasks' networks is nothing but
# dockerd's iptables rules, and dockerd 20.10 re-inserts FORWARD's jump to
# DOCKER-ISOLATION-STAGE-1 (delete, then insert) every time it creates a bridge network; this
# measures whether that gap lets traffic through.
#
# Everything Docker-side is labelled docker-services-bench.isolation=<run> and named ds-iso-<run>-*,
# and removed on exit by that label. Probes only ever go to the server's IP on the network A made
# here. iptables is only read (iptables -S, xtables-monitor), never written.
set -uo pipefail

usage() {
  cat <<'EOF'
Usage: bench/isolation.sh [options]

Two bridge networks A and B; a TCP server on A (busybox nc, port 8080), a prober on B, a control
prober on A. After a baseline (B must not reach the server, the control must), it churns networks
for the given time while the prober on B tries to connect to the server every ~50 ms.

  -d, --duration S     seconds of churn and probing (default 60)
      --probe-ms MS    pause between two probes from B (default 50); each probe waits up to 1 s
      --churn-ms MS    pause after each churn operation (default 200)
      --churn-max N    churn networks alive at once (default 3)
      --sample-ms MS   pause between two `iptables -S FORWARD` samples (default 20; 0: none)
      --logs DIR       where the raw logs go (default: a new /tmp/ds-iso-<run>.XXXX)
      --image IMG      busybox image with nc (default ds-fixtures/busybox:latest; never pulled)
      --guard          put A and B in docker-services' isolation guard (isolationGuard:
                       "nftables", src/host/isolation-guard.ts) before the baseline, and take
                       them out at the end: a breach then means the guard does not hold
  -h, --help

Churn: create a labelled bridge network, remove the oldest once more than --churn-max are alive,
and every few networks connect a throwaway container to the newest one / disconnect it again.
With the nf_tables backend, xtables-monitor also records every add and delete of FORWARD's jump
rules as it happens, so each gap is timed (to within the time the event takes to be read: ms on
an idle machine, tens of ms on a loaded one); the samples only count how often one fell in a gap.
With the legacy backend there is no monitor, and `iptables -S` may take the xtables lock that
dockerd's own iptables calls wait for: --sample-ms 0 keeps the sampler from shifting the gaps.

Summary fields: probes (from B; closed = blocked), breaches (probes that connected: open = the
reply came back too, connected = it did not), server_saw_b (distinct connections from B the
server held in any TCP state, seen by netstat every second: it also counts SYNs that crossed
without their SYN-ACK, and SYNs that nc retransmitted at 1 s which crossed after its timeout had
fired, so it can exceed breaches), control_ok (the control on A, once a second), forward_samples
and jump_missing (samples of FORWARD without the DOCKER-ISOLATION-STAGE-1 jump), jump_gaps and
gap_ms (from the monitor: how many times that jump was deleted and re-added, and for how long),
breaches_in_our_creates / breaches_in_gap (how many breaches overlapped one of this run's
network creates / a monitored gap), load (1-minute load average at start and end).

Prints one summary line at the end; the raw logs stay in the logs directory. Exit status: 0 no
breach; 3 breached (a probe from B connected to the server, or the server saw a connection from
B, which arrives masqueraded as A's gateway); 2 the measurement is void (setup or baseline
failed, no probes, or the control could not reach the server during churn); 1 usage.
EOF
}

duration=60 probe_ms=50 churn_ms=200 churn_max=3 sample_ms=20 logs="" image=ds-fixtures/busybox:latest guard=off
while [ $# -gt 0 ]; do
  case $1 in
    -d | --duration) duration=${2:?}; shift 2 ;;
    --probe-ms) probe_ms=${2:?}; shift 2 ;;
    --churn-ms) churn_ms=${2:?}; shift 2 ;;
    --churn-max) churn_max=${2:?}; shift 2 ;;
    --sample-ms) sample_ms=${2:?}; shift 2 ;;
    --logs) logs=${2:?}; shift 2 ;;
    --image) image=${2:?}; shift 2 ;;
    --guard) guard=on; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "isolation: unknown argument $1 (see --help)" >&2; exit 1 ;;
  esac
done
for v in duration probe_ms churn_ms churn_max sample_ms; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "isolation: --${v//_/-} wants a whole number" >&2; exit 1; }
done
[ "$duration" -ge 1 ] && [ "$churn_max" -ge 1 ] || { echo "isolation: duration and churn-max must be >= 1" >&2; exit 1; }

run=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
prefix=ds-iso-$run
label_key=docker-services-bench.isolation
label=$label_key=$run
port=8080
reply=ds-iso-ok
if [ -z "$logs" ]; then logs=$(mktemp -d "/tmp/$prefix.XXXX"); else mkdir -p "$logs"; fi

log() { printf 'isolation: %s\n' "$*" >&2; }
# dockerd 20.10 can deadlock under churn (moby/moby#42545); nothing here may wait on it forever.
dk() { timeout 60 docker "$@"; }
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
# Sleeping by a read that times out on a FIFO nobody writes costs no fork per pause.
mkfifo "$logs/.pause"
exec {pause_fd}<>"$logs/.pause"
pause_ms() { read -r -t "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))" -u "$pause_fd" || true; }

bg_pids=() guarded=() guard_table=none
monitor_pidfile=$logs/monitor.pid
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  touch "$logs/stop"
  [ -s "$monitor_pidfile" ] && kill "$(cat "$monitor_pidfile")" 2>/dev/null
  local pid
  for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${bg_pids[@]}"; do wait "$pid" 2>/dev/null; done
  # Containers first: the throwaway may still be attached to a churn network.
  local ids nets left
  [ "${#guarded[@]}" -gt 0 ] && guard_op release "${guarded[@]}"
  # The host's packet filter is left as found: the table goes if this run made it.
  [ "$guard_table" = made ] && nft delete table inet docker_services_isolation 2>/dev/null
  ids=$(timeout 30 docker ps -aq --filter "label=$label")
  [ -n "$ids" ] && timeout 60 docker rm -f $ids >/dev/null 2>&1
  nets=$(timeout 30 docker network ls -q --filter "label=$label")
  [ -n "$nets" ] && timeout 60 docker network rm $nets >/dev/null 2>&1
  left=$( (timeout 30 docker ps -aq --filter "label=$label"; timeout 30 docker network ls -q --filter "label=$label") | wc -l)
  if [ "$left" -ne 0 ]; then
    log "cleanup: $left object(s) labelled $label are still there; remove them with: docker rm -f \$(docker ps -aq --filter label=$label); docker network rm \$(docker network ls -q --filter label=$label)"
    [ "$rc" -eq 0 ] && rc=2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { log "$*"; exit 2; }

backend=$(iptables --version 2>/dev/null | sed -n 's/.*(\(.*\)).*/\1/p')
dockerd=$(dk version --format '{{.Server.Version}}' 2>/dev/null) || fail "docker does not answer"
dk image inspect "$image" >/dev/null 2>&1 || fail "image $image is not here (it is never pulled)"
load_start=$(cut -d' ' -f1 /proc/loadavg)
log "run $run: backend ${backend:-unknown}, dockerd $dockerd, logs in $logs"

# In the containers (busybox ash). A probe prints: probe SEQ START_EPOCH ELAPSED_S RESULT, where
# RESULT is open (connected and the server's reply came back), connected (connected, reply lost),
# closed (the connect timed out) or error (anything else, e.g. unreachable). nc runs a helper once
# connected that says so on stderr, so a connection is known without guessing from timings,
# which a loaded machine stretches by seconds. Probes overlap: a blocked one takes a second.
# Times come from /proc/uptime (10 ms steps, no fork) plus an offset to the wall clock taken once:
# each fork counts when the machine is loaded, and the probe rate is what is being measured with.
read -r -d '' probe_sh <<'EOF'
target=$1 port=$2 want=$3 pause_us=$4 max=$5
helper='echo connected >&2; read -r r; echo "reply $r" >&2'
read -r u _ </proc/uptime
now=$(adjtimex | awk '/tv_sec/ { s = $2 } /tv_usec/ { printf "%d%02d", s, int($2 / 10000) }')
off=$((now - ${u%.*}${u#*.}))
i=0
while [ "$i" -lt "$max" ] && [ ! -e /tmp/ds-iso-stop ]; do
  i=$((i + 1))
  (
    read -r u0 _ </proc/uptime
    out=$(timeout -s KILL 3 nc -w 1 "$target" "$port" -e sh -c "$helper" 2>&1 </dev/null)
    read -r u1 _ </proc/uptime
    c0=${u0%.*}${u0#*.} c1=${u1%.*}${u1#*.}
    t=$((c0 + off)) el=$((c1 - c0))
    case $out in
      *"reply $want"*) r=open ;;
      *connected*) r=connected ;;
      *"timed out"*) r=closed ;;
      *) r=error ;;
    esac
    printf 'probe %d %d.%02d %d.%02d %s\n' "$i" $((t / 100)) $((t % 100)) $((el / 100)) $((el % 100)) "$r"
  ) 2>/dev/null &
  usleep "$pause_us"
done
wait
echo "end $i"
EOF
# On the server: which connections from outside A exist, every second (nc listens on IPv6, so
# netstat shows IPv4 peers as ::ffff:a.b.c.d). Whatever crosses from B arrives from A's gateway
# address, not the prober's: Docker masquerades traffic from a network that leaves by another
# bridge. A SYN that got through while its SYN-ACK did not sits in SYN_RECV for about a minute,
# a reply that could not get back keeps being resent for longer, and a connection that closed
# cleanly stays in TIME_WAIT for a minute, so this also catches what the prober never sees.
read -r -d '' watch_sh <<'EOF'
gateway=$1 prober=$2 max=$3
i=0
while [ "$i" -lt "$max" ] && [ ! -e /tmp/ds-iso-stop ]; do
  i=$((i + 1))
  netstat -tn 2>/dev/null | awk -v g="$gateway:" -v p="$prober:" \
    '{ f = $5; sub(/^::ffff:/, "", f) } index(f, g) == 1 || index(f, p) == 1 { print "seen", $6, f }'
  sleep 1
done
echo "end $i"
EOF

run_c() { dk run -d --pull never --label "$label" "$@" >/dev/null; }
ip_of() { dk inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }

log "setting up"
for n in a b park; do
  dk network create --label "$label" "$prefix-$n" >/dev/null || fail "cannot create network $prefix-$n"
done
guard_op() { (cd "$(dirname "$0")/.." && timeout 60 node --import tsx bench/src/guard.ts "$@"); }
if [ "$guard" = on ]; then
  nft list table inet docker_services_isolation >/dev/null 2>&1 && guard_table=found || guard_table=made
  guarded=($(dk network inspect -f '{{.Id}}' "$prefix-a" "$prefix-b")) || fail "cannot read the ids of A and B"
  guard_op protect "${guarded[@]}" || fail "the isolation guard did not take A and B"
  log "guard: A and B are in the isolation guard"
fi
run_c --name "$prefix-server" --network "$prefix-a" "$image" nc -ll -p "$port" -e echo "$reply" || fail "server did not start"
run_c --name "$prefix-control" --network "$prefix-a" "$image" sleep 86400 || fail "control did not start"
run_c --name "$prefix-prober" --network "$prefix-b" "$image" sleep 86400 || fail "prober did not start"
# Parked on its own network so that connect/disconnect never touches A or B.
run_c --name "$prefix-throwaway" --network "$prefix-park" "$image" sleep 86400 || fail "throwaway did not start"
server_ip=$(ip_of "$prefix-server") && prober_ip=$(ip_of "$prefix-prober") &&
  gateway_a=$(dk inspect -f '{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}' "$prefix-server") ||
  fail "cannot read the containers' IPs"
[[ $server_ip =~ ^[0-9.]+$ && $prober_ip =~ ^[0-9.]+$ && $gateway_a =~ ^[0-9.]+$ ]] ||
  fail "unexpected IPs: server '$server_ip', prober '$prober_ip', gateway of A '$gateway_a'"
log "server $server_ip on $prefix-a, prober $prober_ip on $prefix-b"

probe_from() { # container pause_us count -> probe lines
  dk exec "$1" sh -c "$probe_sh" probe "$server_ip" "$port" "$reply" "$2" "$3"
}
count() { grep -c "^probe .* $1\$" <<<"$2"; }

# The baseline makes a quiet result mean something: the probe does reach the server from A, and
# the rules do stop it from B before any churn.
base_ctl=$(probe_from "$prefix-control" 200000 3)
base_b=$(probe_from "$prefix-prober" 100000 3)
printf '%s\n' "$base_ctl" >"$logs/baseline-control.log"
printf '%s\n' "$base_b" >"$logs/baseline-prober.log"
[ "$(count open "$base_ctl")" -eq 3 ] || fail "baseline: the control on A did not reach $server_ip:$port 3 times out of 3 ($(tr '\n' ' ' <<<"$base_ctl")): the probe does not work, so no result would mean anything"
[ "$(count closed "$base_b")" -eq 3 ] || fail "baseline: the prober on B was not blocked 3 times out of 3 ($(tr '\n' ' ' <<<"$base_b")): no isolation to measure"
log "baseline: control reached the server 3/3, prober on B blocked 3/3"

# Observers, all started before the churn and bounded by time on their own.
limit=$((duration + 60))
end_us=$(($(now_us) + duration * 1000000))
monitor=off
if [ "$backend" = nf_tables ] && command -v xtables-monitor >/dev/null && command -v stdbuf >/dev/null; then
  monitor=on
  # An event is stamped when it is read, so the reader must not queue behind the load: it sleeps
  # but for an event, and runs at a higher priority (children inherit it) with no process
  # between it and the monitor. Kept: FORWARD's own jumps (no -i/-o), the ones dockerd deletes
  # and re-inserts.
  {
    renice -n -10 -p "$BASHPID" >/dev/null 2>&1
    timeout "$limit" stdbuf -oL xtables-monitor -e -4 2>"$logs/monitor.err" &
    echo $! >"$monitor_pidfile"
    wait
  } | {
    renice -n -10 -p "$BASHPID" >/dev/null 2>&1
    jump_re=' -t filter -[ADI] FORWARD -j [A-Za-z0-9_-]+$'
    while IFS= read -r line; do
      t=$EPOCHREALTIME
      [[ $line =~ $jump_re ]] && printf '%s %s\n' "$t" "${line#*EVENT: -4 -t filter }"
    done
  } >"$logs/monitor.log" &
  bg_pids+=($!)
fi
if [ "$sample_ms" -gt 0 ]; then
  (
    n=0 missing=0 errors=0
    while [ "$(now_us)" -lt "$end_us" ] && [ ! -e "$logs/stop" ]; do
      # The chain was read somewhere between t0 and t1: tens of ms apart on a loaded machine.
      t0=$EPOCHREALTIME
      if out=$(iptables -S FORWARD 2>&1); then
        t1=$EPOCHREALTIME
        n=$((n + 1))
        if [[ $'\n'$out$'\n' != *$'\n-A FORWARD -j DOCKER-ISOLATION-STAGE-1\n'* ]]; then
          missing=$((missing + 1))
          printf 'missing %s %s %s\n' "$t0" "$t1" "$(tr '\n' ';' <<<"$out")"
        fi
      else
        errors=$((errors + 1))
        printf 'error %s %s\n' "$t0" "$(tr '\n' ';' <<<"$out")"
      fi
      pause_ms "$sample_ms"
    done
    echo "samples $n missing $missing errors $errors"
  ) >"$logs/sampler.log" &
  bg_pids+=($!)
fi
max_probes=$((duration * 1000 / (probe_ms > 0 ? probe_ms : 1) + 100))
timeout "$limit" docker exec "$prefix-server" sh -c "$watch_sh" watch "$gateway_a" "$prober_ip" "$limit" >"$logs/server.log" 2>&1 &
bg_pids+=($!)
timeout "$limit" docker exec "$prefix-control" sh -c "$probe_sh" probe "$server_ip" "$port" "$reply" 1000000 "$limit" >"$logs/control.log" 2>&1 &
bg_pids+=($!)
timeout "$limit" docker exec "$prefix-prober" sh -c "$probe_sh" probe "$server_ip" "$port" "$reply" $((probe_ms * 1000)) "$max_probes" >"$logs/probes.log" 2>&1 &
bg_pids+=($!)

log "churning for ${duration}s"
t_start=$EPOCHREALTIME
op() { # kind args... -> one line in churn.log: start end kind rc args
  local t0=$EPOCHREALTIME kind=$1 rc=0
  shift
  dk "$@" >/dev/null 2>>"$logs/churn.err" || rc=$?
  echo "$t0 $EPOCHREALTIME $kind $rc $*" >>"$logs/churn.log"
  return "$rc"
}
: >"$logs/churn.log"
alive=() attached="" k=0
while [ "$(now_us)" -lt "$end_us" ]; do
  k=$((k + 1))
  net=$prefix-c$k
  op create network create --label "$label" "$net" && alive+=("$net")
  pause_ms "$churn_ms"
  if [ $((k % 4)) -eq 2 ] && [ -z "$attached" ] && [ "${alive[-1]:-}" = "$net" ]; then
    op connect network connect "$net" "$prefix-throwaway" && attached=$net
    pause_ms "$churn_ms"
  elif [ $((k % 4)) -eq 0 ] && [ -n "$attached" ]; then
    op disconnect network disconnect "$attached" "$prefix-throwaway"
    attached=""
    pause_ms "$churn_ms"
  fi
  while [ "${#alive[@]}" -gt "$churn_max" ] && [ "$(now_us)" -lt "$end_us" ]; do
    if [ "${alive[0]}" = "$attached" ]; then
      op disconnect network disconnect "$attached" "$prefix-throwaway"
      attached=""
    fi
    op remove network rm "${alive[0]}"
    alive=("${alive[@]:1}")
    pause_ms "$churn_ms"
  done
done
t_end=$EPOCHREALTIME

# Stop the probers (the running probes finish within 3 s), then the observers.
for c in prober control server; do dk exec "$prefix-$c" touch /tmp/ds-iso-stop 2>/dev/null; done
touch "$logs/stop"
for _ in $(seq 50); do
  grep -q '^end ' "$logs/probes.log" && grep -q '^end ' "$logs/control.log" && break
  pause_ms 100
done
monitor_alive=no
[ "$monitor" = on ] && kill -0 "$(cat "$monitor_pidfile")" 2>/dev/null && monitor_alive=yes
pause_ms 200
[ -s "$monitor_pidfile" ] && kill "$(cat "$monitor_pidfile")" 2>/dev/null
for pid in "${bg_pids[@]}"; do wait "$pid" 2>/dev/null; done
bg_pids=()
load_end=$(cut -d' ' -f1 /proc/loadavg)

# ---- summary --------------------------------------------------------------------------------
hms() { # epoch.frac -> HH:MM:SS.mmm UTC
  local s=${1%.*} f=${1#*.}000
  TZ=UTC printf '%(%H:%M:%S)T.%s' "$s" "${f:0:3}"
}
churn_s=$(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.1f", b - a }')
read -r ops_ok ops_failed creates removes connects disconnects < <(awk '
  $4 == 0 { ok++; n[$3]++ } $4 != 0 { bad++ }
  END { printf "%d %d %d %d %d %d\n", ok, bad, n["create"], n["remove"], n["connect"], n["disconnect"] }' "$logs/churn.log")
read -r attempts opened connected closed errored < <(awk '
  $1 == "probe" { a++; r[$5]++ }
  END { printf "%d %d %d %d %d\n", a, r["open"], r["connected"], r["closed"], r["error"] }' "$logs/probes.log")
breaches=$((opened + connected))
# The pace actually reached: forks in the prober slow down on a loaded machine.
probe_every=$(awk -v n="$attempts" -v d="$churn_s" 'BEGIN { printf "%d", n ? d * 1000 / n : 0 }')
read -r ctl_n ctl_ok < <(awk '$1 == "probe" { n++; if ($5 == "open") ok++ } END { printf "%d %d\n", n, ok }' "$logs/control.log")
# Distinct source ports of connections from outside A that the server held at some second.
server_saw=$(awk '$1 == "seen" { s[$3] = 1 } END { print length(s) + 0 }' "$logs/server.log")

breach_list=-
if [ "$breaches" -gt 0 ]; then
  breach_list=""
  n=0
  while read -r t; do
    n=$((n + 1))
    [ "$n" -le 10 ] && breach_list+="${breach_list:+,}$(hms "$t")"
  done < <(awk '$1 == "probe" && ($5 == "open" || $5 == "connected") { print $3 }' "$logs/probes.log" | sort -n)
  [ "$n" -gt 10 ] && breach_list+=",+$((n - 10))more"
fi

# Whether each breach overlapped one of this run's own network creates, from the CLI's times
# (dockerd does its iptables work inside them). Other users of the daemon make gaps too.
in_create=-
if [ "$breaches" -gt 0 ]; then
  in_create=$(awk 'NR == FNR { if ($3 == "create") { s[++c] = $1; e[c] = $2 } next }
    $1 == "probe" && ($5 == "open" || $5 == "connected") {
      for (i = 1; i <= c; i++) if (s[i] <= $3 + $4 && e[i] >= $3) { n++; break } }
    END { print n + 0 }' "$logs/churn.log" "$logs/probes.log")/$breaches
fi

samples=- missing=- sample_errors=0 sample_every=""
if [ "$sample_ms" -gt 0 ]; then
  read -r _ samples _ missing _ sample_errors < <(grep '^samples ' "$logs/sampler.log" || echo "samples ? missing ? errors ?")
  sample_every=$(awk -v n="$samples" -v d="$churn_s" 'BEGIN { if (n + 0) printf "%d", d * 1000 / n }')
fi

gaps=- gap_ms=- gaps_at_end=0 in_gap=- samples_in_gap=-
if [ "$monitor" = on ]; then
  # Pairs each delete of the STAGE-1 jump with the next add: how long FORWARD had no isolation.
  awk '$NF == "DOCKER-ISOLATION-STAGE-1" && $2 == "-D" { d = $1 }
       $NF == "DOCKER-ISOLATION-STAGE-1" && ($2 == "-A" || $2 == "-I") && d != "" { print d, $1; d = "" }
       END { if (d != "") print d, "open" }' "$logs/monitor.log" >"$logs/gaps.log"
  gaps=$(grep -vc ' open$' "$logs/gaps.log")
  gaps_at_end=$(grep -c ' open$' "$logs/gaps.log")
  if [ "$gaps" -gt 0 ]; then
    gap_ms=$(awk '$2 != "open" { print ($2 - $1) * 1000 }' "$logs/gaps.log" | sort -n |
      awk '{ v[NR] = $1; s += $1 } END { printf "%.1f/%.1f/%.1f/%.0f", v[1], v[int((NR + 1) / 2)], v[NR], s }')
  fi
  # Cross-check of the stamps: a sample without the jump should overlap a gap.
  if [ "$sample_ms" -gt 0 ] && [ "$missing" != "?" ] && [ "$missing" -gt 0 ]; then
    samples_in_gap=$(awk 'NR == FNR { if ($2 != "open") { d[++g] = $1; a[g] = $2 } next }
      $1 == "missing" { for (i = 1; i <= g; i++) if (d[i] <= $3 && $2 <= a[i]) { n++; break } }
      END { print n + 0 }' "$logs/gaps.log" "$logs/sampler.log")/$missing
  fi
  # A breach is explained by a gap that was open while the probe ran (its SYN left somewhere in
  # there). Stamps are read times, later than the events by up to a few hundred ms at a load of
  # 20 on 2 cores, so a gap may have begun up to 0.5 s before its stamp.
  if [ "$breaches" -gt 0 ]; then
    in_gap=$(awk 'NR == FNR { if ($2 != "open") { d[++g] = $1; a[g] = $2 } next }
      $1 == "probe" && ($5 == "open" || $5 == "connected") {
        for (i = 1; i <= g; i++) if (d[i] - 0.5 <= $3 + $4 && a[i] + 0.05 >= $3) { n++; break } }
      END { print n + 0 }' "$logs/gaps.log" "$logs/probes.log")/$breaches
  fi
fi

summary="isolation: backend=${backend:-unknown} dockerd=$dockerd guard=$guard duration=${churn_s}s"
summary+=" churn_ops=$ops_ok(create=$creates,rm=$removes,connect=$connects,disconnect=$disconnects,failed=$ops_failed)"
summary+=" probes=$attempts(every=${probe_every}ms,closed=$closed,error=$errored) breaches=$breaches(open=$opened,connected=$connected) breach_at=$breach_list"
summary+=" server_saw_b=$server_saw control_ok=$ctl_ok/$ctl_n"
summary+=" forward_samples=$samples${sample_every:+(every=${sample_every}ms)} jump_missing=$missing"
[ "$sample_errors" != 0 ] && summary+=" sample_errors=$sample_errors"
if [ "$monitor" = on ]; then
  summary+=" jump_gaps=$gaps gap_ms(min/med/max/sum)=$gap_ms missing_samples_in_gap=$samples_in_gap"
  [ "$monitor_alive" = no ] && summary+=" monitor_ended_early=yes"
fi
[ "$breaches" -gt 0 ] && summary+=" breaches_in_our_creates=$in_create"
[ "$breaches" -gt 0 ] && [ "$monitor" = on ] && summary+=" breaches_in_gap=$in_gap"
[ "$gaps_at_end" -gt 0 ] && summary+=" gap_open_at_end=yes"
summary+=" load=$load_start->$load_end run=$run logs=$logs"
echo "$summary"

[ "$monitor" = on ] && [ "$monitor_alive" = no ] && log "xtables-monitor ended before the churn did (see $logs/monitor.err): jump_gaps is a lower bound"
if [ "$attempts" -eq 0 ]; then fail "no probe ran (see $logs/probes.log)"; fi
if [ "$ctl_n" -eq 0 ] || [ "$ctl_ok" -lt $((ctl_n * 9 / 10)) ]; then
  fail "the control on A reached the server only $ctl_ok/$ctl_n times during churn: a quiet prober means nothing"
fi
if [ "$breaches" -gt 0 ] || [ "$server_saw" -gt 0 ]; then exit 3; fi
exit 0
