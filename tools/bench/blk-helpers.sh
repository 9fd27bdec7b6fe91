#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host):
#   panavisor lab --no-project -- tools/bench/blk-helpers.sh PANAVISOR_DIR [ROUNDS] [SIZE_MIB]
# virtio-blk with and without the device's helper threads (vmm/IoHelpers; -Dpanavisor.blk.helpers=0 turns them
# off), alternating in one session: the guest program of `bench io` (tools/bench/io-load.c) against one disk image,
# sequential read and write in 1 MiB blocks and 4 KiB random reads with 8 readers. Prints one line per run and
# the medians. Needs gcc and cpio on the host (for io-load and its initramfs).
set -u
dir=$1; rounds=${2:-3}; size=${3:-64}
J=${JAVA_HOME:?needs JAVA_HOME (./panavisor sets it)}/bin/java
jar=$dir/target/panavisor.jar
w=$(mktemp -d /tmp/blk-helpers.XXXXXX)
paths=$($J --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -jar "$jar" image path)
kernel=$(echo "$paths" | awk '$1 == "bzImage:" {print $2}')
initrd=$(echo "$paths" | awk '$1 == "initramfs:" {print $2}')
mkdir -p "$w/root/bench"
gcc -static -O2 -o "$w/root/bench/io-load" "$dir/tools/bench/io-load.c" || exit 1
# The kernel unpacks concatenated archives in turn: io-load's, then the default initramfs.
(cd "$w/root" && find bench | cpio -o -H newc --quiet) > "$w/initrd"
cat "$initrd" >> "$w/initrd"
dd if=/dev/zero of="$w/disk.img" bs=1M count="$size" status=none
pv() { # HELPERS GUEST-COMMAND
    $J --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 \
        -Dpanavisor.blk.helpers="$1" -jar "$jar" run --kernel "$kernel" --initrd "$w/initrd" \
        --disk "$w/disk.img" --exec "sync; echo 3 > /proc/sys/vm/drop_caches; $2" 2>&1 < /dev/null \
        | grep -o 'io-load: .*'
}
rm -f "$w/times"
i=1
while [ "$i" -le "$rounds" ]; do
    for test in "seqread $size" "seqwrite $size" "randread $size 5 8"; do
        for helpers in off on; do
            value=0; [ "$helpers" = on ] && value= # empty: the default count
            line=$(pv "$value" "/bench/io-load /dev/vda $test")
            echo "round $i helpers=$helpers $line"
            # MiB/s for sequential tests, operations per second for random reads.
            echo "$line" | awk -v k="${test%% *}-$helpers" '{
                for (n = 1; n <= NF; n++) { split($n, kv, "="); v[kv[1]] = kv[2] }
                if (k ~ /^randread/) r = v["ops"] / v["seconds"]; else r = v["bytes"] / 1048576 / v["seconds"]
                printf "%s %.1f\n", k, r }' >> "$w/times"
        done
    done
    i=$((i + 1))
done
echo "medians (MiB/s, or IOPS for randread):"
for k in $(awk '{print $1}' "$w/times" | sort -u); do
    printf '%s %s\n' "$k" "$(grep "^$k " "$w/times" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
rm -rf "$w"
