#!/bin/busybox sh
# cowlab guest init (PID 1). Sets up what the reproducers need, runs each testcase with a
# bound on its time, frames its KTAP output with markers the orchestrator parses, and
# reboots (-no-reboot turns that into QEMU exiting: tinyconfig has no ACPI for poweroff).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmp /tmp
. /etc/cowlab.env

note() { echo "# cowlab-setup $*"; }

# THP always, so every 2 MiB-aligned anonymous range becomes a THP where memory allows.
if [ -w /sys/kernel/mm/transparent_hugepage/enabled ]; then
  echo always > /sys/kernel/mm/transparent_hugepage/enabled
  note "thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled)"
else
  note "thp=unavailable"
fi

# Swap on zram: compressed RAM, so MADV_PAGEOUT really swaps without a disk.
if [ -e /sys/block/zram0/disksize ]; then
  echo "$COWLAB_ZRAM_SIZE" > /sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null && swapon /dev/zram0
fi
note "swap_kb=$(awk '/SwapTotal/ {print $2}' /proc/meminfo)"

echo "$COWLAB_HUGEPAGES" > /proc/sys/vm/nr_hugepages 2>/dev/null
note "hugepages=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)"
note "numa_nodes=$(ls -d /sys/devices/system/node/node* 2>/dev/null | wc -l)"
note "cpus=$(grep -c ^processor /proc/cpuinfo)"
note "uname=$(uname -r)"

# From here on the console shows only kernel messages at KERN_WARNING and above: every
# report the lab reads (panic, Oops, BUG, WARN, lockdep, RCU stall, hung task) is at those
# levels, while informational printks (a late device probe) would otherwise land in the
# middle of the programs' KTAP lines on the shared serial line. dmesg keeps them all.
echo 5 > /proc/sys/kernel/printk
note "console_loglevel=$(cut -f1 /proc/sys/kernel/printk)"

uptime_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

for t in $COWLAB_TESTCASES; do
  v=$(echo "$t" | tr - _)
  limit=$(eval echo "\${COWLAB_TIMEOUT_$v:-60}")
  filter=$(eval echo "\${COWLAB_FILTER_$v:-}") # the cases the host selected (empty: all)
  echo "# cowlab-begin $t"
  start=$(uptime_ms)
  KTAP_FILTER_GLOB="$filter" timeout -s KILL "$limit" "/testcases/$t"
  rc=$?
  echo "# cowlab-end $t rc=$rc ms=$(( $(uptime_ms) - start ))"
done
# The explorer (issue 9): scenario lines through one interpreter, bounded as a whole by the
# budget; every finished scenario's block is already on the console when the bound kills it.
if [ -x /explore/interp ]; then
  echo "# cowlab-begin explore"
  start=$(uptime_ms)
  timeout -s KILL "${COWLAB_EXPLORE_BUDGET:-60}" /explore/interp /explore/scenarios.txt
  rc=$?
  echo "# cowlab-end explore rc=$rc ms=$(( $(uptime_ms) - start ))"
fi
echo "# cowlab-done"
sync
reboot -f
