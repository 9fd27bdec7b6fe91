#!/bin/sh
# The network scenarios (run --net), inside the nested lab as root: linux-boot-scenarios.sh sources this file, and
# tools/bench-net.sh runs the same guest under QEMU for the comparison. Traffic stays on one TAP link between L1
# (172.30.0.1) and the guest (172.30.0.2); nothing else is addressed. Environment as linux-boot-scenarios.sh, plus
# NET_MIB (size of the large file timed in each direction, default 8) and SCRIPTS (where this file is).
set -u
TAP=pvtap0
NET_MIB=${NET_MIB:-8}
GUEST_IP=ip=172.30.0.2::172.30.0.1:255.255.255.0::eth0:off

command -v scenario > /dev/null || scenario() { # NAME COMMAND... (as linux-boot-scenarios.sh has it)
    name=$1; shift
    echo "scenario $name"
    "$@" > "$name.out" 2> "$name.err" < /dev/null
    echo $? > "$name.rc"
}

net_setup() {
    ip tuntap add "$TAP" mode tap
    ip addr add 172.30.0.1/24 dev "$TAP"
    ip link set "$TAP" up
    mkdir -p "$WORK/www"
    head -c 262144 /dev/urandom > "$WORK/www/small.bin"
    dd if=/dev/zero of="$WORK/www/big.bin" bs=1M count="$NET_MIB" 2>/dev/null
    sed "s/@MIB@/$NET_MIB/" "$SCRIPTS/net-guest.sh" > "$WORK/www/g.sh"
    rm -f "$WORK/www/done"
    busybox httpd -p 172.30.0.1:8080 -h "$WORK/www"
}

# The host's half, while NAME's guest runs: once it is ready, ping it, fetch its small file and time its large one.
net_host_side() { # NAME
    name=$1
    waited=0
    until grep -q guest-ready "$name.out" 2>/dev/null || [ $waited -ge 300 ]; do sleep 1; waited=$((waited + 1)); done
    busybox ping -c 10 -i 0.2 172.30.0.2 > "$name.ping" 2>&1
    busybox wget -q -O "$name.small" http://172.30.0.2/small.bin
    t0=$(date +%s.%N)
    busybox wget -q -O /dev/null http://172.30.0.2/big.bin && t1=$(date +%s.%N) && echo "g2h-seconds $t0 $t1" > "$name.g2h"
    touch "$WORK/www/done"
}

GUEST_COMMAND='wget -q -O /tmp/g.sh http://172.30.0.1:8080/g.sh && sh /tmp/g.sh'

net_setup
echo "scenario net"
$PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --net tap=$TAP --cmdline "$GUEST_IP" --exec "$GUEST_COMMAND" \
    > net.out 2> net.err < /dev/null &
vmm=$!
net_host_side net
wait $vmm
echo $? > net.rc
rm -f "$WORK/www/done"

# Bad input, each before any boot: a TAP another process holds, no right to create a TAP, no /dev/net/tun.
echo "scenario net-busy"
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
