#!/usr/bin/env bash
# Makes a Docker engine answer on this machine, for the Docker-provider tests: does nothing
# where one already answers; otherwise installs Debian's docker.io (root and apt-get only) and
# starts dockerd in the background, left running for the rest of the CI run.
set -euo pipefail

log="${ZK_DOCKERD_LOG:-/var/log/zk-leader-dockerd.log}"

# `docker info` from any client on PATH (a newer client negotiates the engine's API version).
engine_answers() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

if engine_answers; then
  echo "ci: Docker engine $(docker info --format '{{.ServerVersion}}' 2>/dev/null) answers"
  exit 0
fi

sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
if ! command -v dockerd >/dev/null; then
  command -v apt-get >/dev/null || { echo "ci: no Docker engine and no apt-get to install one" >&2; exit 1; }
  echo "ci: installing docker.io (Debian package) for the Docker-provider tests"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

# What these machines allow (a kernel without overlay-in-overlay, no iptables, no
# CAP_SYS_RESOURCE): vfs storage, no NAT rules (ports published on 127.0.0.1 still work),
# and containers' open-file limit no higher than ours, which they could not raise.
# An existing daemon.json is someone's configuration: kept as it is.
if [ ! -f /etc/docker/daemon.json ]; then
  nofile_soft="$(ulimit -Sn)"
  nofile_hard="$(ulimit -Hn)"
  $sudo_cmd mkdir -p /etc/docker
  printf '{\n  "storage-driver": "vfs",\n  "iptables": false,\n  "default-ulimits": { "nofile": { "Name": "nofile", "Soft": %s, "Hard": %s } }\n}\n' \
    "$nofile_soft" "$nofile_hard" | $sudo_cmd tee /etc/docker/daemon.json >/dev/null
fi

echo "ci: starting dockerd in the background (log: $log)"
$sudo_cmd bash -c "nohup dockerd >>'$log' 2>&1 &"
for _ in $(seq 1 60); do
  if engine_answers; then
    echo "ci: Docker engine $(docker info --format '{{.ServerVersion}}' 2>/dev/null) answers"
    exit 0
  fi
  sleep 1
done
echo "ci: dockerd did not answer within 60 s; the end of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
