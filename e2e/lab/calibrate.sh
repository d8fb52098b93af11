#!/usr/bin/env bash
# calibrate.sh: measures real QEMU live migrations between two lab hosts so a
# migration model can be fitted. Needs root and e2e/lab/install.sh done.
#
# Grid mode: for every (MEM_MIB, WSS, DIRTY) with wss <= mem/2, boot ONE TCG
# heartbeat guest on host 1 (kernel + initrd, no disk, as in smoke.sh), wait for
# BOOT_HB heartbeats, then live-migrate it once per CAP_MIBS value
# (virsh migrate --live --p2p --persistent --undefinesource --bandwidth CAP),
# host1 -> host2, then host2 -> host1, ... so it never reboots.
# Concurrent mode: for every CONC_DIRTY and every k in CONC, boot k identical
# guests (CONC_MEM, CONC_WSS) on host 1, put a shared tbf egress limit of
# LINK_MIBS MiB/s on host 1's eth0 (inside its namespace), start the k
# migrations to host 2 at the same instant without a libvirt cap, remove the
# qdisc.
#
# After each migration: destination `domjobinfo --completed --rawstats` (raw
# bytes / ms, no unit conversion), the guest's own dirty rate from its heartbeat
# lines over the last few seconds on the source, and smoke.sh's liveness checks
# on the destination (running there, undefined on the source, heartbeat with the
# same boot id and a growing seq, no GUEST START, no panic) -> ok=1/0.
# While the job runs the source is polled (domjobinfo --rawstats every POLL_S):
# an active job's `downtime` is QEMU's expected downtime, and its
# memory_dirty_rate is QEMU's dirty-page estimate (the completed job reports 0). Before
# QEMU's first estimate these read 300 (= the downtime limit, QEMU's initial value) and 0.
#
# Output ($OUT, default e2e/lab/calib):
#   measurements.csv  one row per migration (header first; empty = not reported)
#   raw/<id>.txt      virsh output, domjobinfo --completed (human and raw), the
#                     source polls, heartbeat window, wall clock, checks
#   calibrate.log     this script's log
# id = m<mem>-w<wss MiB>-d<dirty MiB>-c<cap>-<n> (n: running number of the row;
# cap 0 = no libvirt cap, the concurrent rows).
# Columns: dirty_set_bps = drover.dirty; guest_rate_bps = what the guest says it
# wrote (bytes/s, from dirtied= and uptime= of its last RATE_WINDOW heartbeats
# before the migration); dirty_rate_pps = completed memory_dirty_rate if > 0,
# else the last non-zero value polled from the active job; expected_downtime_ms =
# the last active-job downtime polled; normal_data = memory_normal_bytes
# (= normal_pages x page_size, the guest's non-zero memory); conc = guests
# migrating at once; link_mibs = shared tc limit (empty: none); wall_ms = how long
# virsh migrate took, libvirt's phases outside the job (begin, prepare, confirm) included.
#
# Env (lists are space-separated): MEM_MIB ("256 512"), WSS ("16M 64M 128M"),
# DIRTY ("0 4M 12M 24M"), CAP_MIBS ("32 64"), GRID (1; 0 skips the grid),
# CONC ("2 3"; empty skips the concurrent mode), CONC_MEM (256), CONC_WSS (64M),
# CONC_DIRTY ("4M 6M": with 12M, 2 or 3 guests sharing 24 MiB/s get <= 12 MiB/s each and
# never converge -- measured: 11 iterations, 700 MB sent in 60 s, aborted), LINK_MIBS (24), MIG_TIMEOUT (180 s per migration),
# BOOT_HB (4), BOOT_TIMEOUT (90 s), BUDGET (1440 s: no case starts after it and
# migration timeouts are cut to it), RATE_WINDOW (7 heartbeats = 3 s),
# POLL_S (0.5), OUT, MODE (tcp; tls: secured hosts, QEMU native TLS), KEEP=1 (leave the hosts up), HOST1/IP1 (cal1 198.18.0.31),
# HOST2/IP2 (cal2 198.18.0.32).
# Exit 0 = every planned row written with ok=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/heartbeat.sh"

