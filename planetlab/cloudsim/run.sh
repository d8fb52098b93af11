#!/usr/bin/env bash
# Runs CloudSim 4.0's PlanetLab experiments with the trace files numbered in
# byte order of their names, and writes CloudSim's figures in the layout of
# cloudsim-reference.csv. See README.md here.
#
#   planetlab/cloudsim/run.sh CLOUDSIM DAYS OUT.csv
#
# CLOUDSIM: a checkout of https://github.com/Cloudslab/cloudsim (the tag
# cloudsim-4.0 is taken from it); DAYS: a folder of DAY.tar.gz archives.
# Needs a JDK (Debian: openjdk-17-jdk-headless) and commons-math3
# (libcommons-math3-java). About 30 s a policy-day on one core.
set -euo pipefail
cs=$(realpath "$1"); days=$(realpath "$2"); out=$(realpath -m "$3")
here=$(cd "$(dirname "$0")" && pwd)
math=${COMMONS_MATH3:-/usr/share/java/commons-math3.jar}
[ -r "$math" ] || { echo "run.sh: commons-math3 not found at $math (apt-get install libcommons-math3-java)" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
git -C "$cs" archive cloudsim-4.0 modules/cloudsim/src/main/java modules/cloudsim-examples/src/main/java | tar -x -C "$work"
patch -s -d "$work" -p1 < "$here/byteorder.patch"
# The container packages need opencsv and play no part here.
(find "$work/modules/cloudsim/src" -name '*.java' | grep -v /container/
 find "$work/modules/cloudsim-examples/src/main/java/org/cloudbus/cloudsim/examples/power" -name '*.java'
 echo "$here/Run.java") > "$work/sources"
mkdir "$work/classes" "$work/days"
javac -nowarn -encoding UTF-8 -cp "$math" -d "$work/classes" @"$work/sources" 2>&1 | grep -v '^Note:' || true
for a in "$days"/*.tar.gz; do tar -xzf "$a" -C "$work/days"; done
echo "day,policy,hosts,vms,energy_kwh,migrations,slav,slatah,pdm,host_shutdowns" > "$out"
for d in $(ls "$work/days"); do
  for p in "thr mmt 0.8" "iqr mmt 1.5" "mad mmt 2.5" "lr mmt 1.2" "lrr mmt 1.2" "dvfs"; do
    echo "$d $p" >&2
    java -Dplanetlab.sort=true -cp "$work/classes:$math" Run "$work/days" "$work/out" $d $p > /dev/null
  done
  # CloudSim's stats row: name, day, allocation, selection, parameter,
  # hosts, VMs, time, energy, migrations, SLAV, SLATAH, PDM, ..., shutdowns.
  for p in thr_mmt_0.8 iqr_mmt_1.5 mad_mmt_2.5 lr_mmt_1.2 lrr_mmt_1.2 dvfs; do
    awk -F, -v p=$p '{printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", $2, p, $6, $7, $9, $10, $11, $12, $13, $16}' \
      "$work/out/stats/${d}_${p}_stats.csv" >> "$out"
  done
done
