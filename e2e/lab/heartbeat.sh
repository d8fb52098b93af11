# heartbeat.sh: sourced by the lab scripts: where things are, the heartbeat guest's domain and its console. The guest prints
#   HEARTBEAT seq=N boot=<id> uptime=<s> dirtied=<bytes> rate=<bytes/s>
# on its serial console, followed by bad=<pages> verified=<pages> pfn=<hex>. Only whole lines count: QEMU writes the serial file
# byte by byte, so the last line may be cut short (a partial boot id would
# look like a reboot).

# Where things are, for every script that sources this file.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
H=$repo/e2e/lab/host.sh
state=${DROVER_LAB_STATE:-/run/drover-lab}
guestdir=${GUESTDIR:-/var/tmp/drover-lab-guest} # on the shared root fs, seen by every host

# intact FILE: the guest's memory held what it wrote: no GUEST CORRUPT line and bad=0 in its last heartbeat
# (the guest fills every page of its working set with a pattern and checks it back; see guest/main.go).
intact() {
	! grep -aq '^GUEST CORRUPT' "$1" 2>/dev/null || return 1
	local bad
	bad=$(grep -aE '^HEARTBEAT seq=[0-9]+ .* bad=[0-9]+' "$1" 2>/dev/null | tail -n1 | sed -E 's/.* bad=([0-9]+).*/\1/')
	[ "${bad:-0}" = 0 ]
}

# last_hb FILE / first_hb FILE: "seq boot" of the last / first heartbeat in FILE (empty if none).
last_hb() { grep -aE '^HEARTBEAT seq=[0-9]+ boot=[^ ]+ uptime=' "$1" 2>/dev/null | tail -n1 | sed -E 's/.*seq=([0-9]+) boot=([^ ]+).*/\1 \2/'; }
first_hb() { grep -aE '^HEARTBEAT seq=[0-9]+ boot=[^ ]+ uptime=' "$1" 2>/dev/null | head -n1 | sed -E 's/.*seq=([0-9]+) boot=([^ ]+).*/\1 \2/'; }

# guest_xml NAME MEM_MIB WSS DIRTY SERIAL GUESTDIR: the heartbeat guest's domain XML on
# stdout, from drover guest-xml (libvirt.Workload, the guest drover calibrate boots):
# TCG, kernel + initrd from GUESTDIR, no disk, serial and console to the file SERIAL,
# a virtio-balloon reporting the guest's free memory every second (BALLOON=0: none),
# one user-mode virtio NIC when MAC is set. WSS and DIRTY as the guest reads them
# (16M: K, M, G are powers of 1024; bytes without) or in drover's units (16MiB, 16MiB/s).
# Builds drover (drover_bin) into $drover unless it is set.
guest_xml() {
	[ -n "${drover:-}" ] || drover=$(drover_bin "$repo" "$state")
	local dirty extra=()
	dirty=$(lab_units "$4")
	case $dirty in *B) dirty=$dirty/s ;; esac
	[ "${BALLOON:-1}" = 1 ] || extra+=(--no-balloon)
	[ -z "${MAC:-}" ] || extra+=(--mac "$MAC")
	"$drover" guest-xml --name "$1" --memory "$2" --wss "$(lab_units "$3")" --dirty "$dirty" \
		--serial-file "$5" --guest-dir "$6" "${extra[@]}"
}

# lab_units SIZE: the guest's shorthand (16M) in drover's units (16MiB); anything else as it is.
lab_units() {
	case $1 in
	*[0-9][kK]) echo "${1%?}KiB" ;;
	*[0-9][mM]) echo "${1%?}MiB" ;;
	*[0-9][gG]) echo "${1%?}GiB" ;;
	*) echo "$1" ;;
	esac
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
