#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host):
#   panavisor lab --no-project -- tools/bench/ab-builds.sh DIR_A DIR_B [ROUNDS] [SIZE_MIB]
# Two builds of Panavisor (two checkouts, each with target/panavisor.jar built), alternating run by run in one
# session, so a change is measured against its parent under the same load: the guest program of `bench io`
# (tools/bench/io-load.c) on one disk image (sequential read and write in 1 MiB blocks, 4 KiB random reads with 1
# and with 8 readers), and the 8250 console as the command's terminal (`seq 1 5000`, 34 KB, one exit per byte).
# Both builds boot DIR_A's default kernel and initramfs. One line per run, then the medians for A and B.
# Needs gcc and cpio on the host (for io-load and its initramfs).
set -u
a=$1; b=$2; rounds=${3:-3}; size=${4:-64}
J=${JAVA_HOME:?needs JAVA_HOME (./panavisor sets it)}/bin/java
JOPTS="--enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1"
w=$(mktemp -d /tmp/ab-builds.XXXXXX)
paths=$($J $JOPTS -jar "$a/target/panavisor.jar" image path)
kernel=$(echo "$paths" | awk '$1 == "bzImage:" {print $2}')
initrd=$(echo "$paths" | awk '$1 == "initramfs:" {print $2}')
mkdir -p "$w/root/bench"
gcc -static -O2 -o "$w/root/bench/io-load" "$a/tools/bench/io-load.c" || exit 1
# The kernel unpacks concatenated archives in turn: io-load's, then the default initramfs.
(cd "$w/root" && find bench | cpio -o -H newc --quiet) > "$w/initrd"
cat "$initrd" >> "$w/initrd"
dd if=/dev/zero of="$w/disk.img" bs=1M count="$size" status=none
io() { # DIR GUEST-COMMAND: prints io-load's result line
    $J $JOPTS -jar "$1/target/panavisor.jar" run --kernel "$kernel" --initrd "$w/initrd" --disk "$w/disk.img" \
        --exec "sync; echo 3 > /proc/sys/vm/drop_caches; $2" 2>&1 < /dev/null | grep -o 'io-load: .*'
}
console() { # DIR: prints the milliseconds of a run that prints 5,000 lines on the 8250
    s=$(date +%s%3N)
    $J $JOPTS -jar "$1/target/panavisor.jar" run --kernel "$kernel" --initrd "$initrd" --console serial --tty \
        --exec 'seq 1 5000' > "$w/console.out" 2>&1 < /dev/null
    echo "console-seq5000-ms=$(( $(date +%s%3N) - s )) lines=$(grep -c . "$w/console.out")"
}
i=1
while [ "$i" -le "$rounds" ]; do
    for test in "seqread $size" "seqwrite $size" "randread $size 5 1" "randread $size 5 8" console; do
        for build in A B; do
            dir=$a; [ "$build" = B ] && dir=$b
            if [ "$test" = console ]; then line=$(console "$dir"); else line=$(io "$dir" "/bench/io-load /dev/vda $test"); fi
            echo "round $i $build $test: $line"
            # MiB/s for sequential tests, operations per second for random reads, ms for the console.
            echo "$line" | awk -v k="$(echo "$test" | awk '{print $1 ($4 ? "-qd" $4 : "")}')-$build" '{
                for (n = 1; n <= NF; n++) { split($n, kv, "="); v[kv[1]] = kv[2] }
                if (k ~ /^console/) r = v["console-seq5000-ms"]
                else if (k ~ /^randread/) r = v["ops"] / v["seconds"]; else r = v["bytes"] / 1048576 / v["seconds"]
                printf "%s %.1f\n", k, r }' >> "$w/times"
        done
    done
    i=$((i + 1))
done
echo "medians (MiB/s; IOPS for randread; ms for console, lower is better):"
for k in $(awk '{print $1}' "$w/times" | sort -u); do
    printf '%s %s\n' "$k" "$(grep "^$k " "$w/times" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
rm -rf "$w"
