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

# A TAP deleted while the VM runs: one line on stderr, and the guest runs on without a network (status 0). The
# guest brings its interface up after the deletion: the receive buffers it then posts wake the VMM's receive
# thread, whose next poll sees the TAP gone (the poll under way at the deletion is not woken: TapNetwork).
ip tuntap add pvgone mode tap
echo "scenario net-gone"
$PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --net tap=pvgone \
    --exec 'echo guest-up; sleep 2; ip link set eth0 up; sleep 4; echo guest-alive' \
    > net-gone.out 2> net-gone.err < /dev/null &
vmm=$!
await_line guest-up net-gone.out 300 $vmm
ip link del pvgone
wait $vmm
echo $? > net-gone.rc

# passt (run --net user): the guest is 10.0.2.15, and 10.0.2.2 is L1's loopback to it. It fetches a file from a
# server on L1's 127.0.0.1:8081 through passt, serves one that L1 fetches through --publish 8082:80, and then
# keeps running after passt is killed (one line on stderr, no network, status 0). L1 has no network of its own,
# and passt takes its template from the interface of the default route: a placeholder TAP that no one reads, with
# TEST-NET-1 addresses (RFC 5737), gives it one; nothing is addressed there.
ip tuntap add pvuplink mode tap
ip addr add 192.0.2.2/24 dev pvuplink
ip link set pvuplink up
ip route add default via 192.0.2.1 dev pvuplink onlink
mkdir -p "$WORK/user-www"
head -c 65536 /dev/urandom > "$WORK/user-www/small.bin"
cat > "$WORK/user-www/u.sh" <<'GUEST'
H=http://10.0.2.2:8081
wget -q -O /tmp/s $H/small.bin && echo "user-got $(sha256sum < /tmp/s | cut -d' ' -f1)"
mkdir -p /tmp/www
head -c 65536 /dev/urandom > /tmp/www/p.bin
echo "user-has $(sha256sum < /tmp/www/p.bin | cut -d' ' -f1)"
httpd -p 80 -h /tmp/www
echo guest-ready
until wget -q -O /dev/null $H/done 2>/dev/null; do sleep 1; done
echo guest-got-done
sleep 10
echo guest-alive
GUEST
busybox httpd -f -p 127.0.0.1:8081 -h "$WORK/user-www" &
user_httpd=$!
echo "scenario user"
$PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --net user --publish 8082:80 \
    --exec 'wget -q -O /tmp/u.sh http://10.0.2.2:8081/u.sh && sh /tmp/u.sh' > user.out 2> user.err < /dev/null &
vmm=$!
await_line guest-ready user.out 300 $vmm
busybox wget -q -O user.published http://127.0.0.1:8082/p.bin
touch "$WORK/user-www/done"
await_line guest-got-done user.out 120 $vmm
# passt re-executes itself as passt.avx2 where the CPU has AVX2.
pkill -x 'passt(\.avx2)?'
wait $vmm
echo $? > user.rc

# A passt that stops reading (stopped here; hung, in life) while the guest sends more than the socket to it holds,
# and then resets its card (the driver unbound): the reset waits in the vCPU thread for the transmit that passt
# holds, where no kick reaches it. SIGTERM must still end the run and close the VM. The guest's first fetch
# resolves the gateway's address (ARP) while passt still answers; the guest then gives the host 10 s to stop passt
# before it sends. A run that outlives the signal by 120 s is killed, so a regression fails the test, not the lab.
echo "scenario passt-stall"
$PANAVISOR run --kernel "$BZIMAGE" --initrd "$PROGRAMS_INITRD" --timeline --net user --exec \
    'wget -q -O /dev/null http://10.0.2.2:8081/small.bin && echo guest-ready; sleep 10; udp-send 10.0.2.2 9 4000 1400 &
sleep 15; d=$(ls /sys/bus/virtio/drivers/virtio_net | grep virtio); echo "unbinding $d"
echo "$d" > /sys/bus/virtio/drivers/virtio_net/unbind; echo unbound' > passt-stall.out 2> passt-stall.err < /dev/null &
vmm=$!
await_line guest-ready passt-stall.out 300 $vmm
pkill -STOP -x 'passt(\.avx2)?'
await_line unbinding passt-stall.out 120 $vmm
sleep 5
cp passt-stall.out passt-stall.before
start=$(date +%s%3N)
kill -TERM $vmm
( sleep 120; kill -KILL $vmm 2> /dev/null ) &
watchdog=$!
wait $vmm
echo $? > passt-stall.rc
echo $(( $(date +%s%3N) - start )) > passt-stall.ms
kill $watchdog 2> /dev/null
pkill -CONT -x 'passt(\.avx2)?'
pkill -x 'passt(\.avx2)?'
kill $user_httpd
wait $user_httpd 2> /dev/null
ip link del pvuplink
