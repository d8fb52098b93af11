#!/usr/bin/env bash
# shape.sh HOST MIB_PER_S: drover calibrate's --shaper for the lab. Limits
# the lab host's egress (eth0 inside its namespace) to MIB_PER_S with a
# token bucket, as calibrate.sh's concurrent mode does; 0 lifts the limit.
# The bucket has one FIFO queue, where one TCP stream can starve another; a
# fair queue under it (fq_codel, sfq, fq) would share the link as the model
# does, but this machine's kernel has none of them (tried, 2026-12-03).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { echo "usage: shape.sh HOST MIB_PER_S (0: lift)" >&2; exit 2; }
if [ "$2" = 0 ]; then
	"$here/host.sh" exec "$1" tc qdisc del dev eth0 root 2>/dev/null || true
else
	"$here/host.sh" exec "$1" tc qdisc replace dev eth0 root tbf rate "${2}mibps" burst 256kb latency 100ms
fi
