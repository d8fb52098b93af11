#!/usr/bin/env bash
# smoke.sh [MODE=tls]: two tcp (or tls) hosts, one TCG guest writing memory, one live p2p migration,
# heartbeat checked on the destination, everything torn down.
# Needs root, e2e/lab/install.sh done. Exit 0 = pass. Prints timings.
# Env: DIRTY (default 16M), WSS (64M), MEM_MIB (160), KEEP=1 leaves the hosts up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/heartbeat.sh"
DIRTY=${DIRTY:-16M} WSS=${WSS:-64M} MEM_MIB=${MEM_MIB:-160}
dom=drsmoke
ip1=198.18.0.11 ip2=198.18.0.12
MODE=${MODE:-tcp}
case $MODE in
tcp) u1=qemu+tcp://$ip1/system u2=qemu+tcp://$ip2/system; dst=$u2; tlsflag= ;;
tls) # virsh in the root namespace presents drover's client certificate; the source
	# daemon dials the destination (p2p) with its own /etc/pki/libvirt/clientcert.pem.
	q="?pkipath=${DROVER_LAB_PKI:-${DROVER_LAB_STATE:-/run/drover-lab}/pki}/clients/drover"
	u1="qemu+tls://$ip1/system$q" u2="qemu+tls://$ip2/system$q"; dst=qemu+tls://$ip2/system; tlsflag=--tls ;;
*) echo "MODE must be tcp or tls" >&2; exit 2 ;;
esac
serial=/var/log/libvirt/qemu/$dom-serial.log        # resolved in each host's own mount namespace
now() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
say() { echo "smoke: $*"; }
fail() { echo "smoke: FAIL: $*" >&2; dump; exit 1; }
dump() {
	for h in lab1 lab2; do
		p=$("$H" path $h "$serial" 2>/dev/null) && [ -f "$p" ] && { echo "--- $h serial (tail)"; tail -n 5 "$p"; }
		p=$("$H" path $h /var/log/libvirt/qemu/$dom.log 2>/dev/null) && [ -f "$p" ] && { echo "--- $h qemu log (tail)"; tail -n 15 "$p"; }
	done >&2 || true
}
cleanup() {
	if [ "${KEEP:-0}" != 1 ]; then "$H" down lab1 || true; "$H" down lab2 || true; fi
}
trap cleanup EXIT

# wait_hb FILE MINSEQ SECONDS: waits until the last heartbeat's seq >= MINSEQ.
wait_hb() {
	local n=$(($3 * 5))
	for ((i = 0; i < n; i++)); do
		local s; s=$(last_hb "$1" | awk '{print $1}')
		[ -n "$s" ] && [ "$s" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

"$here/build-guest.sh" "$guestdir" >/dev/null

t=$(now); "$H" up lab1 $ip1 $MODE; say "host lab1 up in $(dt "$t" "$(now)") s"
t=$(now); "$H" up lab2 $ip2 $MODE; say "host lab2 up in $(dt "$t" "$(now)") s"

xml=$(mktemp)
guest_xml "$dom" "$MEM_MIB" "$WSS" "$DIRTY" "$serial" "$guestdir" >"$xml"
virsh -q -c "$u1" define "$xml" >/dev/null
rm -f "$xml"
t=$(now); virsh -q -c "$u1" start $dom >/dev/null
s1=$("$H" path lab1 "$serial")
wait_hb "$s1" 4 60 || fail "no heartbeat on lab1 within 60 s"
say "guest heartbeat on lab1 $(dt "$t" "$(now)") s after start: $(grep -a -m1 '^HEARTBEAT' "$s1")"

read -r seq0 boot0 < <(last_hb "$s1")
t=$(now)
virsh -c "$u1" migrate --live --p2p $tlsflag --persistent --undefinesource --verbose $dom "$dst" || fail "virsh migrate failed"
mig=$(dt "$t" "$(now)")
say "migration ($MODE) lab1 -> lab2 took $mig s (virsh wall clock)"
if [ "$MODE" = tls ]; then
	# QMP is logged (log_filters 1:qemu.qemu_monitor): both QEMUs must have used x509 creds.
	for h in lab1 lab2; do
		grep -q '"qom-type":"tls-creds-x509"' "$("$H" path $h /var/log/libvirt/libvirtd.log)" \
			|| fail "no tls-creds-x509 object in $h's QMP log"
	done
	say "QMP logs of lab1 and lab2 show tls-creds-x509 objects"
fi
virsh -c "$u2" domjobinfo --completed $dom | grep -E 'Time elapsed|Total downtime|Data processed|Memory bandwidth|Iteration|Dirty rate' | sed 's/^/smoke:   /' || true

[ "$(virsh -q -c "$u2" domstate $dom)" = running ] || fail "not running on lab2"
virsh -q -c "$u1" list --all --name | grep -qx $dom && fail "still defined on lab1"
s2=$("$H" path lab2 "$serial")
wait_hb "$s2" $((seq0 + 6)) 30 || fail "heartbeat did not continue on lab2"
read -r fseq fboot < <(first_hb "$s2")
read -r lseq lboot < <(last_hb "$s2")
grep -aq 'GUEST START' "$s2" && fail "guest rebooted on lab2"
grep -aqiE 'kernel panic|GUEST PANIC|Oops' "$s2" && fail "guest panicked on lab2"
intact "$s2" || fail "guest memory changed under it on lab2: $(grep -a '^GUEST CORRUPT' "$s2" | head -n1)"
[ "$fboot" = "$boot0" ] && [ "$lboot" = "$boot0" ] || fail "boot id changed: $boot0 -> $fboot/$lboot"
[ "$fseq" -gt "$seq0" ] && [ "$lseq" -gt "$fseq" ] || fail "seq did not increase: src last $seq0, dst first $fseq last $lseq"
say "heartbeat continues on lab2: boot=$boot0 seq $seq0 (src, before) -> $fseq..$lseq (dst)"
say "dst: $(grep -a '^HEARTBEAT' "$s2" | tail -n1)"
virsh -q -c "$u2" destroy $dom >/dev/null
virsh -q -c "$u2" undefine $dom >/dev/null
say PASS
