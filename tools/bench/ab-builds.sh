#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host):
#   panavisor lab --no-project -- tools/bench/ab-builds.sh DIR_A DIR_B [ROUNDS] [SIZE_MIB] [TESTS]
# Two builds of Panavisor (two checkouts, each with target/panavisor.jar built), alternating run by run in one
# session, so a change is measured against its parent under the same load; each runs with its own jvm.options. TESTS (quoted, space-separated; default
# all but boot) chooses among:
#   seqread seqwrite randread1 randread8  the guest program of `bench io` (tools/bench/io-load.c) on one disk
#                     image: sequential read and write in 1 MiB blocks (MiB/s), 4 KiB random reads with 1 and with
#                     8 readers (IOPS)
#   console           the 8250 console as the command's terminal, `seq 1 5000` (34 KB, an exit per byte): ms
#   boot              `run --exec true --timeline`: the whole run (boot-ms) and the guest's own part, from the first
#                     KVM_RUN to the init's boot marker (guest-ms)
# Both builds boot DIR_A's default kernel and initramfs; before each run, free memory is cleared untimed (io-lib.sh's
# clear_free_memory). One line per run (an I/O run with its exit count, or, if it failed, its status and last
# lines), then the medians for A and B.
# Needs gcc and cpio on the host (for io-load and its initramfs).
set -u
a=$1; b=$2; rounds=${3:-3}; size=${4:-64}; tests=${5:-seqread seqwrite randread1 randread8 console}
. "$(dirname "$0")/io-lib.sh"
io_setup "$a" "$size"
pv() { # DIR ARGS...: runs DIR's build with its own JVM options
    d=$1; shift
    $J $(jvm_options "$d") $(launch "$d") "$@"
}
io() { # DIR GUEST-COMMAND: prints io-load's result line and the run's exits, or why there is none
    out=$(pv "$1" run --exit-stats --kernel "$kernel" --initrd "$w/initrd" --disk "$w/disk.img" \
        --exec "sync; echo 3 > /proc/sys/vm/drop_caches; $2" 2>&1 < /dev/null)
    rc=$?
    line=$(echo "$out" | grep -o 'io-load: .*')
    if [ -n "$line" ]; then
        echo "$line [$(echo "$out" | grep -m1 'exits;' | cut -d';' -f1)]"
    else # a run that failed shows its status and last lines, so it explains itself
        echo "FAILED status=$rc: $(echo "$out" | tail -n 8 | tr '\n' '|')"
    fi
}
console() { # DIR: prints the milliseconds of a run that prints 5,000 lines on the 8250
    s=$(date +%s%3N)
    pv "$1" run --kernel "$kernel" --initrd "$initrd" --console serial --tty \
        --exec 'seq 1 5000' > "$w/console.out" 2>&1 < /dev/null
    rc=$?
    lines=$(grep -c . "$w/console.out")
    echo "ms=$(( $(date +%s%3N) - s )) lines=$lines rc=$rc"
    # Rarely a run has shown fewer than the 5,001 lines (docs/performance.md, "Consoles"): keep such a run's output.
    [ "$lines" = 5001 ] || cp "$w/console.out" "./ab-builds-console-$(date +%s).out"
}
boot() { # DIR: prints the run's milliseconds and the guest's, from the timeline
    s=$(date +%s%3N)
    pv "$1" run --kernel "$kernel" --initrd "$initrd" --exec true --timeline \
        > "$w/boot.out" 2>&1 < /dev/null
    t=$(( $(date +%s%3N) - s ))
    guest=$(awk '/timeline .* ms  first KVM_RUN/ {f = $3} /timeline .* ms  init.s boot marker/ {m = $3}
        END {if (f != "" && m != "") printf "%.0f", m - f; else print "none"}' "$w/boot.out")
    echo "ms=$t guest-ms=$guest"
}
i=1
while [ "$i" -le "$rounds" ]; do
    for test in $tests; do
        for build in A B; do
            dir=$a; [ "$build" = B ] && dir=$b
            clear_free_memory "$a"
            case $test in
                console) line=$(console "$dir") ;;
                boot) line=$(boot "$dir") ;;
                seqread|seqwrite) line=$(io "$dir" "/bench/io-load /dev/vda $test $size") ;;
                randread*) line=$(io "$dir" "/bench/io-load /dev/vda randread $size 5 ${test#randread}") ;;
                *) echo "ab-builds: unknown test $test" >&2; exit 2 ;;
            esac
            echo "round $i $build $test: $line"
            io_record "$test-$build" "$line"
            # A run whose timeline lacks a phase (a failed boot) gives no guest figure rather than a zero.
            case $line in *guest-ms=none*|"") ;; *) [ "$test" = boot ] && io_record "guest-$build" \
                "$(echo "$line" | sed 's/.*guest-ms=/ms=/')" ;; esac
        done
    done
    i=$((i + 1))
done
echo "medians (MiB/s for seq*; IOPS for randread*; ms for console, boot and guest, lower is better):"
io_medians
rm -rf "$w"
