#!/usr/bin/env bash
# The main job (`npm run demo`): from a fresh machine, install what is needed, start the Docker
# engine, build the package and the local images, then run the real `docker-services` CLI on
# fixtures/payloads/three-services.json:
#   plan   what it would do (exit 2: changes planned)
#   up     converge, wait until every service is ready, print the task container's create options
#   plan   again: nothing to do (exit 0)
#   status the task and the phase of each service
#   down   remove everything; a last `plan --down` shows nothing is left (exit 0)
# Exits non-zero as soon as a step misbehaves (a wrong exit code counts), after removing what the
# demo made.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

scripts/prepare.sh

payload=fixtures/payloads/three-services.json
# One task per demo run, so that a demo never meets another's leftovers. A slugid-shaped id.
task_id=$(node -e '
  const b = require("crypto").randomBytes(16); b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  process.stdout.write(b.toString("base64url"))')
host=$(hostname)
owner_id="demo-${host//[^A-Za-z0-9_.-]/-}"
ids=(--task-id "$task_id" --run-id 0 --owner-id "$owner_id")
# The bundled proxy signs requests with the worker's credentials; the demo talks to no Taskcluster
# deployment, so made-up permanent credentials are enough for every proxy to start.
export TASKCLUSTER_ROOT_URL=${TASKCLUSTER_ROOT_URL:-https://tc.example.invalid}
export TASKCLUSTER_CLIENT_ID=${TASKCLUSTER_CLIENT_ID:-demo/docker-services}
export TASKCLUSTER_ACCESS_TOKEN=${TASKCLUSTER_ACCESS_TOKEN:-$(head -c 33 /dev/urandom | base64 | tr -d '/+=' | head -c 44)}
unset TASKCLUSTER_CERTIFICATE
cli() { node dist/cli/main.js "$@"; }

cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    echo "demo: a step failed (exit $status); removing what the demo made" >&2
    cli down "${ids[@]}" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# Runs the CLI and fails the demo unless it exits with the expected code.
expect() {
  local want=$1
  shift
  local got=0
  printf '\033[2m$ docker-services %s\033[0m\n' "$*"
  cli "$@" || got=$?
  if [ "$got" -ne "$want" ]; then
    echo "demo: \`docker-services $*\` exited $got, expected $want" >&2
    exit 1
  fi
}

step "plan (exit 2: changes planned)"
expect 2 plan "$payload" "${ids[@]}" --pull-policy if-not-present

step "up"
expect 0 up "$payload" "${ids[@]}" --pull-policy if-not-present

step "plan again (exit 0: nothing to do)"
expect 0 plan "$payload" "${ids[@]}" --pull-policy if-not-present

step "status"
expect 0 status --owner-id "$owner_id"

step "down"
expect 0 down "${ids[@]}"
expect 0 plan --down "${ids[@]}"

step "done: the services came up ready and nothing is left"
