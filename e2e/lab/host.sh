#!/usr/bin/env bash
# host.sh: one libvirtd "host" per network+mount+UTS namespace on this machine.
#
#   host.sh up NAME IP [tcp|tls]   start host NAME at IP (198.18.0.x/24) — tcp is the default
#   host.sh down NAME              stop its daemons and guests, remove its namespaces and veth
#   host.sh status                 list hosts, their pids and whether virsh reaches them
#   host.sh clean                  every host down and the bridge removed (keeps the CA)
#   host.sh exec NAME CMD...       run CMD inside NAME's namespaces (e.g. virsh -c qemu:///system list)
#   host.sh path NAME PATH         print PATH as seen from the root namespace (/proc/PID/root/PATH)
#
# Each host: a sleeper process holds the namespaces (entered with nsenter); a veth
# (dl-NAME) joins bridge drlab0 (198.18.0.254/24 in the root namespace); tmpfs on /run;
# overlayfs (upper on that tmpfs) over /etc, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt, so nothing of the real /etc or /var is written and all state
# goes away with the host. libvirtd listens on TCP 16509 without auth (tcp) or on
# TLS 16514 (tls, certificates from `drover pki`, see README.md).
#
# Environment: DROVER_LAB_STATE (default /run/drover-lab) holds NAME/{pid,ip,mode} and capcache/;
# tls only: DROVER_LAB_PKI, the CA directory (default $DROVER_LAB_STATE/pki; made with
# `drover pki init` when missing, plus a client certificate in $DROVER_LAB_PKI/clients/drover
# for virsh -c 'qemu+tls://IP/system?pkipath=$DROVER_LAB_PKI/clients/drover');
# DROVER, a built drover binary (default: go build ./cmd/drover into $DROVER_LAB_STATE/bin).
set -euo pipefail
state=${DROVER_LAB_STATE:-/run/drover-lab}
bridge=drlab0
bridge_ip=198.18.0.254
repo=$(cd "$(dirname "$0")/../.." && pwd)

die() { echo "host.sh: $*" >&2; exit 1; }
log() { echo "host.sh: $*" >&2; }

pid_of() { cat "$state/$1/pid" 2>/dev/null || true; }
alive() { [ -n "${1:-}" ] && [ -d "/proc/$1" ] && [ "$(cat /proc/$1/comm 2>/dev/null)" = sleep ]; }
in_ns() { local pid=$1; shift; nsenter -t "$pid" -m -u -n -- "$@"; }

ensure_bridge() {
	if ! ip link show "$bridge" >/dev/null 2>&1; then
		ip link add "$bridge" type bridge
	fi
	ip addr replace "$bridge_ip/24" dev "$bridge"
	ip link set "$bridge" up
	# Docker sets the FORWARD policy to DROP and loads br_netfilter, after
	# which traffic bridged between two lab hosts goes through FORWARD and
	# is dropped: every migration hangs. Let the lab's bridge through.
	if command -v iptables >/dev/null 2>&1 && iptables -S FORWARD >/dev/null 2>&1; then
		local d
		for d in -i -o; do
			iptables -C FORWARD "$d" "$bridge" -j ACCEPT 2>/dev/null || iptables -I FORWARD "$d" "$bridge" -j ACCEPT
		done
	fi
}

