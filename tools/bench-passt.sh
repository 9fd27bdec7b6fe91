#!/bin/sh
# virtio-net throughput on passt (run --net user), Panavisor against QEMU microvm, each on a passt of its own started
# the same way (docs/network.md, "Measured"). Runs where a hardware-style KVM is, as root (for the placeholder uplink):
#   ./panavisor lab -- sh tools/bench-passt.sh [ROUNDS] [MIB]
# Each round boots the default guest once under each VMM, alternating: it times a download of an MIB-MiB file from
# busybox httpd on the host's 127.0.0.1:8081 (as 10.0.2.2:8081: host -> guest), then serves one that the host
# downloads through the published port 127.0.0.1:8082 (guest -> host). Prints each run, the medians and the ratios.
# Traffic stays on loopback and inside passt; nothing else is addressed.
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

# QEMU on a passt started with PasstNetwork's arguments, through QEMU's stream netdev (QEMU 7.2 and later). The socket
# lies in a directory of its own under /tmp, handed to nobody (passt, started as root, becomes nobody before it writes
# anything there): inside the lab a UNIX socket on the 9p-shared work directory cannot be connected to, and QEMU
# then shows the guest a link without carrier.
qemu_run() { # NAME
    qp=$(mktemp -d /tmp/bench-passt-qemu.XXXXXX)
    chown nobody "$qp"
    passt --foreground --stderr --quiet --one-off --ipv4-only --socket "$qp/passt.socket" --address 10.0.2.15 \
        --netmask 24 --gateway 10.0.2.2 --mtu 1500 --tcp-ports 8082:80 > "$1.passt" 2>&1 &
    waited=0
    until [ -S "$qp/passt.socket" ] || [ $waited -ge 50 ]; do sleep 0.2; waited=$((waited + 1)); done
    qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu max -m 256 -smp 1 -nographic -no-reboot \
        -no-user-config -kernel "$BZIMAGE" -initrd "$INITRD" \
        -append "console=ttyS0 quiet reboot=t ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off panavisor.exec=$(
            printf '%s' "$GUEST_COMMAND" | base64 -w0)" \
        -netdev stream,id=n,server=off,addr.type=unix,addr.path="$qp/passt.socket" \
        -device virtio-net-device,netdev=n,mac=02:70:76:00:00:02 > "$1.out" 2> "$1.err" < /dev/null
    rm -rf "$qp"
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
    # timeout 60: a transfer that stalls (QEMU 7.2 on passt, docs/network.md) ends the round without a figure.
    timeout 60 busybox wget -q -O /dev/null http://127.0.0.1:8082/big.bin && t1=$(date +%s.%N) &&
        echo "$t0 $t1" > "$2.g2h"
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
    measure qemu "qemu$round"
    round=$((round + 1))
done

median() { # VMM FIELD
    grep "^$1 " results.txt | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
echo "medians over $ROUNDS rounds, $MIB MiB each way through passt (MiB/s):"
for vmm in panavisor qemu; do
    awk -v v=$vmm -v m="$MIB" -v a="$(median $vmm h2g_s)" -v b="$(median $vmm g2h_s)" \
        'BEGIN { printf "  %-10s host->guest %7.2f MiB/s  guest->host %7.2f MiB/s\n", v, (a > 0 ? m / a : 0),
            (b > 0 ? m / b : 0) }'
done
awk -v p="$(median panavisor h2g_s)" -v q="$(median qemu h2g_s)" -v r="$(median panavisor g2h_s)" \
    -v s="$(median qemu g2h_s)" 'BEGIN { if (p > 0 && q > 0) printf "ratio host->guest panavisor/qemu: %.2f\n", q / p
        if (r > 0 && s > 0) printf "ratio guest->host panavisor/qemu: %.2f\n", s / r }'
kill $HTTPD
ip link del pvuplink
echo "details: $WORK"
