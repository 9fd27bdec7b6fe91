#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host):
#   panavisor lab --no-project -- sh $PWD/tools/bench/ab-timeline.sh DIR_A DIR_B [ROUNDS] ["JVM_OPTS_A"] ["JVM_OPTS_B"]
# Start-up phases of two builds (two checkouts, each with target/panavisor.jar built), or of one build under two
# sets of extra JVM options (DIR_A = DIR_B): `run --exec true --timeline` boots, alternating run by run in one
# session, each side with an AOT cache recorded first with its own jar and options, as users run. Prints every
# run's timeline lines, then the median ms from process start of each phase for A and B. JAVA_A and JAVA_B, when
# set, are the java binaries of the two sides (two runtimes, one build); both default to $JAVA_HOME/bin/java. Before
# each run, free memory is cleared untimed (io-lib.sh's clear_free_memory).
set -u
a=$1; b=$2; rounds=${3:-5}; xa=${4:-}; xb=${5:-}
J=${JAVA_HOME:?needs JAVA_HOME (./panavisor sets it)}/bin/java
. "$(dirname "$0")/io-lib.sh"
JOPTS=$(jvm_options "$a") # as JavaCommand starts Panavisor's JVMs inside the lab
w=$(mktemp -d /tmp/ab-timeline.XXXXXX)
paths=$($J $JOPTS $(launch "$a") image path)
kernel=$(echo "$paths" | awk '$1 == "bzImage:" {print $2}')
initrd=$(echo "$paths" | awk '$1 == "initramfs:" {print $2}')
side() { # A|B: sets dir, extra and java
    if [ "$1" = A ]; then dir=$a; extra=$xa; java=${JAVA_A:-$J}; else dir=$b; extra=$xb; java=${JAVA_B:-$J}; fi
}
for s in A B; do
    side $s
    # A recording run writes the cache as it exits, starting a JVM, which the system-call filter forbids. It runs
    # what AotTraining's does, so each side's cache holds what a user's does.
    $java $JOPTS $extra $(aot_recording "$dir") -XX:AOTCacheOutput="$w/$s.aot" -Xlog:aot*=error \
        $(launch "$dir") run --no-seccomp --kernel "$kernel" --initrd "$initrd" --exec true --boot-time --timeline \
        > /dev/null 2>&1 < /dev/null
    [ -s "$w/$s.aot" ] || { echo "ab-timeline: recording the AOT cache for $s failed" >&2; exit 1; }
done
i=1
while [ "$i" -le "$rounds" ]; do
    for s in A B; do
        side $s
        clear_free_memory "$a"
        start=$(date +%s%3N)
        $java $JOPTS $extra -XX:AOTCache="$w/$s.aot" $(launch "$dir") run --kernel "$kernel" \
            --initrd "$initrd" --exec true --timeline > "$w/run.out" 2>&1 < /dev/null
        echo "round $i $s whole run $(( $(date +%s%3N) - start )) ms"
        grep 'timeline' "$w/run.out" | sed "s/^/round $i $s /" | tee -a "$w/$s.lines"
    done
    i=$((i + 1))
done
for s in A B; do
    echo "medians $s (ms from process start):"
    # "panavisor: timeline   1158.0 ms  JVM up (main entered)": the phase is everything after the "ms", less the
    # guest clock some phases carry.
    sed -e 's/.*timeline *\([0-9.]*\) ms  \(.*\)/\2|\1/' -e 's/ (guest clock [0-9.]* s)//' "$w/$s.lines" |
        sort -t'|' -k1,1 -k2,2n | awk -F'|' '
        { v[$1, ++n[$1]] = $2 }
        END { for (p in n) { m = n[p]
                  printf "  %8.0f  %s\n", (m % 2) ? v[p, (m + 1) / 2] : (v[p, m / 2] + v[p, m / 2 + 1]) / 2, p } }' |
        sort -n
done
