# cowlab guest runner (POSIX sh: busybox in the lab's initramfs guests, dash on SSH targets).
# Sourced by guests/init.sh, run as `sh run-testcases.sh` in a private temporary directory
# by the SSH runtimes. It sets up what the env file allows, prints the setup facts, runs each
# testcase with a bound on its time, and writes the guest's nested KTAP v1 document: the
# programs are its subtests (orchestrator/guest/protocol.ts owns the format and reads it).
#
# Env (orchestrator/guest/initramfs.ts guestEnv writes it):
#   COWLAB_DIR            where testcases/ and explore/ are (default /)
#   COWLAB_TESTCASES      the programs in order; COWLAB_TIMEOUT_<id>, COWLAB_FILTER_<id>
#   COWLAB_THP            always|madvise|never|keep      what to set THP to
#   COWLAB_HUGEPAGES      N|keep                         hugetlb pages to reserve
#   COWLAB_ZRAM_SIZE      SIZE|none                      swap on zram0 of this size
#   COWLAB_RESTORE        1: put THP, hugepages and swap back as they were when it ends
#   COWLAB_QUIET_CONSOLE  1: console loglevel 5 (the programs share the serial line)
#   COWLAB_EXPLORE_BUDGET the explorer's bound, when explore/interp is there
#   COWLAB_PROBE_ONLY     1: set up, print the setup facts (the target's capabilities), put
#                         everything back and stop (SSH runtimes plan from them)
dir=${COWLAB_DIR:-}

note() { echo "# cowlab-setup $*"; }
uptime_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
thp_file=/sys/kernel/mm/transparent_hugepage/enabled
hp_file=/proc/sys/vm/nr_hugepages

# What is changed is put back (COWLAB_RESTORE) by the EXIT trap, also when the host kills us.
old_thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' $thp_file 2>/dev/null)
old_hp=$(cat $hp_file 2>/dev/null)
zram_made=
restore() {
  [ "${COWLAB_RESTORE:-0}" = 1 ] || return 0
  [ -n "$zram_made" ] && { swapoff /dev/zram0; echo 1 > /sys/block/zram0/reset; } 2>/dev/null
  [ "${COWLAB_HUGEPAGES:-keep}" != keep ] && [ -n "$old_hp" ] && echo "$old_hp" > $hp_file 2>/dev/null
  [ "${COWLAB_THP:-keep}" != keep ] && [ -n "$old_thp" ] && echo "$old_thp" > $thp_file 2>/dev/null
  return 0
}
trap restore EXIT
trap 'exit 143' TERM HUP INT

plan=0
for t in $COWLAB_TESTCASES; do plan=$((plan + 1)); done
[ -x "$dir/explore/interp" ] && plan=$((plan + 1))
echo "KTAP version 1"
echo "1..$plan"

[ -d /sys/kernel/debug/tracing ] || [ -e /sys/kernel/debug/gup_test ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

# THP always, so every 2 MiB-aligned anonymous range becomes a THP where memory allows.
if [ "${COWLAB_THP:-keep}" != keep ] && [ -w $thp_file ]; then echo "$COWLAB_THP" > $thp_file; fi
if [ -r $thp_file ]; then note "thp=$(cat $thp_file)"; else note "thp=unavailable"; fi

# Swap on zram: compressed RAM, so MADV_PAGEOUT really swaps without a disk.
if [ "${COWLAB_ZRAM_SIZE:-none}" != none ] && [ -e /sys/block/zram0/disksize ] && ! grep -q '^/dev/zram0 ' /proc/swaps; then
  echo "$COWLAB_ZRAM_SIZE" > /sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null && swapon /dev/zram0 && zram_made=1
fi
note "swap_kb=$(awk '/SwapTotal/ {print $2}' /proc/meminfo)"

[ "${COWLAB_HUGEPAGES:-keep}" != keep ] && echo "$COWLAB_HUGEPAGES" > $hp_file 2>/dev/null
note "hugepages=$(cat $hp_file 2>/dev/null || echo 0)"
note "numa_nodes=$(ls -d /sys/devices/system/node/node* 2>/dev/null | wc -l)"
note "cpus=$(grep -c ^processor /proc/cpuinfo)"
note "gup_test=$([ -e /sys/kernel/debug/gup_test ] && echo yes || echo no)"
note "uname=$(uname -r)"
[ "${COWLAB_PROBE_ONLY:-0}" = 1 ] && exit 0

# From here on the console shows only kernel messages at KERN_WARNING and above: every
# report the lab reads (panic, Oops, BUG, WARN, lockdep, RCU stall, hung task) is at those
# levels, while informational printks (a late device probe) would otherwise land in the
# middle of the programs' KTAP lines on the shared serial line. dmesg keeps them all.
if [ "${COWLAB_QUIET_CONSOLE:-0}" = 1 ]; then
  echo 5 > /proc/sys/kernel/printk
  note "console_loglevel=$(cut -f1 /proc/sys/kernel/printk)"
fi


# One subtest: its markers, its own KTAP nested four spaces deep (ktap.h reads KTAP_INDENT;
# the program writes to the console itself, so its lines keep their order with the kernel's),
# and its result line in the guest's document.
n=0
subtest() { # id, bound (s), command...
  id=$1 limit=$2
  shift 2
  n=$((n + 1))
  echo "# cowlab-begin $id at=$(uptime_s)"
  start=$(uptime_ms)
  KTAP_INDENT="    " timeout -s KILL "$limit" "$@"
  rc=$?
  echo "# cowlab-end $id rc=$rc ms=$(( $(uptime_ms) - start )) at=$(uptime_s)"
  if [ "$rc" = 0 ]; then echo "ok $n $id"; else echo "not ok $n $id"; fi
}

for t in $COWLAB_TESTCASES; do
  v=$(echo "$t" | tr - _)
  limit=$(eval echo "\${COWLAB_TIMEOUT_$v:-60}")
  KTAP_FILTER_GLOB=$(eval echo "\${COWLAB_FILTER_$v:-}") # the cases the host selected (empty: all)
  export KTAP_FILTER_GLOB
  subtest "$t" "$limit" "$dir/testcases/$t"
done
unset KTAP_FILTER_GLOB
# The explorer (issue 9): scenario lines through one interpreter, bounded as a whole by the
# budget; every finished scenario's block is already out when the bound kills it.
if [ -x "$dir/explore/interp" ]; then
  subtest explore "${COWLAB_EXPLORE_BUDGET:-60}" "$dir/explore/interp" "$dir/explore/scenarios.txt"
fi
echo "# cowlab-done"
