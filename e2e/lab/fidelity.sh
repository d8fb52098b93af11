#!/usr/bin/env bash
# fidelity.sh: the operator's path measured, not only exercised. Dirtying
# guests on lab1 are evacuated to lab3 by drover apply of a drover plan made
# on the live inventory (working sets and dirty rates measured by libvirt's
# page sampling); drover apply prints each move's predicted duration, its
# 80% range and the actual one, and the makespan. The table goes to
# $OUT/fidelity.md, the real run's report to $OUT/real (for drover calibrate
# --from-runs). Needs root and e2e/lab/install.sh. Exit 0 = every guest ran
# on lab3 afterwards with its heartbeat going on and the same boot id, and the
# median error is under MAX_MEDIAN (a regression gate, not the goal).
#
# Env: GUESTS ("256:64M:8M 256:16M:12M 512:32M:4M": memory MiB : working set :
# write rate per guest), CAP (32: MiB/s per migration, 0 = none), PARALLEL (1),
# MODE (tcp | tls), PROFILE (inventory migration.profile, a built-in name or a
# file; default empty: the built-in default, whose TCG half serves the lab's guests),
# OUT (out/fidelity), MAX_MEDIAN (25: percent), DROVER (a built binary),
# KEEP=1 leaves the hosts up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/heartbeat.sh"
GUESTS=${GUESTS:-256:64M:8M 256:16M:12M 512:32M:4M}
CAP=${CAP:-32}
PARALLEL=${PARALLEL:-1}
MODE=${MODE:-tcp}
PROFILE=${PROFILE-}
OUT=${OUT:-$repo/out/fidelity}
MAX_MEDIAN=${MAX_MEDIAN:-25}
ip1=198.18.0.11 ip3=198.18.0.13
case $MODE in
tcp) u1=qemu+tcp://$ip1/system u3=qemu+tcp://$ip3/system ;;
tls)
	q="?pkipath=${DROVER_LAB_PKI:-$state/pki}/clients/drover"
	u1="qemu+tls://$ip1/system$q" u3="qemu+tls://$ip3/system$q"
	;;
