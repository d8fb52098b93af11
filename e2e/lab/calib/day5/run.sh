#!/usr/bin/env bash
# Day 5: the grid in a seeded order (--shuffle 5), with concurrent groups over a shaped link.
set -euo pipefail
cd /work/main
here=/work/main/e2e/lab
. "$here/heartbeat.sh"
HOST1=d51 IP1=198.18.0.61 HOST2=d52 IP2=198.18.0.62
OUT=/work/main/e2e/lab/calib/day5
work=$(mktemp -d)
cleanup() { "$H" down "$HOST1" || true; "$H" down "$HOST2" || true; rm -rf "$work"; }
trap cleanup EXIT
drover=$(drover_bin "$repo" "$state")
mkdir -p "$OUT"
"$here/build-guest.sh" "$guestdir" >/dev/null
"$H" up "$HOST1" "$IP1" tcp
"$H" up "$HOST2" "$IP2" tcp
cat >"$work/inventory.yaml" <<YAML
poll_interval: 200ms
hosts:
  - {name: $HOST1, address: $IP1, transport: tcp, zone: a}
  - {name: $HOST2, address: $IP2, transport: tcp, zone: b}
YAML
"$drover" calibrate --inventory "$work/inventory.yaml" --guest-dir "$guestdir" --out "$OUT" \
	--mem 256,512 --wss 16MiB,64MiB,128MiB --dirty 0,4MiB/s,12MiB/s,24MiB/s --caps 32,64 --conc 2,3 --shaper "$here/shape.sh" --shuffle 5 \
	--budget 28m --evaluate
echo "day5: done"