OUT=${OUT:-$here/calib}
MEM_MIB=${MEM_MIB-256 512}
WSS=${WSS-16M 64M 128M}
DIRTY=${DIRTY-0 4M 12M 24M}
CAP_MIBS=${CAP_MIBS-32 64}
GRID=${GRID:-1}
CONC=${CONC-2 3}
CONC_MEM=${CONC_MEM:-256}
CONC_WSS=${CONC_WSS:-64M}
CONC_DIRTY=${CONC_DIRTY-4M 6M}
LINK_MIBS=${LINK_MIBS:-24}
MIG_TIMEOUT=${MIG_TIMEOUT:-180}
BOOT_HB=${BOOT_HB:-4}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-90}
BUDGET=${BUDGET:-1440}
RATE_WINDOW=${RATE_WINDOW:-7}
POLL_S=${POLL_S:-0.5}
HOST1=${HOST1:-cal1} IP1=${IP1:-198.18.0.31}
HOST2=${HOST2:-cal2} IP2=${IP2:-198.18.0.32}

# MODE=tls: both hosts secured, libvirt over qemu+tls and QEMU native TLS for
# the stream (virsh migrate --tls), to measure what TLS costs a stream.
MODE=${MODE:-tcp}
case $MODE in
tcp)
	declare -A URI=([$HOST1]=qemu+tcp://$IP1/system [$HOST2]=qemu+tcp://$IP2/system)
	declare -A DURI=([$HOST1]=qemu+tcp://$IP1/system [$HOST2]=qemu+tcp://$IP2/system)
	tlsflag=()
	;;
tls)
	# virsh here uses drover's client certificate; in p2p mode the source
	# daemon dials the destination with its own, so DURI has no pkipath.
	q="?pkipath=${DROVER_LAB_PKI:-/run/drover-lab/pki}/clients/drover"
	declare -A URI=([$HOST1]="qemu+tls://$IP1/system$q" [$HOST2]="qemu+tls://$IP2/system$q")
	declare -A DURI=([$HOST1]=qemu+tls://$IP1/system [$HOST2]=qemu+tls://$IP2/system)
	tlsflag=(--tls)
	;;
*) echo "calibrate.sh: MODE=$MODE: want tcp or tls" >&2; exit 2 ;;
esac
other() { if [ "$1" = "$HOST1" ]; then echo "$HOST2"; else echo "$HOST1"; fi; }
serial_of() { echo "/var/log/libvirt/qemu/$1-serial.log"; } # in each host's own mount namespace
now() { date +%s.%N; }
ms_since() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN{printf "%d", (b-a)*1000}'; }
to_bytes() { # 16M -> 16777216 (K, M, G: powers of 1024, as the guest parses them)
	local s=$1 m=1
	case ${s: -1} in [kK]) m=1024;; [mM]) m=1048576;; [gG]) m=1073741824;; esac
	[ "$m" -gt 1 ] && s=${s%?}
	echo $((s * m))
}
mib() { awk -v b="$1" 'BEGIN{printf "%g", b/1048576}'; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/calibrate.log
CSV=$OUT/measurements.csv
say() { echo "calibrate: $*" | tee -a "$LOG" >&2; }

work=$(mktemp -d)
t_start=$(now)
deadline=$(awk -v a="$t_start" -v b="$BUDGET" 'BEGIN{printf "%d", a+b}')
left_s() { awk -v d="$deadline" -v n="$(now)" 'BEGIN{printf "%d", d-n}'; }

qdisc_on=0
cleanup() {
	local p
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done # only this script's own background jobs
	if [ "$qdisc_on" = 1 ]; then "$H" exec "$HOST1" tc qdisc del dev eth0 root 2>/dev/null || true; fi
	if [ "${KEEP:-0}" != 1 ]; then
		"$H" down "$HOST1" 2>/dev/null || true
		"$H" down "$HOST2" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }
# slice FILE OFF DEST: FILE's bytes after offset OFF (what one stay of the guest on this host printed).
slice() { tail -c +$(($2 + 1)) "$1" 2>/dev/null >"$3" || : >"$3"; }
hb_count() { grep -acE '^HEARTBEAT seq=[0-9]+ boot=[^ ]+ uptime=' "$1" 2>/dev/null || true; }
# guest_rate FILE: bytes/s the guest dirtied over its last RATE_WINDOW whole heartbeat lines
# (the last line of the file is dropped: it may be cut short; the console ends lines with \r\n).
guest_rate() {
	{ sed '$d' "$1" | tr -d '\r' | grep -aE '^HEARTBEAT seq=[0-9]+ boot=[^ ]+ uptime=[0-9.]+ dirtied=[0-9]+ rate=[0-9]+$' || true; } |
		tail -n "$RATE_WINDOW" | sed -E 's/.*uptime=([0-9.]+) dirtied=([0-9]+).*/\1 \2/' |
		awk 'NR==1{u0=$1; d0=$2} {u=$1; d=$2} END{if (NR>1 && u>u0) printf "%.0f", (d-d0)/(u-u0)}'
}
# wait_new_hb HOST DOM OFF MIN SECONDS: until the guest printed MIN heartbeats on HOST after OFF.
wait_new_hb() {
	local f; f=$("$H" path "$1" "$(serial_of "$2")")
	local n=$(($5 * 5)) i
	for ((i = 0; i < n; i++)); do
		slice "$f" "$3" "$work/wait"
		[ "$(hb_count "$work/wait")" -ge "$4" ] && return 0
		sleep 0.2
	done
	return 1
}

domain_xml() { # DOM MEM_MIB WSS DIRTY
	guest_xml "$1" "$2" "$3" "$4" "$(serial_of "$1")" "$guestdir"
}

# Per guest: the host it runs on and the offset of its current stay in that host's serial log.
declare -A G_HOST G_OFF G_MEM G_WSS G_DIRTY
start_guest() { # DOM MEM_MIB WSS DIRTY: define + start on HOST1 (no wait)
	local dom=$1 f
	domain_xml "$@" >"$work/$dom.xml"
	f=$("$H" path "$HOST1" "$(serial_of "$dom")")
	G_OFF[$dom]=$(fsize "$f")
	timeout 30 virsh -q -c "${URI[$HOST1]}" define "$work/$dom.xml" >/dev/null
	timeout 60 virsh -q -c "${URI[$HOST1]}" start "$dom" >/dev/null
	G_HOST[$dom]=$HOST1 G_MEM[$dom]=$2 G_WSS[$dom]=$3 G_DIRTY[$dom]=$4
}
wait_guest() { # DOM: BOOT_HB heartbeats within BOOT_TIMEOUT
	local dom=$1 t; t=$(now)
	if wait_new_hb "${G_HOST[$dom]}" "$dom" "${G_OFF[$dom]}" "$BOOT_HB" "$BOOT_TIMEOUT"; then
		say "$dom: $BOOT_HB heartbeats on ${G_HOST[$dom]} after $(ms_since "$t") ms of waiting"
		return 0
	fi
	say "$dom: no $BOOT_HB heartbeats within $BOOT_TIMEOUT s"
	return 1
}
drop_guest() { # DOM: destroy + undefine wherever it is
	local h
	for h in "$HOST1" "$HOST2"; do
		timeout 30 virsh -q -c "${URI[$h]}" destroy "$1" >/dev/null 2>&1 || true
		timeout 30 virsh -q -c "${URI[$h]}" undefine "$1" >/dev/null 2>&1 || true
	done
	G_HOST[$1]=""
}

COLS=id,mem_mib,wss_bytes,dirty_set_bps,guest_rate_bps,cap_mibs,transport,time_ms,time_net_ms,setup_ms,downtime_ms,downtime_net_ms,data_total,data_processed,memory_processed,memory_bps,iterations,constant_pages,normal_pages,normal_data,page_size,dirty_rate_pps,expected_downtime_ms,ok,conc,link_mibs,wall_ms
row_n=0 rows_ok=0 rows_bad=0 planned=0 skipped=0

# Migration state, by id.
declare -A M_DOM M_SRC M_DST M_DOFF M_SEQ0 M_BOOT0 M_RATE M_CAP M_CONC M_LINK M_T0 M_PID M_POLL M_TMO
new_id() { # DOM CAP -> sets ID
	local dom=$1
	row_n=$((row_n + 1))
	ID=m${G_MEM[$dom]}-w$(mib "$(to_bytes "${G_WSS[$dom]}")")-d$(mib "$(to_bytes "${G_DIRTY[$dom]}")")-c$2-$row_n
}

# migrate_prep ID DOM CAP CONC LINK: reads the source's heartbeats and the destination's log offset;
# migrate_launch ID then starts the migration (and the source poller) in the background, so that
# concurrent migrations can be launched together.
migrate_prep() {
	local id=$1 dom=$2 cap=$3 src dst sf df tmo
	src=${G_HOST[$dom]} dst=$(other "${G_HOST[$dom]}")
	sf=$("$H" path "$src" "$(serial_of "$dom")")
	df=$("$H" path "$dst" "$(serial_of "$dom")")
	slice "$sf" "${G_OFF[$dom]}" "$work/$id.src"
	local seq0 boot0
	read -r seq0 boot0 < <(last_hb "$work/$id.src") || true
	M_DOM[$id]=$dom M_SRC[$id]=$src M_DST[$id]=$dst M_DOFF[$id]=$(fsize "$df")
	M_SEQ0[$id]=${seq0:-0} M_BOOT0[$id]=${boot0:-} M_RATE[$id]=$(guest_rate "$work/$id.src")
	M_CAP[$id]=$cap M_CONC[$id]=$4 M_LINK[$id]=$5
	tmo=$(left_s); [ "$tmo" -gt "$MIG_TIMEOUT" ] && tmo=$MIG_TIMEOUT; [ "$tmo" -lt 10 ] && tmo=10
	M_TMO[$id]=$tmo
}
migrate_launch() {
	local id=$1 dom=${M_DOM[$1]} src=${M_SRC[$1]} dst=${M_DST[$1]} tmo=${M_TMO[$1]} bw=()
	[ "${M_CAP[$id]}" -gt 0 ] && bw=(--bandwidth "${M_CAP[$id]}")
	M_T0[$id]=$(now)
	# After tmo seconds: domjobabort on the source (the guest stays there), virsh gets 30 s more to
	# return, then it is killed. (A SIGINT from timeout(1) did not abort the job, and killing
	# virsh left a half-finished migration: running on the destination, still defined on the source.)
	(
		timeout -k 5 $((tmo + 60)) virsh -c "${URI[$src]}" migrate --live --p2p --persistent --undefinesource \
			"${tlsflag[@]}" "${bw[@]}" "$dom" "${DURI[$dst]}" >"$work/$id.mig" 2>&1 &
		vp=$! end=$(($(date +%s) + tmo)) i=0 rc=0
		while kill -0 "$vp" 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do sleep 0.2; done
		if kill -0 "$vp" 2>/dev/null; then
			echo "calibrate: no end after $tmo s: domjobabort" >>"$work/$id.to"
			timeout 20 virsh -c "${URI[$src]}" domjobabort "$dom" >>"$work/$id.to" 2>&1 || true
			while kill -0 "$vp" 2>/dev/null && [ $((i += 1)) -le 150 ]; do sleep 0.2; done
			kill "$vp" 2>/dev/null || true
		fi
		wait "$vp" || rc=$?
		echo "$rc $(now)" >"$work/$id.rc"
	) &
	M_PID[$id]=$!
	(
		while [ ! -e "$work/$id.rc" ]; do
			echo "## t=$(now)"
			timeout 5 virsh -c "${URI[$src]}" domjobinfo "$dom" --rawstats 2>&1 || true
			sleep "$POLL_S"
		done
	) >"$work/$id.poll" 2>&1 &
	M_POLL[$id]=$!
}

# migrate_finish ID: waits for the migration, reads the stats, checks the guest, writes the CSV row and raw/ID.txt.
migrate_finish() {
	local id=$1 dom=${M_DOM[$1]} src=${M_SRC[$1]} dst=${M_DST[$1]}
	wait "${M_PID[$id]}" 2>/dev/null || true
	wait "${M_POLL[$id]}" 2>/dev/null || true
	local rc t1 wall
	read -r rc t1 <"$work/$id.rc" || { rc=255 t1=$(now); }
	wall=$(ms_since "${M_T0[$id]}" "$t1")

	local human=$work/$id.human stats=$work/$id.stats from=$dst
	if ! timeout 20 virsh -c "${URI[$dst]}" domjobinfo "$dom" --completed --keep-completed >"$human" 2>&1 ||
		! timeout 20 virsh -c "${URI[$dst]}" domjobinfo "$dom" --completed --rawstats >"$stats" 2>&1; then
		from=$src # failed: the source's statistics of the failed job, if any
		timeout 20 virsh -c "${URI[$src]}" domjobinfo "$dom" --completed --anystats --keep-completed >"$human" 2>&1 || true
		timeout 20 virsh -c "${URI[$src]}" domjobinfo "$dom" --completed --anystats --rawstats >"$stats" 2>&1 || true
	fi
	local -A S=()
	local k v
	while IFS=': ' read -r k v; do
		[[ $k =~ ^[a-z_]+$ ]] && [[ $v =~ ^[0-9]+$ ]] && S[$k]=$v
	done < <(sed -E 's/^([a-z_]+):[[:space:]]*([0-9]+)[[:space:]]*$/\1: \2/' "$stats")
	# From the polls of the active job (Job type: 2): expected downtime, dirty-page rate.
	local exp_dt poll_dr
	read -r exp_dt poll_dr < <(awk '
		/^## t=/ { act = 0; next }
		/^Job type: 2/ { act = 1; next }
		act && /^downtime: / { dt = $2 }
		act && /^memory_dirty_rate: / { if ($2 > 0 || dr == "") dr = $2 }
		END { print (dt == "" ? "-" : dt), (dr == "" ? "-" : dr) }' "$work/$id.poll")
	[ "$exp_dt" = - ] && exp_dt=""
	[ "$poll_dr" = - ] && poll_dr=""
	local dr=${S[memory_dirty_rate]:-}
	if [ -z "$dr" ] || [ "$dr" = 0 ]; then [ -n "$poll_dr" ] && dr=$poll_dr; fi
	local nd=${S[memory_normal_bytes]:-}
	if [ -z "$nd" ] && [ -n "${S[memory_normal]:-}" ] && [ -n "${S[memory_page_size]:-}" ]; then
		nd=$((S[memory_normal] * S[memory_page_size]))
	fi

	# Liveness on the destination (smoke.sh's checks), on what the guest printed there since the migration.
	local ok=1 why="" fseq="" fboot="" lseq="" lboot=""
	bad() { ok=0; why="$why; $*"; }
	[ -e "$work/$id.to" ] && bad "timed out after ${M_TMO[$id]} s, aborted"
	[ "$rc" = 0 ] || bad "virsh migrate rc=$rc: $(tr '\n' ' ' <"$work/$id.mig")"
	local st; st=$(timeout 20 virsh -q -c "${URI[$dst]}" domstate "$dom" 2>/dev/null || true)
	[ "$st" = running ] || bad "state on $dst: '${st}'"
	timeout 20 virsh -q -c "${URI[$src]}" list --all --name 2>/dev/null | grep -qx "$dom" && bad "still defined on $src"
	local df; df=$("$H" path "$dst" "$(serial_of "$dom")")
	if [ "$ok" = 1 ]; then
		wait_new_hb "$dst" "$dom" "${M_DOFF[$id]}" 6 30 || bad "fewer than 6 heartbeats on $dst within 30 s"
	fi
	slice "$df" "${M_DOFF[$id]}" "$work/$id.dst"
	read -r fseq fboot < <(first_hb "$work/$id.dst") || true
	read -r lseq lboot < <(last_hb "$work/$id.dst") || true
	if [ "$ok" = 1 ]; then
		grep -aq 'GUEST START' "$work/$id.dst" && bad "guest rebooted on $dst"
		grep -aqiE 'kernel panic|GUEST PANIC|Oops' "$work/$id.dst" && bad "guest panicked on $dst"
		[ -n "${M_BOOT0[$id]}" ] && [ "$fboot" = "${M_BOOT0[$id]}" ] && [ "$lboot" = "${M_BOOT0[$id]}" ] ||
			bad "boot id changed: ${M_BOOT0[$id]} -> $fboot/$lboot"
		[ -n "$fseq" ] && [ -n "$lseq" ] && [ "$fseq" -gt "${M_SEQ0[$id]}" ] && [ "$lseq" -gt "$fseq" ] ||
			bad "seq did not increase: src last ${M_SEQ0[$id]}, dst first $fseq last $lseq"
	fi
	if [ "$ok" = 1 ]; then
		G_HOST[$dom]=$dst G_OFF[$dom]=${M_DOFF[$id]}
		rows_ok=$((rows_ok + 1))
	else
		rows_bad=$((rows_bad + 1))
		# Where is it now? A failed migration leaves it on the source.
		if [ "$(timeout 20 virsh -q -c "${URI[$src]}" domstate "$dom" 2>/dev/null || true)" = running ]; then
			G_HOST[$dom]=$src
		elif [ "$st" = running ]; then
			G_HOST[$dom]=$dst G_OFF[$dom]=${M_DOFF[$id]}
		else
			G_HOST[$dom]=""
		fi
	fi

	local mem=${G_MEM[$dom]} wssb dirtyb
	wssb=$(to_bytes "${G_WSS[$dom]}") dirtyb=$(to_bytes "${G_DIRTY[$dom]}")
	echo "$id,$mem,$wssb,$dirtyb,${M_RATE[$id]},${M_CAP[$id]},$MODE,${S[time_elapsed]:-},${S[time_elapsed_net]:-},${S[setup_time]:-},${S[downtime]:-},${S[downtime_net]:-},${S[data_total]:-},${S[data_processed]:-},${S[memory_processed]:-},${S[memory_bps]:-},${S[memory_iteration]:-},${S[memory_constant]:-},${S[memory_normal]:-},$nd,${S[memory_page_size]:-},$dr,$exp_dt,$ok,${M_CONC[$id]},${M_LINK[$id]},$wall" >>"$CSV"

	{
		echo "# id=$id dom=$dom $src -> $dst cap_mibs=${M_CAP[$id]} conc=${M_CONC[$id]} link_mibs=${M_LINK[$id]}"
		echo "# mem_mib=$mem wss=${G_WSS[$dom]} dirty=${G_DIRTY[$dom]} guest_rate_bps=${M_RATE[$id]}"
		echo "# start=${M_T0[$id]} end=$t1 wall_ms=$wall rc=$rc timeout_s=${M_TMO[$id]} stats_from=$from"
		echo "# src last heartbeat seq=${M_SEQ0[$id]} boot=${M_BOOT0[$id]}; dst first seq=$fseq last seq=$lseq boot=$lboot"
		echo "# ok=$ok${why:+ why=${why#; }}"
		echo "## virsh migrate output"; cat "$work/$id.mig" "$work/$id.to" 2>/dev/null || true
		echo "## domjobinfo --completed (from $from)"; cat "$human"
		echo "## domjobinfo --completed --rawstats (from $from)"; cat "$stats"
		echo "## source heartbeats, rate window"; { sed '$d' "$work/$id.src" | grep -a '^HEARTBEAT' || true; } | tail -n "$RATE_WINDOW"
		echo "## destination heartbeats since the migration"; { grep -a '^HEARTBEAT' "$work/$id.dst" || true; } | head -n 3
		echo "## source polls during the job (domjobinfo --rawstats every ${POLL_S} s)"; cat "$work/$id.poll"
	} >"$OUT/raw/$id.txt"
	say "$id: $src->$dst ok=$ok wall=${wall}ms time=${S[time_elapsed]:-?}ms downtime=${S[downtime]:-?}ms iter=${S[memory_iteration]:-?} data=${S[data_total]:-?} guest_rate=${M_RATE[$id]}${why:+ ($why)}"
}

# ---------------------------------------------------------------------------
: >"$LOG"
rm -rf "$OUT/raw"; mkdir -p "$OUT/raw"
echo "$COLS" >"$CSV"
say "start $(date -u +%FT%TZ); grid mem=[$MEM_MIB] wss=[$WSS] dirty=[$DIRTY] caps=[$CAP_MIBS]; conc=[$CONC] dirty=[$CONC_DIRTY] link=${LINK_MIBS}MiB/s; budget ${BUDGET}s"
"$here/build-guest.sh" "$guestdir" >/dev/null
for h in "$HOST1" "$HOST2"; do
	if [ -e "${DROVER_LAB_STATE:-/run/drover-lab}/$h/pid" ]; then say "$h left from an earlier run: down"; "$H" down "$h" || true; fi
done
"$H" up "$HOST1" "$IP1" "$MODE"
"$H" up "$HOST2" "$IP2" "$MODE"
"$H" exec "$HOST1" tc qdisc del dev eth0 root 2>/dev/null || true

if [ "$GRID" = 1 ]; then
	ncaps=$(wc -w <<<"$CAP_MIBS")
	for mem in $MEM_MIB; do
		for wss in $WSS; do
			if [ "$(to_bytes "$wss")" -gt $((mem * 1048576 / 2)) ]; then say "skip mem=$mem wss=$wss (wss > mem/2)"; continue; fi
			for dirty in $DIRTY; do
				planned=$((planned + ncaps))
				if [ "$(left_s)" -lt 60 ]; then say "budget: skip mem=$mem wss=$wss dirty=$dirty"; skipped=$((skipped + ncaps)); continue; fi
				dom=cal-m$mem-w$(mib "$(to_bytes "$wss")")-d$(mib "$(to_bytes "$dirty")")
				t=$(now)
				start_guest "$dom" "$mem" "$wss" "$dirty"
				if ! wait_guest "$dom"; then drop_guest "$dom"; skipped=$((skipped + ncaps)); continue; fi
				for cap in $CAP_MIBS; do
					if [ -z "${G_HOST[$dom]}" ] || [ "$(left_s)" -lt 20 ]; then say "$dom: skip cap $cap (guest gone or budget)"; skipped=$((skipped + 1)); continue; fi
					new_id "$dom" "$cap"
					migrate_prep "$ID" "$dom" "$cap" 1 ""
					migrate_launch "$ID"
					migrate_finish "$ID"
				done
				drop_guest "$dom"
				say "$dom: case done in $(ms_since "$t") ms ($(left_s) s of budget left)"
			done
		done
	done
fi

for dirty in $CONC_DIRTY; do
	[ -n "$CONC" ] || break
	for k in $CONC; do
		planned=$((planned + k))
		if [ "$(left_s)" -lt 90 ]; then say "budget: skip conc=$k dirty=$dirty"; skipped=$((skipped + k)); continue; fi
		t=$(now)
		doms=()
		for ((i = 1; i <= k; i++)); do
			dom=calc-k$k-d$(mib "$(to_bytes "$dirty")")-$i
			start_guest "$dom" "$CONC_MEM" "$CONC_WSS" "$dirty"
			doms+=("$dom")
		done
		up=()
		for dom in "${doms[@]}"; do if wait_guest "$dom"; then up+=("$dom"); else drop_guest "$dom"; fi; done
		if [ ${#up[@]} -ne "$k" ]; then
			say "conc=$k dirty=$dirty: only ${#up[@]} of $k guests booted: skip"
			for dom in "${up[@]}"; do drop_guest "$dom"; done
			skipped=$((skipped + k)); continue
		fi
		# Shared egress limit on host 1: every migration stream leaves through its eth0.
		"$H" exec "$HOST1" tc qdisc replace dev eth0 root tbf rate "${LINK_MIBS}mibps" burst 256kb latency 100ms
		qdisc_on=1
		ids=()
		for dom in "${doms[@]}"; do new_id "$dom" 0; ids+=("$ID"); done
		for ((i = 0; i < k; i++)); do migrate_prep "${ids[$i]}" "${doms[$i]}" 0 "$k" "$LINK_MIBS"; done
		for id in "${ids[@]}"; do migrate_launch "$id"; done
		for id in "${ids[@]}"; do wait "${M_PID[$id]}" 2>/dev/null || true; done
		"$H" exec "$HOST1" tc -s qdisc show dev eth0 >"$work/tc.txt" 2>&1 || true
		"$H" exec "$HOST1" tc qdisc del dev eth0 root 2>/dev/null || true
		qdisc_on=0
		for id in "${ids[@]}"; do migrate_finish "$id"; { echo "## tc -s qdisc show dev eth0 on $HOST1 (group)"; cat "$work/tc.txt"; } >>"$OUT/raw/$id.txt"; done
		for dom in "${doms[@]}"; do drop_guest "$dom"; done
		say "conc=$k dirty=$dirty: group done in $(ms_since "$t") ms ($(left_s) s of budget left)"
	done
done

total=$(ms_since "$t_start")
say "done in $((total / 1000)) s: $((row_n)) rows ($rows_ok ok, $rows_bad not ok), $planned planned, $skipped skipped"
echo
printf '%-26s %8s %11s %10s %12s %3s\n' id time_ms downtime_ms iterations data_total ok
awk -F, 'NR>1{printf "%-26s %8s %11s %10s %12s %3s\n", $1, $8, $11, $17, $13, $24}' "$CSV"
[ "$rows_bad" = 0 ] && [ "$skipped" = 0 ] && [ "$row_n" = "$planned" ]
