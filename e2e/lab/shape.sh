#!/usr/bin/env bash
# shape.sh HOST MIB_PER_S: drover calibrate's --shaper for the lab. Limits
# the lab host's egress (eth0 inside its namespace) to MIB_PER_S and shares
# it fairly between migration streams, as the model's links do; 0 lifts the
# limit.
#
# A single token bucket has one FIFO queue, where one TCP stream starves
# another (one guest of a group took 9.5 s where its twins took 27 s), and
# this kernel has no fair qdisc to put under it (fq_codel, sfq, fq, drr and
# cake are all unknown here). HTB is known: each of QEMU's migration ports
# (libvirt's 49152-49215, handed out from the bottom) gets its own class,
# with an equal guarantee and the whole link as ceiling, and HTB lends what
# an idle class leaves to the busy ones in equal quanta, so n streams get
# 1/n each. Everything else (libvirt's RPC, the console) shares one more
# class.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { echo "usage: shape.sh HOST MIB_PER_S (0: lift)" >&2; exit 2; }
ports=16 # migration ports with a class of their own; a group is 2-3
tc() { "$here/host.sh" exec "$1" tc "${@:2}"; }
tc "$1" qdisc del dev eth0 root 2>/dev/null || true
[ "$2" = 0 ] && exit 0
rate=$(( $2 * 1024 * 1024 * 8 ))   # bit/s: tc's "mibps" would be parsed per class
share=$(( rate / (ports + 1) ))
tc "$1" qdisc add dev eth0 root handle 1: htb default 99
tc "$1" class add dev eth0 parent 1: classid 1:1 htb rate "${rate}bit" ceil "${rate}bit" quantum 15140 burst 64k cburst 64k
tc "$1" class add dev eth0 parent 1:1 classid 1:99 htb rate "${share}bit" ceil "${rate}bit" quantum 15140 burst 64k cburst 64k
for i in $(seq 0 $((ports - 1))); do
	tc "$1" class add dev eth0 parent 1:1 classid 1:$((10 + i)) htb rate "${share}bit" ceil "${rate}bit" quantum 15140 burst 64k cburst 64k
	tc "$1" filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dport $((49152 + i)) 0xffff flowid 1:$((10 + i))
done
