#!/bin/sh
# virtio-net throughput and latency, Panavisor vs QEMU microvm, on the same TAP link, guest and guest command
# (docs/network.md, "Measured"). Runs where a hardware-style KVM is, as root (it creates the TAP):
#   ./panavisor lab -- sh tools/bench-net.sh [ROUNDS] [MIB]
# Each round boots each VMM once with the default guest and ip=; the guest times a download of an MIB-MiB file
# from busybox httpd on the host (host -> guest); the host then pings the guest and times a
# download of the guest's MIB-MiB file (guest -> host). Both sides use busybox's wget and httpd, so the tools are the
# same for both VMMs; only the VMM differs. Prints each run, then medians and panavisor/qemu ratios.
set -u
ROUNDS=${1:-3}
NET_MIB=${2:-16}
. "$(dirname "$0")/bench-lib.sh"
bench_setup bench-net
SCRIPTS=$root/src/test/resources/dev/panavisor/vmm
. "$SCRIPTS/net-lib.sh"
net_setup
b64=$(printf '%s' "$GUEST_COMMAND" | base64 -w0)
MAC=02:70:76:00:00:01

panavisor_run() { # NAME
    # --verbose: the features the guest's driver took are in NAME.err ("activated (DRIVER_OK), features 0x...").
    $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --net tap=$TAP --cmdline "$GUEST_IP" --verbose \
        --exec "$GUEST_COMMAND" > "$1.out" 2> "$1.err" < /dev/null
}

# QEMU's defaults for a TAP netdev: vnet_hdr on, so its virtio-net offers checksum and TSO offloads.
qemu_run() { # NAME [DEVICE-OPTIONS]
    qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu max -m 256 -smp 1 -nographic -no-reboot \
        -no-user-config -kernel "$BZIMAGE" -initrd "$INITRD" \
        -append "console=ttyS0 quiet reboot=t $GUEST_IP panavisor.exec=$b64" \
        -netdev tap,id=n,ifname=$TAP,script=no,downscript=no \
        -device "virtio-net-device,netdev=n,mac=$MAC${2:-}" > "$1.out" 2> "$1.err" < /dev/null
}

# QEMU with every offload off and no mergeable buffers: the frames Panavisor sent before it had offloads.
qemu_plain_run() { # NAME
    qemu_run "$1" ",csum=off,guest_csum=off,gso=off,host_tso4=off,host_tso6=off,host_ecn=off,host_ufo=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off,mrg_rxbuf=off"
}

measure() { # VMM NAME
    "$1_run" "$2" &
    net_timed_run "$2" $!
    hping=$(sed -n 's/.*round-trip min\/avg\/max = [0-9.]*\/\([0-9.]*\)\/.*/\1/p' "$2.ping")
    echo "$1 $2 h2g_s=$H2G g2h_s=$G2H host_ping_ms=${hping:-?}" | tee -a results.txt
}

round=1
while [ $round -le "$ROUNDS" ]; do
    measure panavisor "pv$round"
    measure qemu "qemu$round"
    measure qemu_plain "qemuplain$round"
    round=$((round + 1))
done

median() { # VMM FIELD
    grep "^$1 " results.txt | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
echo "medians over $ROUNDS rounds, $NET_MIB MiB each way (throughput MiB/s; ping ms):"
for vmm in panavisor qemu qemu_plain; do
    h2g=$(median $vmm h2g_s); g2h=$(median $vmm g2h_s)
    awk -v v=$vmm -v m="$NET_MIB" -v a="$h2g" -v b="$g2h" -v d="$(median $vmm host_ping_ms)" \
        'BEGIN { printf "  %-10s host->guest %7.2f MiB/s  guest->host %7.2f MiB/s  ping host->guest %s ms\n", v, (a > 0 ? m / a : 0), (b > 0 ? m / b : 0), d }'
done
for base in qemu qemu_plain; do
    awk -v p="$(median panavisor h2g_s)" -v q="$(median $base h2g_s)" -v r="$(median panavisor g2h_s)" -v s="$(median $base g2h_s)" \
        -v t="$(median panavisor host_ping_ms)" -v u="$(median $base host_ping_ms)" -v b=$base \
        'BEGIN { if (p > 0 && r > 0 && u > 0) printf "ratio host->guest panavisor/%s: %.2f\nratio guest->host panavisor/%s: %.2f\nratio ping-rtt panavisor/%s: %.2f\n", b, q / p, b, s / r, b, t / u }'
done
net_teardown
echo "details: $WORK"
