#!/usr/bin/env bash
# build-guest.sh OUTDIR: builds the lab guest into OUTDIR:
#   OUTDIR/vmlinuz        a Debian cloud kernel (unpacked by install.sh)
#   OUTDIR/initrd.gz      cpio newc + gzip holding /init (e2e/lab/guest, static)
# Boot it with: console=ttyS0 drover.wss=64M drover.dirty=16M (see guest/main.go).
set -euo pipefail
out=${1:?usage: build-guest.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
cache=${DROVER_LAB_CACHE:-/var/cache/drover-lab}
mkdir -p "$out"
out=$(cd "$out" && pwd)

kernel=$(ls "$cache"/kernel/vmlinuz-* 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$kernel" ]; then
	echo "build-guest.sh: no kernel under $cache/kernel; run e2e/lab/install.sh" >&2
	exit 1
fi
cp "$kernel" "$out/vmlinuz"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{dev,proc,sys,tmp,modules}
# virtio-balloon and its dependencies, loaded by /init in this order (see
# guest/main.go): libvirt then reads the guest's free memory.
if [ ! -f "$cache/kernel/modules/virtio_balloon.ko" ]; then
	echo "build-guest.sh: no virtio modules under $cache/kernel/modules; run e2e/lab/install.sh" >&2
	exit 1
fi
cp "$cache"/kernel/modules/*.ko "$stage/modules/"
(cd "$here/guest" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
	go build -trimpath -ldflags='-s -w' -o "$stage/init" .)
# A console node lets the kernel hand /init its stdout before devtmpfs is mounted.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet) | gzip -9 >"$out/initrd.gz"
ls -l "$out/vmlinuz" "$out/initrd.gz"
