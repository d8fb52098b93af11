#!/usr/bin/env bash
# apply.sh: the operator's path end to end on real daemons, with the drover binary:
#   drover inventory  -> a scenario of the live cluster (two tcp hosts, three guests on lab1)
#   drover plan       -> an evacuation plan of lab1, predicted in the simulator
#   drover apply      -> interrupted (SIGINT) while the first migrations run: guests stay where they were
#   drover apply --resume -> the rest of the plan; every guest on lab3, its heartbeat going on, same boot
#   drover run --drain lab3 -> the evacuate policy live through the Core: every guest back on lab1
# Needs root and e2e/lab/install.sh. Exit 0 = pass. Env: DROVER (a built binary; default: go build),
# KEEP=1 leaves the hosts up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/heartbeat.sh"
ip1=198.18.0.11 ip3=198.18.0.13
u1=qemu+tcp://$ip1/system u3=qemu+tcp://$ip3/system
guests="drap1 drap2 drap3"
work=$(mktemp -d)
say() { echo "apply: $*"; }
fail() { echo "apply: FAIL: $*" >&2; exit 1; }
cleanup() {
	if [ "${KEEP:-0}" != 1 ]; then "$H" down lab1 || true; "$H" down lab3 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

drover=$(drover_bin "$repo" "$state")
"$here/build-guest.sh" "$guestdir" >/dev/null
"$H" up lab1 $ip1 tcp
"$H" up lab3 $ip3 tcp

serial() { echo "/var/log/libvirt/qemu/$1-serial.log"; }
# alive GUEST HOST BOOT: the guest beats on HOST with boot id BOOT, 3 beats more within 20 s, never restarted.
alive() {
	local f; f=$("$H" path "$2" "$(serial "$1")")
	local seq0 b0 s b
	read -r seq0 b0 < <(last_hb "$f") || true
	[ -n "${seq0:-}" ] || return 1
	for ((i = 0; i < 100; i++)); do
		read -r s b < <(last_hb "$f") || true
		[ "$b" = "$3" ] || return 1
		[ "$s" -ge $((seq0 + 3)) ] && break
		sleep 0.2
	done
	[ "$s" -ge $((seq0 + 3)) ] || return 1
	[ "$(grep -ac 'GUEST START' "$f")" -le 1 ] || return 1
	intact "$f" || return 1
	! grep -aqiE 'kernel panic|GUEST PANIC|Oops' "$f"
}
# dump GUEST: the end of its serial and QEMU logs on both hosts, for a failure.
dump() {
	for h in lab1 lab3; do
		for f in "$(serial "$1")" "/var/log/libvirt/qemu/$1.log"; do
			p=$("$H" path $h "$f" 2>/dev/null) && [ -f "$p" ] && { echo "--- $h $f"; tail -n 8 "$p"; }
		done
	done >&2 || true
}
boot_of() { last_hb "$("$H" path "$2" "$(serial "$1")")" | awk '{print $2}'; }
# running_on URI: the names of the guests running there. A daemon that does
# not answer is asked again rather than read as "runs nothing": CI once saw a
# guest "nowhere" that the next virsh list showed running on lab3.
running_on() {
	local out
	for ((t = 0; t < 5; t++)); do
		out=$(virsh -q -c "$1" list --name 2>&1) && { printf '%s\n' "$out"; return 0; }
		echo "apply: virsh -c $1 list failed, asking again: $out" >&2
		sleep 1
	done
	fail "virsh -c $1 list failed five times"
}
host_of() {
	local l1 l3
	l1=$(running_on $u1) l3=$(running_on $u3)
	if grep -qx "$1" <<<"$l1"; then echo lab1; fi
	if grep -qx "$1" <<<"$l3"; then echo lab3; fi
	return 0
}

for g in $guests; do
	BALLOON=0 MAC=52:54:00:dd:0a:0${g: -1} guest_xml "$g" 128 16M 4M "$(serial $g)" "$guestdir" >"$work/$g.xml"
	virsh -q -c $u1 define "$work/$g.xml" >/dev/null
	virsh -q -c $u1 start $g >/dev/null
done
for g in $guests; do
	for ((i = 0; i < 300; i++)); do [ -n "$(boot_of $g lab1)" ] && break; sleep 0.2; done
	[ -n "$(boot_of $g lab1)" ] || fail "$g: no heartbeat on lab1"
done
declare -A boot
for g in $guests; do boot[$g]=$(boot_of $g lab1); done
say "three guests beat on lab1"

# One migration at a time, 16 MiB/s each: the first takes long enough to be interrupted.
cat >"$work/inventory.yaml" <<YAML
poll_interval: 200ms
migration: {bandwidth: 16MiB/s, max_parallel: 1, completion_timeout_per_gib: 10m}
hosts:
  - {name: lab1, address: $ip1, transport: tcp, zone: a, nics: 1, nic_speed: 1Gbit/s}
  - {name: lab3, address: $ip3, transport: tcp, zone: b, nics: 1, nic_speed: 1Gbit/s}
YAML

"$drover" inventory --inventory "$work/inventory.yaml" --out "$work/live.yaml"
"$drover" validate "$work/live.yaml" >/dev/null || fail "the inventory's scenario does not validate"
"$drover" plan "$work/live.yaml" --policy evacuate --hosts lab1 --out "$work/plan.json" | tee "$work/plan.txt"
[ "$(grep -c '"vm"' "$work/plan.json")" = 3 ] || fail "the plan does not move three guests"
# The same plan straight from the live hosts, and a dry run that moves nothing.
"$drover" plan --inventory "$work/inventory.yaml" --policy evacuate --hosts lab1 | grep -q 'evacuate: 3 moves' \
	|| fail "plan --inventory does not move three guests"
"$drover" apply "$work/plan.json" --inventory "$work/inventory.yaml" --dry-run | tee "$work/dry.txt"
grep -q '3 of 3 moves would run' "$work/dry.txt" || fail "the dry run does not accept the plan"
[ ! -e "$work/plan.json.journal.jsonl" ] || fail "the dry run wrote a journal"
[ "$(host_of drap1)" = lab1 ] || fail "the dry run moved drap1"

# The operator's contract: without a terminal apply needs --yes; a plan
# past its expiry is refused, saying why; --replan plans again on the
# cluster as it is (here with --dry-run: nothing moves).
rc=0; "$drover" apply "$work/plan.json" --inventory "$work/inventory.yaml" </dev/null >"$work/noyes.txt" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q -- '--yes' "$work/noyes.txt" || { cat "$work/noyes.txt"; fail "apply without a terminal or --yes exited $rc, want 2"; }
"$drover" plan --inventory "$work/inventory.yaml" --policy evacuate --hosts lab1 --expires 1s --out "$work/stale.json" >/dev/null || true
sleep 2
rc=0; "$drover" apply "$work/stale.json" --inventory "$work/inventory.yaml" --yes >"$work/stale.txt" 2>&1 || rc=$?
cat "$work/stale.txt"
[ "$rc" = 4 ] || fail "apply of an expired plan exited $rc, want 4"
grep -q 'the plan expired' "$work/stale.txt" || fail "apply does not say the plan expired"
"$drover" apply "$work/stale.json" --inventory "$work/inventory.yaml" --replan --dry-run | tee "$work/replan.txt"
grep -q '^planned again' "$work/replan.txt" && grep -q '3 of 3 moves would run' "$work/replan.txt" \
	|| fail "--replan --dry-run does not plan again and check the new plan"
[ "$(host_of drap1)" = lab1 ] || fail "the stale plan moved drap1"
say "contract: --yes needed, an expired plan refused (exit 4), --replan plans again"

# Interrupt the first run once a migration has made progress.
"$drover" apply "$work/plan.json" --inventory "$work/inventory.yaml" --yes >"$work/apply1.txt" 2>&1 &
pid=$!
for ((i = 0; i < 150; i++)); do
	grep -q '^start' "$work/apply1.txt" && break
	sleep 0.2
done
for ((i = 0; i < 150; i++)); do
	grep -q '^round' "$work/apply1.txt" && break
	sleep 0.2
done
sleep 1
kill -INT $pid
rc=0; wait $pid || rc=$?
cat "$work/apply1.txt"
[ "$rc" = 130 ] || fail "interrupted apply exited $rc, want 130"
grep -q '^aborted' "$work/apply1.txt" || fail "no migration was aborted by the interrupt"
for g in $guests; do
	h=$(host_of $g)
	[ -n "$h" ] || fail "$g runs nowhere after the interrupt"
	alive $g "$h" "${boot[$g]}" || fail "$g is not alive on $h after the interrupt"
done
say "interrupted: every guest runs where it was, same boot"

# Resume, and kill that run outright while a migration is under way: the
# source daemons carry the migrations on without it.
"$drover" apply "$work/plan.json" --inventory "$work/inventory.yaml" --resume --yes >"$work/apply2a.txt" 2>&1 &
pid=$!
for ((i = 0; i < 300; i++)); do
	grep -q '^round' "$work/apply2a.txt" && break
	sleep 0.2
done
kill -KILL $pid 2>/dev/null || { cat "$work/apply2a.txt"; fail "the resumed apply ended before it could be killed"; }
wait $pid || true
cat "$work/apply2a.txt"
say "killed the resumed apply with a migration under way"

# Resume again at once: the migrations the killed run left going are
# followed to their end (never refused, never waited on for ever), and a
# second apply on the same journal meanwhile is refused.
"$drover" apply "$work/plan.json" --inventory "$work/inventory.yaml" --resume --yes --out "$work/real" --format html >"$work/apply2.txt" 2>&1 &
pid=$!
sleep 1
rc=0; "$drover" apply "$work/plan.json" --inventory "$work/inventory.yaml" --resume --yes >"$work/apply3.txt" 2>&1 || rc=$?
cat "$work/apply3.txt"
[ "$rc" = 4 ] || fail "a second apply on a journal in use exited $rc, want 4"
grep -q 'in use by another run' "$work/apply3.txt" || fail "the second apply does not say the journal is in use"
rc=0; timeout 300 tail --pid=$pid -f /dev/null || fail "the resumed apply did not end within 5 minutes"
wait $pid || rc=$?
cat "$work/apply2.txt"
[ "$rc" = 0 ] || fail "the resumed apply exited $rc, want 0"
grep -q '^refused' "$work/apply2.txt" && fail "the resumed apply refused a move of its own plan"
"$drover" report "$work/real" | tee "$work/report.md"
grep -q '"outcome": "completed"' "$work/real/report.json" || fail "report.json has no completed migration"
grep -q '<title>Predicted against measured</title>' "$work/real/report.html" || fail "apply --format html wrote no report.html with predictions against measurements"
"$drover" report "$work/real" --chart "$work/real/chart.png" >/dev/null || fail "report --chart refused a real run"
for g in $guests; do
	h=$(host_of $g)
	[ "$h" = lab3 ] || { virsh -c $u1 list --all; virsh -c $u3 list --all; fail "$g is not on lab3 after the resumed apply (found: ${h:-nowhere})"; }
	alive $g lab3 "${boot[$g]}" || fail "$g is not alive on lab3 (same boot) after the resumed apply"
	virsh -q -c $u1 list --all --name | grep -qx $g && fail "$g is still defined on lab1"
done
say "resumed: every guest on lab3, heartbeat going on, same boot"

# The same evacuation policy live, as the simulator runs it: drain lab3.
"$drover" run --inventory "$work/inventory.yaml" --drain lab3 --journal "$work/run.journal.jsonl" --out "$work/run" | tee "$work/run.txt"
grep -q '^plan    evacuate: 3 moves' "$work/run.txt" || fail "drover run made no evacuation plan of 3 moves"
for g in $guests; do
	h=$(host_of $g)
	[ "$h" = lab1 ] || { virsh -c $u1 list --all; virsh -c $u3 list --all; dump $g; fail "$g is not back on lab1 after drover run --drain lab3 (found: ${h:-nowhere})"; }
	alive $g lab1 "${boot[$g]}" || fail "$g is not alive on lab1 (same boot) after drover run"
done
say "drover run --drain lab3: every guest back on lab1, heartbeat going on, same boot"
say PASS
