#!/usr/bin/env bash
# checks.sh: the failure paths issue 5's tests need, run with virsh against real daemons:
#   refuse  a TLS migration to an unsecured (tcp-only) host fails; guest stays on its source
#   foreign a TLS migration to a host whose certificate is from another CA fails; guest stays
#   abort   domjobabort during a 1 MiB/s migration; guest stays on its source, same boot
#   kill    destination libvirtd killed (-9) mid-migration; guest stays on its source, same boot
#   dirty   domdirtyrate-calc (page-sampling) beside the rate the guest reports
# Hosts: lab1, lab2 (tls, lab CA), lab3 (tcp), lab4 (tls, foreign CA). Exit 0 = all passed.
# Env: KEEP=1 leaves the hosts up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/heartbeat.sh"
dom=drcheck
serial=/var/log/libvirt/qemu/$dom-serial.log
q="?pkipath=${DROVER_LAB_PKI:-$state/pki}/clients/drover"
u1="qemu+tls://198.18.0.11/system$q" u2="qemu+tls://198.18.0.12/system$q"
d2=qemu+tls://198.18.0.12/system d3t=qemu+tls://198.18.0.13/system d4=qemu+tls://198.18.0.14/system
failed=0
now() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
say() { echo "checks: $*"; }
bad() { echo "checks: FAIL: $*" >&2; failed=1; }
cleanup() {
	if [ "${KEEP:-0}" != 1 ]; then for h in lab1 lab2 lab3 lab4; do "$H" down $h || true; done; fi
}
trap cleanup EXIT
# alive_on HOST: the guest runs on HOST and its heartbeat advances >= 4 beats with the same boot id (≤15 s).
alive_on() {
	local f; f=$("$H" path "$1" "$serial")
	local seq boot s b
	read -r seq boot < <(last_hb "$f")
	[ -n "$seq" ] || return 1
	for ((i = 0; i < 75; i++)); do
		read -r s b < <(last_hb "$f")
		[ "$b" = "$boot" ] || return 1
		[ "$s" -ge $((seq + 4)) ] && { [ "$b" = "$boot0" ] && intact "$f" && return 0 || return 1; }
		sleep 0.2
	done
	return 1
}
on_source_only() { # NAME [nodst]: after a failed migration (nodst: lab2's daemon is dead, skip asking it)
	[ "$(virsh -q -c "$u1" domstate $dom 2>/dev/null)" = running ] || { bad "$1: not running on lab1"; return; }
	if [ "${2:-}" != nodst ] && virsh -q -c "$u2" list --all --name | grep -qx $dom; then bad "$1: defined on lab2"; return; fi
	alive_on lab1 || { bad "$1: heartbeat stopped or boot changed on lab1"; return; }
	say "$1: ok (running on lab1, heartbeat goes on, boot $boot0)"
}
# slow_migrate: starts a --tls migration lab1 -> lab2 capped at 1 MiB/s in the background
# and waits (≤10 s) until the job shows on the source. Sets mig_pid.
slow_migrate() {
	rm -f /tmp/drover-lab-mig.$$
	(timeout 120 virsh -c "$u1" migrate --live --p2p --tls --bandwidth 1 $dom $d2 >/tmp/drover-lab-mig.$$ 2>&1; echo "rc=$?" >>/tmp/drover-lab-mig.$$) &
	mig_pid=$!
	for ((i = 0; i < 50; i++)); do
		virsh -q -c "$u1" domjobinfo $dom 2>/dev/null | grep -q 'Data processed' && return 0
		sleep 0.2
	done
	return 1
}

"$here/build-guest.sh" "$guestdir" >/dev/null
"$H" up lab1 198.18.0.11 tls
"$H" up lab2 198.18.0.12 tls
"$H" up lab3 198.18.0.13 tcp
DROVER_LAB_PKI=$state/pki-foreign "$H" up lab4 198.18.0.14 tls

