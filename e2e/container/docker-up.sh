#!/usr/bin/env bash
# docker-up.sh: makes sure a Docker engine answers. Where none does, on
# Debian as root, it installs docker.io, debootstrap and iptables and starts
# dockerd in the background (no systemd), its own bridge and every network
# it makes inside 198.18.0.0/15, the project's lab range. A runner with
# Docker already (GitHub, GitLab's dind, a laptop) is left as it is.
set -euo pipefail
if docker info >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "docker-up: no Docker engine answers, and starting one needs root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
	apt-get update -qq
	apt-get install -y -q --no-install-recommends docker.io debootstrap iptables ca-certificates
fi
log=/var/log/drover-dockerd.log
setsid nohup dockerd --bip 198.19.255.1/24 --default-address-pool base=198.19.0.0/16,size=24 >"$log" 2>&1 </dev/null &
for _ in $(seq 1 100); do
	if docker info >/dev/null 2>&1; then
		echo "docker-up: dockerd started (log $log)" >&2
		exit 0
	fi
	sleep 0.3
done
tail -n 20 "$log" >&2
echo "docker-up: dockerd did not answer within 30 s" >&2
exit 1
