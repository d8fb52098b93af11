#!/usr/bin/env bash
# grid.sh: drover calibrate --inventory on two fresh lab hosts: a small
# calibration grid measured by drover itself (the workload guest booted,
# migrated once per cap, a group of guests over a link shape.sh limits,
# every guest checked on arrival through its console over libvirt's RPC),
# then the rows predicted by PROFILE, which never saw them. Needs root and
# e2e/lab/install.sh. Exit 0 = every migration measured with the guest
# alive and the median time error under MAX_MEDIAN (a regression gate,
# not the goal).
#
# Env: MODE (tcp | tls), MEM (256), WSS (64MiB), DIRTY (0,12MiB/s), CAPS
# (32,64), CONC (2; 0 = no group), PROFILE (the built-in default), OUT
# (out/calib-e2e), MAX_MEDIAN (0.25), DROVER (a built binary), KEEP=1
# leaves the hosts up, HOST1/IP1 (gr1 198.18.0.41), HOST2/IP2 (gr2 198.18.0.42).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/heartbeat.sh"
MODE=${MODE:-tcp}
OUT=${OUT:-$repo/out/calib-e2e}
MAX_MEDIAN=${MAX_MEDIAN:-0.25}
HOST1=${HOST1:-gr1} IP1=${IP1:-198.18.0.41}
HOST2=${HOST2:-gr2} IP2=${IP2:-198.18.0.42}
case $MODE in tcp | tls) ;; *) echo "grid.sh: MODE=$MODE: want tcp or tls" >&2; exit 2 ;; esac
work=$(mktemp -d)
cleanup() {
	if [ "${KEEP:-0}" != 1 ]; then "$H" down "$HOST1" || true; "$H" down "$HOST2" || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

drover=$(drover_bin "$repo" "$state")
rm -rf "$OUT"
mkdir -p "$OUT"
"$here/build-guest.sh" "$guestdir" >/dev/null
"$H" up "$HOST1" "$IP1" "$MODE"
"$H" up "$HOST2" "$IP2" "$MODE"
pki=""
[ "$MODE" = tls ] && pki="pki: ${DROVER_LAB_PKI:-$state/pki}/clients/drover"
cat >"$work/inventory.yaml" <<YAML
poll_interval: 200ms
$pki
hosts:
  - {name: $HOST1, address: $IP1, transport: $MODE, zone: a}
  - {name: $HOST2, address: $IP2, transport: $MODE, zone: b}
YAML
base=()
[ -n "${PROFILE:-}" ] && base=(--base "$PROFILE")
"$drover" calibrate --inventory "$work/inventory.yaml" --guest-dir "$guestdir" --out "$OUT" \
	--mem "${MEM:-256}" --wss "${WSS:-64MiB}" --dirty "${DIRTY:-0,12MiB/s}" --caps "${CAPS:-32,64}" \
	--conc "${CONC:-2}" --conc-dirty 4MiB/s --shaper "$here/shape.sh" --budget 8m \
	--evaluate "${base[@]}" --max-median-error "$MAX_MEDIAN"
echo "grid: PASS ($OUT/measurements.csv, $OUT/evaluation.md)"
