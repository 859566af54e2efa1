#!/usr/bin/env bash
# Fails when the engine still holds a container or network made by test run $1: labelled
# docker-services-test.run=$1 by a test, or owned (org.taskcluster.docker-services.owner) by an
# owner id "test-$1-…" that the tests give the library; or an image a test committed (it carries
# the label of the container it was committed from).
set -euo pipefail
run=${1:?usage: leftover-check.sh RUN_ID}
owner='{{.Label "org.taskcluster.docker-services.owner"}}'
mark='{{.Label "docker-services-test.run"}}'
pick() { awk -F'|' -v run="$run" '$2 == run || index($3, "test-" run "-") == 1 { print $1 }'; }
containers=$(timeout 60 docker ps -a --format "{{.Names}}|${mark}|${owner}" | pick)
networks=$(timeout 60 docker network ls --format "{{.Name}}|${mark}|${owner}" | pick)
images=$(timeout 60 docker images --filter "label=docker-services-test.run=$run" --format '{{.Repository}}:{{.Tag}}@{{.ID}}')
if [ -n "$containers$networks$images" ]; then
  echo "leftover check: test run $run left these behind:" >&2
  for c in $containers; do echo "  container $c" >&2; done
  for n in $networks; do echo "  network $n" >&2; done
  for i in $images; do echo "  image $i" >&2; done
  exit 1
fi
echo "leftover check: nothing left by test run $run"
