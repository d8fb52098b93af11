#!/usr/bin/env bash
# Installs what the libvirt lab needs: libvirt 11.x and QEMU 10.x from
# bookworm-backports (bookworm's own QEMU 7.2 corrupts guests that write memory
# while they migrate under TCG), iproute2, cpio/gzip for the guest initramfs,
# and a Debian cloud kernel image unpacked (not installed) under
# $DROVER_LAB_CACHE (default /var/cache/drover-lab/kernel) for the guest.
# Idempotent: re-running it only refreshes package lists.
# Starts no services.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${DROVER_LAB_CACHE:-/var/cache/drover-lab}
export DEBIAN_FRONTEND=noninteractive

bash "$repo/scripts/apt-backports.sh"
. /etc/os-release
bp="${VERSION_CODENAME}-backports"

# Maintainer scripts must not start libvirtd/virtlogd in the root namespace
# (hosts run in namespaces, see host.sh): without a policy-rc.d, invoke-rc.d
# would run /etc/init.d/libvirtd start on a machine without systemd. Docker
# images ship one; put a temporary one in place when there is none.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -q --no-install-recommends -t "$bp" \
	libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils
apt-get install -y -q --no-install-recommends iproute2 cpio gzip util-linux procps

# Guest kernel: unpack the smallest Debian kernel image that boots a TCG guest
# with a serial console (the cloud flavour), without installing it (no /boot,
# no initramfs hooks).
mkdir -p "$cache/kernel"
# The guest loads virtio-balloon (and what it needs) from its initramfs, so
# that libvirt reads the guest's own free memory (balloon.unused): the only
# live figure of how much of a guest is zero pages.
mods="virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_balloon"
if ! ls "$cache"/kernel/vmlinuz-* >/dev/null 2>&1 || [ ! -f "$cache/kernel/modules/virtio_balloon.ko" ]; then
	meta=linux-image-cloud-amd64
	pkg=$(apt-cache depends "$meta" | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	if [ -z "$pkg" ]; then
		echo "install.sh: cannot resolve $meta" >&2
		exit 1
	fi
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -q "$pkg")
	dpkg-deb -x "$tmp"/*.deb "$tmp/x"
	rm -f "$cache"/kernel/vmlinuz-* "$cache"/kernel/config-*
	cp "$tmp"/x/boot/vmlinuz-* "$cache/kernel/"
	cp "$tmp"/x/boot/config-* "$cache/kernel/" 2>/dev/null || true
	mkdir -p "$cache/kernel/modules"
	for m in $mods; do
		f=$(find "$tmp/x/lib/modules" -name "$m.ko*" | head -n1)
		if [ -z "$f" ]; then
			echo "install.sh: module $m not in $pkg" >&2
			exit 1
		fi
		cp "$f" "$cache/kernel/modules/"
	done
	rm -rf "$tmp"
fi
if pgrep -x libvirtd >/dev/null; then
	for p in $(pgrep -x libvirtd); do
		if [ "$(readlink /proc/$p/ns/net)" = "$(readlink /proc/self/ns/net)" ]; then
			echo "install.sh: warning: libvirtd (pid $p) runs in the root namespace; the lab does not need it" >&2
		fi
	done
fi
ls -l "$cache"/kernel/
virsh --version
qemu-system-x86_64 --version | head -n1
