#!/bin/busybox sh
# cowlab guest init (PID 1) of the lab's own QEMU guests: mounts what the reproducers need,
# hands over to the runner every runtime shares (guests/run-testcases.sh: set-up, testcases,
# the guest's KTAP document), and reboots (-no-reboot turns that into QEMU exiting:
# tinyconfig has no ACPI for poweroff).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmp /tmp
. /etc/cowlab.env
. /run-testcases.sh
sync
reboot -f
