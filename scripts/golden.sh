#!/usr/bin/env bash
# golden.sh DROVER OUT: every report of the bundled scenarios (sim under both
# evacuation strategies and every periodic policy, plan at 30m, evacuation and
# disaster plans, predict, drover report of each run) into OUT, for a byte
# comparison of two builds: a refactor must leave them identical.
#   scripts/golden.sh /tmp/drover-before /tmp/before
#   scripts/golden.sh bin/drover /tmp/after
#   scripts/golden.sh --diff /tmp/before /tmp/after    # silent when identical
set -u
if [ "${1:-}" = --diff ]; then
	a=$2 b=$3
	diff -r <(cd "$a" && for f in $(find . -type f | sort); do echo "== $f"; sed "s|$a|OUT|g" "$f"; done) \
		<(cd "$b" && for f in $(find . -type f | sort); do echo "== $f"; sed "s|$b|OUT|g" "$f"; done)
	exit
fi
[ $# -eq 2 ] || { echo "usage: golden.sh DROVER OUT | --diff OUT1 OUT2" >&2; exit 2; }
d=$(realpath "$1") out=$2
repo=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$out"
mkdir -p "$out"
out=$(realpath "$out")
cd "$repo"
for f in scenarios/examples/*.yaml; do
	n=$(basename "$f" .yaml)
	for ev in planned fixed-batch; do
		for pol in keep balance greedy-cv consolidate; do
			o="$out/sim-$n-$ev-$pol"
			mkdir -p "$o"
			args=()
			[ "$pol" != keep ] && args=(--policy "$pol")
			"$d" sim "$f" --evacuation "$ev" "${args[@]}" --no-progress --out "$o" >"$o/stdout" 2>"$o/stderr"
			echo "rc=$?" >>"$o/stdout"
			[ -f "$o/report.json" ] && "$d" report "$o/report.json" >"$o/report.md" 2>&1
		done
	done
	for pol in balance greedy-cv consolidate; do
		o="$out/plan-$n-$pol"
		mkdir -p "$o"
		"$d" plan "$f" --policy "$pol" --at 30m --out "$o/plan.json" >"$o/stdout" 2>"$o/stderr"
		echo "rc=$?" >>"$o/stdout"
	done
done
"$d" plan scenarios/examples/maintenance.yaml --policy evacuate --hosts h03,h11 --out "$out/plan-evac.json" >"$out/plan-evac.out" 2>&1
"$d" plan scenarios/examples/rack-disaster.yaml --policy disaster --zone a --deadline 20m --out "$out/plan-dis.json" >"$out/plan-dis.out" 2>&1
"$d" predict --memory 4GiB --resident 3GiB --wss 1GiB --dirty-rate 200MiB/s --bandwidth 10Gbit/s --auto-converge >"$out/predict.out" 2>&1
true
