#!/bin/sh
# /sbin/cowlab-init: PID 1 of the qemu-rootfs guest (kernel command line init=/sbin/cowlab-init).
# Mounts what sshd and the runner need, brings up QEMU user-net's static address, and ends as
# sshd (exec), so sshd is what the guest runs. The runner stops the guest with `reboot -f`,
# which QEMU's -no-reboot turns into QEMU exiting. Every failure is said on the console.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# The kernel opens /dev/console for init; reopen it only if that failed
[ -t 1 ] || { [ -c /dev/console ] && exec </dev/console >/dev/console 2>&1; }

say() { echo "cowlab-rootfs: $*"; }
fail() { echo "cowlab-rootfs: error: $*"; }

# mount TYPE DIR [OPTIONS]: skipped when DIR is already a mount point (devtmpfs is mounted by
# the kernel itself with CONFIG_DEVTMPFS_MOUNT)
mnt() {
  mkdir -p "$2" || fail "mkdir $2 failed"
  if grep -q " $2 " /proc/mounts 2>/dev/null; then return 0; fi
  mount -t "$1" ${3:+-o "$3"} "$1" "$2" || fail "mount -t $1 $2 failed"
}

mnt proc /proc nosuid,nodev,noexec
mnt sysfs /sys nosuid,nodev,noexec
mnt devtmpfs /dev mode=0755
mnt tmpfs /run mode=0755,nosuid,nodev
mnt tmpfs /tmp mode=1777,nosuid,nodev
mnt devpts /dev/pts gid=5,mode=0620,ptmxmode=0666
mnt debugfs /sys/kernel/debug
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
[ -d /dev/shm ] || { mkdir -p /dev/shm && mount -t tmpfs -o nosuid,nodev tmpfs /dev/shm; }
hostname cowlab-rootfs 2>/dev/null || echo cowlab-rootfs >/proc/sys/kernel/hostname

# QEMU user-net: the guest is 10.0.2.15/24, the gateway (and the host) 10.0.2.2
ip link set lo up || fail "ip link set lo up failed"
nic=""
for d in /sys/class/net/*; do
  n=${d##*/}
  [ "$n" = lo ] && continue
  # the first ethernet interface (ARPHRD_ETHER = 1)
  if [ "$(cat "$d/type" 2>/dev/null)" = 1 ]; then nic=$n; break; fi
done
if [ -z "$nic" ]; then
  fail "no ethernet interface (is the kernel built with virtio-net and QEMU given a NIC?); interfaces: $(ls /sys/class/net | tr '\n' ' ')"
else
  ip link set "$nic" up || fail "ip link set $nic up failed"
  ip addr add 10.0.2.15/24 dev "$nic" || fail "ip addr add 10.0.2.15/24 dev $nic failed"
  ip route add default via 10.0.2.2 dev "$nic" || fail "ip route add default via 10.0.2.2 failed"
  say "$nic is 10.0.2.15/24 via 10.0.2.2"
fi

mkdir -p /run/sshd && chmod 0755 /run/sshd || fail "mkdir /run/sshd failed"
if ! /usr/sbin/sshd -t; then
  fail "sshd -t rejected the configuration; running a shell on the console instead"
  exec /bin/sh
fi
say "sshd up"
exec /usr/sbin/sshd -D -e
