#!/bin/sh
# virtio-net throughput on passt (run --net user), Panavisor alone (docs/network.md, "Measured": a QEMU run on the
# same passt is still to be made to work). Runs where a hardware-style KVM is, as root (for the placeholder uplink):
#   ./panavisor lab -- sh tools/bench-passt.sh [ROUNDS] [MIB]
# Each round boots the default guest once: it times a download of an MIB-MiB file from busybox httpd on the
# host's 127.0.0.1:8081 (as 10.0.2.2:8081: host -> guest), then serves one that the host downloads through the
# published port 127.0.0.1:8082 (guest -> host). Prints each run, then the medians. Traffic stays on loopback and
# inside passt; nothing else is addressed.
set -u
ROUNDS=${1:-3}
MIB=${2:-16}
. "$(dirname "$0")/bench-lib.sh"
bench_setup bench-passt
# passt takes its template from the default route's interface: a placeholder TAP no one reads (TEST-NET-1,
# RFC 5737), as net-scenarios.sh does. Nothing is sent to it.
ip tuntap add pvuplink mode tap
ip addr add 192.0.2.2/24 dev pvuplink
ip link set pvuplink up
ip route add default via 192.0.2.1 dev pvuplink onlink
mkdir -p www
dd if=/dev/zero of=www/big.bin bs=1M count="$MIB" 2>/dev/null
cat > www/g.sh <<GUEST
up() { cut -d' ' -f1 /proc/uptime; }
t0=\$(up); wget -q -O /dev/null http://10.0.2.2:8081/big.bin && t1=\$(up) && echo "h2g-seconds \$t0 \$t1"
mkdir -p /tmp/www; dd if=/dev/zero of=/tmp/www/big.bin bs=1M count=$MIB 2>/dev/null
httpd -p 80 -h /tmp/www
echo guest-ready
until wget -q -O /dev/null http://10.0.2.2:8081/done 2>/dev/null; do sleep 1; done
GUEST
busybox httpd -f -p 127.0.0.1:8081 -h "$WORK/www" &
HTTPD=$!
GUEST_COMMAND='wget -q -O /tmp/g.sh http://10.0.2.2:8081/g.sh && sh /tmp/g.sh'

panavisor_run() { # NAME
    $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --net user --publish 8082:80 --exec "$GUEST_COMMAND" \
        > "$1.out" 2> "$1.err" < /dev/null
}

measure() { # VMM NAME
    "$1_run" "$2" &
    vmm=$!
    waited=0
    until grep -q guest-ready "$2.out" 2>/dev/null || [ $waited -ge 300 ]; do
        kill -0 $vmm 2> /dev/null || break
        sleep 1; waited=$((waited + 1))
    done
    t0=$(date +%s.%N)
    busybox wget -q -O /dev/null http://127.0.0.1:8082/big.bin && t1=$(date +%s.%N) && echo "$t0 $t1" > "$2.g2h"
    touch www/done
    wait $vmm
    rm -f www/done
    pkill -x 'passt(\.avx2)?'
    h2g=$(sed -n 's/.*h2g-seconds \([0-9.]*\) \([0-9.]*\).*/\1 \2/p' "$2.out" | awk '{ printf "%.3f", $2 - $1 }')
    g2h=$(awk '{ printf "%.3f", $2 - $1 }' "$2.g2h" 2>/dev/null)
    echo "$1 $2 h2g_s=${h2g:-?} g2h_s=${g2h:-?}" | tee -a results.txt
}

round=1
while [ $round -le "$ROUNDS" ]; do
    measure panavisor "pv$round"
    round=$((round + 1))
done

median() { # VMM FIELD
    grep "^$1 " results.txt | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
echo "medians over $ROUNDS rounds, $MIB MiB each way through passt (MiB/s):"
awk -v m="$MIB" -v a="$(median panavisor h2g_s)" -v b="$(median panavisor g2h_s)" \
    'BEGIN { printf "  panavisor  host->guest %7.2f MiB/s  guest->host %7.2f MiB/s\n", (a > 0 ? m / a : 0), (b > 0 ? m / b : 0) }'
kill $HTTPD
ip link del pvuplink
echo "details: $WORK"
