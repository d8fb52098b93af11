#!/usr/bin/env bash
# screenshots.sh [DROVER]: the README's screenshots, from real runs of the
# bundled scenarios: docs/report.png (one simulated run's report.html),
# docs/compare.png (balance against greedy-cv over 10 seeds) and
# docs/chart.png (drover report --chart). Needs chromium.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
d=$(realpath "${1:-$repo/bin/drover}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$repo"
shot() { # shot PAGE PNG HEIGHT
	chromium --headless --no-sandbox --disable-gpu --disable-background-networking --hide-scrollbars \
		--window-size=1400,"$3" --screenshot="$2" "file://$1" 2>/dev/null
}
"$d" sim scenarios/examples/rack-disaster.yaml --no-progress --out "$work/disaster" --format html >/dev/null
shot "$work/disaster/report.html" docs/report.png 2400
for pol in balance greedy-cv; do
	for seed in $(seq 1 10); do
		"$d" sim scenarios/examples/imbalanced.yaml --policy "$pol" --seed "$seed" --no-progress --out "$work/$pol-$seed" >/dev/null
	done
done
"$d" report --compare "$work"/balance-* "$work"/greedy-cv-* --format md,html --out "$work/compare.html" --chart docs/chart.png >"$work/compare.md"
shot "$work/compare.html" docs/compare.png 1500
cat "$work/compare.md"
