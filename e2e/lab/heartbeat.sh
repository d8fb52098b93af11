# heartbeat.sh: sourced by the lab scripts: where things are, the heartbeat guest's domain and its console. The guest prints
#   HEARTBEAT seq=N boot=<id> uptime=<s> dirtied=<bytes> rate=<bytes/s>
# on its serial console. Only whole lines count: QEMU writes the serial file
# byte by byte, so the last line may be cut short (a partial boot id would
# look like a reboot).

# Where things are, for every script that sources this file.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
H=$repo/e2e/lab/host.sh
state=${DROVER_LAB_STATE:-/run/drover-lab}
guestdir=${GUESTDIR:-/var/tmp/drover-lab-guest} # on the shared root fs, seen by every host

# last_hb FILE / first_hb FILE: "seq boot" of the last / first heartbeat in FILE (empty if none).
last_hb() { grep -aE '^HEARTBEAT seq=[0-9]+ boot=[^ ]+ uptime=' "$1" 2>/dev/null | tail -n1 | sed -E 's/.*seq=([0-9]+) boot=([^ ]+).*/\1 \2/'; }
first_hb() { grep -aE '^HEARTBEAT seq=[0-9]+ boot=[^ ]+ uptime=' "$1" 2>/dev/null | head -n1 | sed -E 's/.*seq=([0-9]+) boot=([^ ]+).*/\1 \2/'; }

# guest_xml NAME MEM_MIB WSS DIRTY SERIAL GUESTDIR: the heartbeat guest's domain XML on
# stdout (TCG, kernel + initrd from GUESTDIR, no disk, serial and console to SERIAL),
# with a virtio-balloon reporting the guest's free memory every second (BALLOON=0: none).
guest_xml() {
	cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>$2</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$6/vmlinuz</kernel>
    <initrd>$6/initrd.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet drover.wss=$3 drover.dirty=$4</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'>
      <source path='$5' append='on'/>
      <target port='0'/>
    </serial>
    <console type='file'>
      <source path='$5' append='on'/>
      <target type='serial' port='0'/>
    </console>
    <controller type='usb' model='none'/>
    $(if [ "${BALLOON:-1}" = 1 ]; then echo "<memballoon model='virtio'><stats period='1'/></memballoon>"; else echo "<memballoon model='none'/>"; fi)
  </devices>
</domain>
XML
}

# drover_bin REPO STATE: the drover binary the lab scripts run: $DROVER when
# set, else one built from REPO into STATE/bin (the build's output to stderr).
drover_bin() {
	if [ -n "${DROVER:-}" ]; then
		echo "$DROVER"
		return
	fi
	mkdir -p "$2/bin"
	(cd "$1" && go build -o "$2/bin/drover" ./cmd/drover) >&2
	echo "$2/bin/drover"
}
