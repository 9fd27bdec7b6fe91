#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host, as root: it creates the TAP):
#   panavisor lab --no-project -- sh $PWD/tools/bench/ab-net.sh DIR_A DIR_B [ROUNDS] [MIB]
# virtio-net throughput of two builds of Panavisor (two checkouts, each with target/panavisor.jar built) on the same
# TAP link, alternating run by run in one session: the guest fetches an MIB-MiB file from busybox httpd in L1
# (host -> guest), then L1 fetches one from the guest (guest -> host), as tools/bench-net.sh does for Panavisor
# against QEMU (docs/network.md, "Measured"), and the host's 10 pings of the guest (round-trip average, ms). One
# line per run, then the medians for A and B.
set -u
a=$(cd "$1" && pwd); b=$(cd "$2" && pwd); ROUNDS=${3:-5}; NET_MIB=${4:-16}
J=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
. "$a/tools/bench/io-lib.sh"
set -f # jvm.options has '*' in its CompileCommand patterns, and the options are expanded unquoted
# Each build runs with its own jvm.options and the lab's JIT, as JavaCommand starts it inside the lab (jvm_options).
images=$($J $(jvm_options "$a") $(launch "$a") image path)
BZIMAGE=$(printf '%s\n' "$images" | sed -n 's/^bzImage: *\([^ ]*\).*/\1/p')
INITRD=$(printf '%s\n' "$images" | sed -n 's/^initramfs: *\([^ ]*\).*/\1/p')
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ab-net.XXXXXX")
cd "$WORK" || exit 1
SCRIPTS=$a/src/test/resources/dev/panavisor/vmm
. "$SCRIPTS/net-lib.sh"
net_setup
i=1
while [ "$i" -le "$ROUNDS" ]; do
    for build in A B; do
        dir=$a; [ "$build" = B ] && dir=$b
        name=r$i$build
        $J $(jvm_options "$dir") $(launch "$dir") run --kernel "$BZIMAGE" --initrd "$INITRD" --net tap=$TAP \
            --cmdline "$GUEST_IP" --exec "$GUEST_COMMAND" > "$name.out" 2> "$name.err" < /dev/null &
        net_timed_run "$name" $!
        ping_ms=$(sed -n 's/.*round-trip min\/avg\/max = [0-9.]*\/\([0-9.]*\)\/.*/\1/p' "$name.ping")
        echo "round $i $build h2g_s=$H2G g2h_s=$G2H host_ping_ms=${ping_ms:-?}" | tee -a results.txt
    done
    i=$((i + 1))
done
net_teardown
median() { # BUILD FIELD: median seconds
    grep " $1 " results.txt | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "medians over $ROUNDS rounds, $NET_MIB MiB each way (MiB/s, higher is better; ping ms, lower is better):"
for build in A B; do
    awk -v b=$build -v m="$NET_MIB" -v p="$(median $build h2g_s)" -v q="$(median $build g2h_s)" \
        -v r="$(median $build host_ping_ms)" \
        'BEGIN { printf "  %s host->guest %7.2f  guest->host %7.2f  ping %s\n", b, (p > 0 ? m / p : 0), (q > 0 ? m / q : 0), r }'
done
echo "details: $WORK"
