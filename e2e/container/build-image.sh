#!/usr/bin/env bash
# build-image.sh: builds the container lab's libvirt host image and prints
# its name. The tag is a hash of this directory, so an image already built
# from the same files (a CI cache, a second run) is used as it is.
#
# The base is debian:bookworm when a registry answers (DROVER_BASE=pull) and
# otherwise a local one made with debootstrap --variant=minbase from this
# machine's Debian mirror and docker import (DROVER_BASE=debootstrap, about
# 40 s, needs root); auto (the default) tries the registry for 20 s first.
# Then the Dockerfile installs libvirt 11.3 and QEMU 10.0 from
# bookworm-backports and the workload guest (Debian's cloud kernel, and
# e2e/lab/guest built here with Go) at /usr/share/drover-guest (about
# 60 s, 450 MB). Needs Docker and Go, nothing else.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base_mode=${DROVER_BASE:-auto}
local_base=drover/bookworm-base:minbase
guest=$(cd "$here/../lab/guest" && pwd)
tag=$(cat "$here/Dockerfile" "$here/host-entrypoint.sh" "$guest"/*.go | sha256sum | cut -c1-12)
image=${DROVER_LAB_IMAGE:-drover/libvirt-host:$tag}

say() { echo "build-image: $*" >&2; }
if docker image inspect "$image" >/dev/null 2>&1; then
	say "$image already built"
	echo "$image"
	exit 0
fi

mirror() {
	local uri
	uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1 | awk '{print $2}')
	[ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1 | awk '{print $2}')
	echo "${uri:-http://deb.debian.org/debian}"
}

base=debian:bookworm
case $base_mode in
pull) docker pull -q "$base" >&2 ;;
auto)
	if ! docker image inspect "$base" >/dev/null 2>&1 && ! timeout 20 docker pull -q "$base" >/dev/null 2>&1; then
		base_mode=debootstrap
	fi
	;;
debootstrap) ;;
*) say "DROVER_BASE must be auto, pull or debootstrap"; exit 2 ;;
esac
if [ "$base_mode" = debootstrap ]; then
	base=$local_base
	if ! docker image inspect "$base" >/dev/null 2>&1; then
		command -v debootstrap >/dev/null || { say "no registry and no debootstrap: apt-get install debootstrap"; exit 1; }
		root=$(mktemp -d /var/tmp/drover-rootfs.XXXXXX)
		say "debootstrap bookworm from $(mirror) (no registry answered)"
		debootstrap --variant=minbase bookworm "$root" "$(mirror)" >&2
		rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
		tar -C "$root" -c . | docker import - "$base" >/dev/null
		rm -rf "$root"
		say "imported $base"
	fi
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx" "${root:-}"' EXIT
cp "$here/Dockerfile" "$here/host-entrypoint.sh" "$ctx/"
(cd "$guest" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags='-s -w' -o "$ctx/guest-init" .)
say "building $image from $base"
docker build -q -t "$image" --build-arg BASE="$base" --build-arg MIRROR="$(mirror)" "$ctx" >&2
echo "$image"
