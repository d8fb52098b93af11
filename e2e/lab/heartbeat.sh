# heartbeat.sh: sourced by the lab scripts. The guest prints
#   HEARTBEAT seq=N boot=<id> uptime=<s> dirtied=<bytes> rate=<bytes/s>
# on its serial console. Only whole lines count: QEMU writes the serial file
# byte by byte, so the last line may be cut short (a partial boot id would
# look like a reboot).

# last_hb FILE / first_hb FILE: "seq boot" of the last / first heartbeat in FILE (empty if none).
last_hb() { grep -aE '^HEARTBEAT seq=[0-9]+ boot=[^ ]+ uptime=' "$1" 2>/dev/null | tail -n1 | sed -E 's/.*seq=([0-9]+) boot=([^ ]+).*/\1 \2/'; }
first_hb() { grep -aE '^HEARTBEAT seq=[0-9]+ boot=[^ ]+ uptime=' "$1" 2>/dev/null | head -n1 | sed -E 's/.*seq=([0-9]+) boot=([^ ]+).*/\1 \2/'; }
