# Shared by net-scenarios.sh (the Linux boot lab session) and tools/bench-net.sh (Panavisor vs QEMU): one TAP
# link between L1 (172.30.0.1, busybox httpd on port 8080 serving $WORK/www) and the guest (172.30.0.2, from the
# kernel's ip= parameter). Traffic stays on that link; nothing else is addressed. Needs WORK, SCRIPTS (where the
# guest's half, net-guest.sh, is) and optionally NET_MIB (size of the large file timed each way, default 8).
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
    ip link del "$TAP" 2> /dev/null
    ip tuntap add "$TAP" mode tap
    ip addr add 172.30.0.1/24 dev "$TAP"
    ip link set "$TAP" up
    mkdir -p "$WORK/www"
    head -c 262144 /dev/urandom > "$WORK/www/small.bin"
    dd if=/dev/zero of="$WORK/www/big.bin" bs=1M count="$NET_MIB" 2>/dev/null
    sed "s/@MIB@/$NET_MIB/" "$SCRIPTS/net-guest.sh" > "$WORK/www/g.sh"
    rm -f "$WORK/www/done"
    busybox httpd -f -p 172.30.0.1:8080 -h "$WORK/www" &
    NET_HTTPD=$!
}

net_teardown() {
    kill "$NET_HTTPD"
    wait "$NET_HTTPD" 2> /dev/null
    ip link del "$TAP"
}

# Waits until FILE has a line matching PATTERN; returns 1 if SECONDS pass or process PID ends first.
await_line() { # PATTERN FILE SECONDS PID
    ticks=0
    until grep -q "$1" "$2" 2>/dev/null; do
        if [ $ticks -ge $(($3 * 5)) ] || ! kill -0 "$4" 2> /dev/null; then
            return 1
        fi
        sleep 0.2; ticks=$((ticks + 1))
    done
}

# The host's half, while NAME's guest (VMM process PID) runs: once it is ready, ping it, fetch its small file and
# time its large one. A VMM that ended before its guest was ready gets nothing.
net_host_side() { # NAME PID
    name=$1
    await_line guest-ready "$name.out" 300 "$2" || return 0
    busybox ping -c 10 -i 0.2 172.30.0.2 > "$name.ping" 2>&1
    busybox wget -q -O "$name.small" http://172.30.0.2/small.bin
    t0=$(date +%s.%N)
    busybox wget -q -O /dev/null http://172.30.0.2/big.bin && t1=$(date +%s.%N) && echo "g2h-seconds $t0 $t1" > "$name.g2h"
    touch "$WORK/www/done"
}

# The whole host side of one timed run: NAME's VMM (process PID) is running the guest command below. Sets H2G and
# G2H to the seconds each transfer took ("?" when the run gave none).
net_timed_run() { # NAME PID
    net_host_side "$1" "$2"
    wait "$2"
    rm -f "$WORK/www/done"
    H2G=$(sed -n 's/.*h2g-seconds \([0-9.]*\) \([0-9.]*\).*/\1 \2/p' "$1.out" | awk '{ printf "%.3f", $2 - $1 }')
    G2H=$(awk '{ printf "%.3f", $3 - $2 }' "$1.g2h" 2>/dev/null)
    H2G=${H2G:-?}; G2H=${G2H:-?}
}

GUEST_COMMAND='wget -q -O /tmp/g.sh http://172.30.0.1:8080/g.sh && sh /tmp/g.sh'