# wait_for SECONDS CMD...: polls CMD every 0.2 s, at most SECONDS.
wait_for() {
	local n=$(($1 * 5)); shift
	for ((i = 0; i < n; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.2
	done
	return 1
}

# conf_set FILE KEY VALUE: replaces or appends `KEY = VALUE` (VALUE given literally).
conf_set() {
	local f=$1 k=$2 v=$3
	sed -i "/^[[:space:]]*#\?[[:space:]]*${k}[[:space:]]*=/d" "$f"
	echo "$k = $v" >>"$f"
}

setup_inside() { # runs inside the namespaces: NAME IP MODE
	local name=$1 ip=$2 mode=$3
	hostname "$name"
	mount -t tmpfs -o mode=755 tmpfs /run
	mkdir -p /run/lock /run/drover
	local d
	for d in /etc /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
		local k=${d//\//_}
		mkdir -p "/run/drover/up$k" "/run/drover/work$k"
		mount -t overlay overlay -o "lowerdir=$d,upperdir=/run/drover/up$k,workdir=/run/drover/work$k" "$d"
	done
	echo "$name" >/etc/hostname
	# libvirt resolves its own hostname (virGetHostname) when starting and
	# migrating domains; with the machine's resolver unreachable from here each
	# lookup waits for DNS timeouts (a 2 s migration became 60 s with 10 s of
	# downtime). Names resolve from /etc/hosts; DNS fails at once on loopback.
	{
		echo "127.0.0.1 localhost"
		echo "$ip $name"
		local i
		for i in $(seq 1 20); do echo "198.18.0.$((10 + i)) lab$i"; done
	} >/etc/hosts
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >/etc/resolv.conf
	# The package's NAT network would fight over virbr0 and dnsmasq between hosts.
	rm -f /etc/libvirt/qemu/networks/default.xml /etc/libvirt/qemu/networks/autostart/default.xml
	mkdir -p /etc/pki

	local lc=/etc/libvirt/libvirtd.conf qc=/etc/libvirt/qemu.conf
	conf_set "$lc" host_uuid "\"$(cat /proc/sys/kernel/random/uuid)\""
	conf_set "$lc" listen_addr "\"$ip\""
	conf_set "$lc" log_filters '"1:qemu.qemu_monitor 3:*"'
	conf_set "$lc" log_outputs '"1:file:/var/log/libvirt/libvirtd.log"'
	if [ "$mode" = tcp ]; then
		conf_set "$lc" listen_tls 0
		conf_set "$lc" listen_tcp 1
		conf_set "$lc" auth_tcp '"none"'
	else
		conf_set "$lc" listen_tls 1
		conf_set "$lc" listen_tcp 0
		conf_set "$lc" auth_tls '"none"'
		conf_set "$qc" default_tls_x509_cert_dir '"/etc/pki/qemu"'
		conf_set "$qc" default_tls_x509_verify 1
	fi
	conf_set "$qc" migration_address "\"$ip\""
	conf_set "$qc" migration_host "\"$ip\""
	# QEMU runs as root so it can read kernels, initrds and TLS keys anywhere.
	conf_set "$qc" user '"root"'
	conf_set "$qc" group '"root"'
	# All hosts share one cgroupfs; per-host machine cgroups with equal names
	# (qemu-1-NAME on both ends of a migration) would collide.
	conf_set "$qc" cgroup_controllers '[ ]'
	conf_set "$qc" security_driver '"none"'
	# Every host sees the machine's /var/tmp: disk images there are on
	# shared storage, which libvirt must be told (it checks before migrating).
	# libvirtd resolves each entry to its real path when it starts and
	# silently keeps none for a directory that does not exist yet: on a
	# fresh machine, where the first spec to need it creates it, every
	# migration of a disk there was then "unsafe" (issue 12's flake).
	mkdir -p /var/tmp/drover-lab-disks
	conf_set "$qc" shared_filesystems '[ "/var/tmp/drover-lab-disks" ]'
}

cmd_up() {
	local name=${1:?usage: up NAME IP [tcp|tls]} ip=${2:?usage: up NAME IP [tcp|tls]} mode=${3:-tcp}
	case $mode in tcp|tls) ;; *) die "mode must be tcp or tls";; esac
	[ ${#name} -le 12 ] || die "NAME too long (veth dl-NAME must fit 15 chars)"
	local t0=$(date +%s.%N)
	alive "$(pid_of "$name")" && die "$name is already up (pid $(pid_of "$name"))"
	mkdir -p "$state/$name"
	ensure_bridge

	# The sleeper holds the namespaces; setsid + nohup keep it after this script exits.
	rm -f "$state/$name/pid"
	setsid nohup unshare -n -m -u --propagation private \
		sh -c "echo \$\$ >'$state/$name/pid.tmp'; exec sleep infinity" </dev/null >/dev/null 2>&1 &
	wait_for 5 test -s "$state/$name/pid.tmp" || die "sleeper did not start"
	mv "$state/$name/pid.tmp" "$state/$name/pid"
	local pid; pid=$(pid_of "$name")
	wait_for 2 alive "$pid" || die "sleeper $pid not running sleep"
	echo "$ip" >"$state/$name/ip"
	echo "$mode" >"$state/$name/mode"

	ip link del "dl-$name" 2>/dev/null || true
	ip link add "dl-$name" type veth peer name eth0 netns "$pid"
	ip link set "dl-$name" master "$bridge" up
	in_ns "$pid" ip link set lo up
	in_ns "$pid" ip addr add "$ip/24" dev eth0
	in_ns "$pid" ip link set eth0 up
	in_ns "$pid" ip route add default via "$bridge_ip"

	if [ "$mode" = tls ]; then
		local pki=${DROVER_LAB_PKI:-$state/pki}
		local drover=${DROVER:-$state/bin/drover}
		if [ ! -x "$drover" ]; then
			mkdir -p "$(dirname "$drover")"
			(cd "$repo" && go build -o "$drover" ./cmd/drover)
		fi
		if [ ! -f "$pki/ca-cert.pem" ]; then
			"$drover" pki init --dir "$pki" >&2
		fi
		# drover's own client certificate: virsh -c 'qemu+tls://IP/system?pkipath=$pki/clients/drover'
		if [ ! -f "$pki/clients/drover/clientcert.pem" ]; then
			"$drover" pki issue client drover --dir "$pki" >&2
		fi
		rm -rf "$state/$name/root"
		"$drover" pki issue host "$name" --ip "$ip" --dns "$name" --dir "$pki" --out "$state/$name/root" >&2
	fi

	# Pass the function body to a shell inside the namespaces.
	in_ns "$pid" bash -c "set -euo pipefail; $(declare -f conf_set setup_inside); setup_inside '$name' '$ip' '$mode'" \
		|| die "setup in $name failed"
	# Files go in through /proc/PID/root, which resolves in the host's mount
	# namespace (the root namespace's /run is hidden under the host's tmpfs).
	local root="/proc/$pid/root"
	if [ "$mode" = tls ]; then
		cp -a "$state/$name/root/etc/pki/." "$root/etc/pki/"
	fi
	# QEMU capabilities probing costs 2-4 s on the first domain start or incoming
	# migration of every fresh host; all hosts run the same binaries on the same
	# kernel, so they share one probe result.
	local caps=$state/capcache
	if [ -n "$(ls "$caps" 2>/dev/null)" ]; then
		mkdir -p "$root/var/cache/libvirt/qemu/capabilities"
		cp -a "$caps/." "$root/var/cache/libvirt/qemu/capabilities/"
	fi
	in_ns "$pid" virtlogd -d
	in_ns "$pid" libvirtd --listen -d
	local port=16509; [ "$mode" = tls ] && port=16514
	if ! wait_for 30 in_ns "$pid" virsh -q -c qemu:///system uri; then
		in_ns "$pid" tail -n 20 /var/log/libvirt/libvirtd.log >&2 || true
		die "libvirtd in $name did not answer within 30 s"
	fi
	in_ns "$pid" virsh -q -c qemu:///system domcapabilities --virttype qemu >/dev/null 2>&1 || true
	if [ -z "$(ls "$caps" 2>/dev/null)" ]; then
		mkdir -p "$caps"
		cp -a "$root/var/cache/libvirt/qemu/capabilities/." "$caps/" 2>/dev/null || true
	fi
	local t1=$(date +%s.%N)
	printf 'host.sh: %s up at %s (%s, port %s, pid %s) in %.1f s\n' "$name" "$ip" "$mode" "$port" "$pid" "$(awk -v a="$t0" -v b="$t1" "BEGIN{print b-a}")" >&2
}

# ns_pids PID: every process (but PID) in the same network namespace as PID.
ns_pids() {
	local ref; ref=$(readlink "/proc/$1/ns/net") || return 0
	local p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = "$1" ] && continue
		[ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$ref" ] && echo "$p"
	done
	return 0
}

cmd_down() {
	local name=${1:?usage: down NAME}
	local pid; pid=$(pid_of "$name")
	if alive "$pid"; then
		local pids; pids=$(ns_pids "$pid" | tr '\n' ' ')
		if [ -n "$pids" ]; then
			kill -TERM $pids 2>/dev/null || true
			for ((i = 0; i < 25; i++)); do # at most 5 s
				local left=""
				for p in $pids; do [ -d "/proc/$p" ] && [ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" != Z ] && left="$left $p"; done
				[ -z "$left" ] && break
				sleep 0.2
			done
			[ -n "${left:-}" ] && kill -KILL $left 2>/dev/null || true
		fi
		kill -TERM "$pid" 2>/dev/null || true
	fi
	ip link del "dl-$name" 2>/dev/null || true
	rm -rf "${state:?}/$name"
	log "$name down"
}

cmd_status() {
	[ -d "$state" ] || { echo "no hosts"; return 0; }
	local h
	for h in "$state"/*/; do
		h=$(basename "$h")
		[ -f "$state/$h/pid" ] || continue
		local pid ip mode ok=down
		pid=$(pid_of "$h"); ip=$(cat "$state/$h/ip" 2>/dev/null); mode=$(cat "$state/$h/mode" 2>/dev/null)
		if alive "$pid"; then
			ok=alive
			if [ "$mode" = tcp ] && timeout 5 virsh -q -c "qemu+tcp://$ip/system" uri >/dev/null 2>&1; then ok=reachable; fi
			if [ "$mode" = tls ] && timeout 5 virsh -q -c "qemu+tls://$ip/system?pkipath=${DROVER_LAB_PKI:-$state/pki}/clients/drover" uri >/dev/null 2>&1; then ok=reachable; fi
		fi
		printf '%-10s %-14s %-4s pid=%-8s %s\n' "$h" "$ip" "$mode" "$pid" "$ok"
	done
}

cmd_clean() { # every host down, bridge removed; keeps the CA (pki/) and capcache/
	local h
	for h in "$state"/*/; do
		h=$(basename "$h")
		[ -f "$state/$h/pid" ] && cmd_down "$h"
	done
	ip link del "$bridge" 2>/dev/null || true
	local d
	for d in -i -o; do iptables -D FORWARD "$d" "$bridge" -j ACCEPT 2>/dev/null || true; done
	log "clean"
}

cmd_exec() {
	local name=${1:?usage: exec NAME CMD...}; shift
	local pid; pid=$(pid_of "$name"); alive "$pid" || die "$name is not up"
	in_ns "$pid" "$@"
}

cmd_path() {
	local pid; pid=$(pid_of "${1:?usage: path NAME PATH}"); alive "$pid" || die "$1 is not up"
	echo "/proc/$pid/root${2:?usage: path NAME PATH}"
}

case ${1:-} in
up) shift; cmd_up "$@" ;;
down) shift; cmd_down "$@" ;;
status) cmd_status ;;
clean) cmd_clean ;;
exec) shift; cmd_exec "$@" ;;
path) shift; cmd_path "$@" ;;
*) die "usage: host.sh up NAME IP [tcp|tls] | down NAME | status | clean | exec NAME CMD... | path NAME PATH" ;;
esac
