#!/bin/sh
# The network scenarios (run --net), inside the nested lab as root; linux-boot-scenarios.sh sources this file.
# Environment as linux-boot-scenarios.sh, plus SCRIPTS (where this file is).
set -u
. "$SCRIPTS/net-lib.sh"
net_setup
echo "scenario net"
$PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --net tap=$TAP --cmdline "$GUEST_IP" --exec "$GUEST_COMMAND" \
    > net.out 2> net.err < /dev/null &
vmm=$!
net_host_side net $vmm
wait $vmm
echo $? > net.rc
rm -f "$WORK/www/done"

# Bad input, each before any boot: a TAP another process holds, no right to create a TAP, no /dev/net/tun.
ip tuntap add pvbusy mode tap
python3 -c 'import fcntl, os, struct, sys, time
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"pvbusy", 0x1002))
print("holding", flush=True)
time.sleep(120)' > holder.out &
holder=$!
waited=0
until grep -q holding holder.out 2>/dev/null || [ $waited -ge 60 ]; do sleep 1; waited=$((waited + 1)); done
scenario net-busy $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --net tap=pvbusy --exec true
kill $holder
ip tuntap del pvbusy mode tap
scenario net-nocap setpriv --bounding-set=-net_admin $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" \
    --net tap=pvnone0 --exec true
scenario net-notun unshare -m sh -c 'mount -t tmpfs none /dev/net && exec "$@"' sh $PANAVISOR run \
    --kernel "$BZIMAGE" --initrd "$INITRD" --net tap=pvtap1 --exec true
net_teardown