xml=$(mktemp)
BALLOON=0 MAC=52:54:00:dd:00:01 guest_xml "$dom" 160 64M 16M "$serial" "$guestdir" >"$xml"
virsh -q -c "$u1" create "$xml" >/dev/null
rm -f "$xml"
s1=$("$H" path lab1 "$serial")
for ((i = 0; i < 300; i++)); do [ -n "$(last_hb "$s1")" ] && break; sleep 0.2; done
read -r _ boot0 < <(last_hb "$s1")
[ -n "${boot0:-}" ] || { bad "no heartbeat on lab1"; exit 1; }
say "guest up on lab1, boot $boot0"

# refuse: tcp-only host
if timeout 10 virsh -q -c "qemu+tls://198.18.0.13/system$q" uri >/dev/null 2>&1; then bad "refuse: lab3 accepted qemu+tls"; fi
t=$(now)
if out=$(timeout 60 virsh -c "$u1" migrate --live --p2p --tls $dom $d3t 2>&1); then bad "refuse: --tls migration to lab3 succeeded"; fi
say "refuse: migrate failed in $(dt "$t" "$(now)") s: $(echo "$out" | tr '\n' ' ')"
on_source_only refuse

# foreign: lab4's certificate is from another CA
if timeout 10 virsh -q -c "qemu+tls://198.18.0.14/system$q" uri >/dev/null 2>&1; then bad "foreign: our client accepted lab4's certificate"; fi
t=$(now)
if out=$(timeout 60 virsh -c "$u1" migrate --live --p2p --tls $dom $d4 2>&1); then bad "foreign: migration to lab4 succeeded"; fi
say "foreign: migrate failed in $(dt "$t" "$(now)") s: $(echo "$out" | tr '\n' ' ')"
on_source_only foreign

# abort
if slow_migrate; then
	virsh -q -c "$u1" domjobinfo $dom | grep -E 'Data processed|Memory bandwidth' | sed 's/^/checks:   /'
	t=$(now)
	virsh -q -c "$u1" domjobabort $dom || bad "abort: domjobabort failed"
	wait $mig_pid || true
	say "abort: migrate returned $(dt "$t" "$(now)") s after domjobabort: $(tr '\n' ' ' </tmp/drover-lab-mig.$$)"
	on_source_only abort
else
	bad "abort: migration job never showed"; wait $mig_pid || true
fi

# kill: destination libvirtd killed mid-migration
if slow_migrate; then
	p=$(cat "$("$H" path lab2 /run/libvirtd.pid)")
	t=$(now)
	kill -9 "$p"
	wait $mig_pid || true
	say "kill: migrate returned $(dt "$t" "$(now)") s after kill -9 of lab2's libvirtd: $(tr '\n' ' ' </tmp/drover-lab-mig.$$)"
	# lab2's daemon is gone: check what we can from lab1 and the serial log.
	on_source_only kill nodst
	n=0; for p in $(pgrep -x qemu-system-x86 || true); do
		[ "$(readlink /proc/$p/ns/net)" = "$(readlink /proc/$(cat "$state/lab2/pid")/ns/net)" ] && n=$((n + 1))
	done
	say "kill: $n orphaned incoming QEMU(s) left in lab2 (removed by host.sh down)"
else
	bad "kill: migration job never showed"; wait $mig_pid || true
fi
rm -f /tmp/drover-lab-mig.$$

# dirty: libvirt's estimate beside the guest's own rate
virsh -q -c "$u1" domdirtyrate-calc $dom --seconds 3 >/dev/null
for ((i = 0; i < 40; i++)); do
	virsh -q -c "$u1" domstats $dom --dirtyrate | grep -q 'calc_status=2' && break
	sleep 0.2
done
mb=$(virsh -q -c "$u1" domstats $dom --dirtyrate | sed -n 's/.*dirtyrate.megabytes_per_second=//p')
say "dirty: libvirt page-sampling ${mb:-?} MiB/s; guest says $(grep -a '^HEARTBEAT' "$s1" | tail -n1 | sed 's/.*rate=//') bytes/s"

virsh -q -c "$u1" destroy $dom >/dev/null || true
[ $failed = 0 ] && say PASS || { say FAIL; exit 1; }