*) echo "fidelity.sh: MODE=$MODE: want tcp or tls" >&2; exit 2 ;;
esac
work=$(mktemp -d)
say() { echo "fidelity: $*"; }
fail() { echo "fidelity: FAIL: $*" >&2; exit 1; }
cleanup() {
	if [ "${KEEP:-0}" != 1 ]; then "$H" down lab1 || true; "$H" down lab3 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

drover=$(drover_bin "$repo" "$state")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "$OUT/real"
"$here/build-guest.sh" "$guestdir" >/dev/null
"$H" up lab1 $ip1 "$MODE"
"$H" up lab3 $ip3 "$MODE"

serial() { echo "/var/log/libvirt/qemu/$1-serial.log"; }
boot_of() { last_hb "$("$H" path "$2" "$(serial "$1")")" | awk '{print $2}'; }
seq_of() { last_hb "$("$H" path "$2" "$(serial "$1")")" | awk '{print $1}'; }

names=()
n=0
for spec in $GUESTS; do
	IFS=: read -r mem wss dirty <<<"$spec"
	n=$((n + 1))
	g=drfid$n
	names+=("$g")
	guest_xml "$g" "$mem" "$wss" "$dirty" "$(serial "$g")" "$guestdir" >"$work/$g.xml"
	virsh -q -c "$u1" define "$work/$g.xml" >/dev/null
	virsh -q -c "$u1" start "$g" >/dev/null
	say "$g: ${mem} MiB, writing $dirty/s into $wss"
done
declare -A boot
for g in "${names[@]}"; do
	for ((i = 0; i < 300; i++)); do [ -n "$(boot_of "$g" lab1)" ] && break; sleep 0.2; done
	[ -n "$(boot_of "$g" lab1)" ] || fail "$g: no heartbeat on lab1"
	boot[$g]=$(boot_of "$g" lab1)
done
# The guests touch their working set at start; let them settle into their
# steady writing before anything is measured.
sleep 3

bw=""
[ "$CAP" -gt 0 ] && bw="bandwidth: ${CAP}MiB/s, "
prof=""
if [ -f "$PROFILE" ]; then
	prof="profile: $(cd "$(dirname "$PROFILE")" && pwd)/$(basename "$PROFILE"), "
elif [ -n "$PROFILE" ]; then
	prof="profile: $PROFILE, "
fi
pki=""
[ "$MODE" = tls ] && pki="pki: ${DROVER_LAB_PKI:-$state/pki}/clients/drover"
cat >"$work/inventory.yaml" <<YAML
poll_interval: 200ms
$pki
migration: {${prof}${bw}max_parallel: $PARALLEL, completion_timeout_per_gib: 10m}
hosts:
  - {name: lab1, address: $ip1, transport: $MODE, zone: a, nics: 1, nic_speed: 10Gbit/s}
  - {name: lab3, address: $ip3, transport: $MODE, zone: b, nics: 1, nic_speed: 10Gbit/s}
YAML
# What the plan will see: each guest's measured working set, dirty rate and
# resident memory, with bounds and method.
"$drover" inventory --inventory "$work/inventory.yaml" --out "$work/live.yaml" 2>&1 | tee "$work/inventory.txt"
"$drover" plan --inventory "$work/inventory.yaml" --policy evacuate --hosts lab1 --out "$work/plan.json" | tee "$work/plan.txt"
"$drover" apply "$work/plan.json" --inventory "$work/inventory.yaml" --yes --out "$OUT/real" --format html | tee "$work/apply.txt"

for g in "${names[@]}"; do
	b=$(boot_of "$g" lab3)
	[ "$b" = "${boot[$g]}" ] || fail "$g: not beating on lab3 with boot ${boot[$g]} (got '${b:-none}')"
	s0=$(seq_of "$g" lab3)
	sleep 1.2
	[ "$(seq_of "$g" lab3)" -gt "$s0" ] || fail "$g: heartbeat stopped on lab3"
	if grep -aqiE 'kernel panic|GUEST PANIC|Oops' "$("$H" path lab3 "$(serial "$g")")"; then fail "$g: panicked"; fi
	intact "$("$H" path lab3 "$(serial "$g")")" || fail "$g: its memory changed under it"
done
say "every guest beats on lab3 with the same boot id, its memory intact"

{
	echo "# drover plan against drover apply on the lab ($(date -u +%F), $MODE, cap ${CAP} MiB/s, $PARALLEL at a time)"
	echo
	echo "Guests (memory MiB : working set : write rate): $GUESTS; profile: ${PROFILE:-built-in default}"
	echo
	echo '```'
	grep -E '^(VM|drfid)' "$work/inventory.txt"
	grep -E '^ +(id|[0-9]+) ' "$work/plan.txt"
	echo
	sed -n '/^VM /,$p' "$work/apply.txt"
	echo '```'
	echo
	echo "The model's inputs per guest, from the scenario drover inventory wrote:"
	echo
	awk '/- names: drfid/ {n=$3} n && /^ +resident:/ {r=$2} n && /^ +wss:/ {w=$2}
		n && /^ +dirty_rate:/ {printf "- %s: resident %s, wss %s, dirty rate %s\n", n, r, w, $2; n=""}' "$work/live.yaml"
} >"$OUT/fidelity.md"
say "table: $OUT/fidelity.md"
median=$(sed -n 's/^prediction: median |error| \([0-9.]*\)%.*/\1/p' "$work/apply.txt")
[ -n "$median" ] || fail "drover apply printed no prediction summary"
awk -v m="$median" -v lim="$MAX_MEDIAN" 'BEGIN{exit !(m <= lim)}' || fail "median error ${median}% is above ${MAX_MEDIAN}%"
say "PASS (median error ${median}%)"
