#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host):
#   panavisor lab --no-project -- sh $PWD/tools/bench/mem-smaps.sh DIR OUT [ROUNDS] [EXTRA_JVM_OPTIONS...]
# Where a running VMM's memory goes, mapping by mapping (docs/performance.md, "Where the VMM's memory goes"): DIR's
# build records an AOT cache with its options (jvm.options, the lab's JIT, EXTRA_JVM_OPTIONS), then runs
# `run --exec 'sleep 8' --stats` ROUNDS times (default 2) with it, copying the VMM's /proc/PID/smaps every second
# from its third; the last copy is kept as OUT.N.smaps, with OUT.N.status (/proc/PID/status) and OUT.N.out (the
# run's output: --stats' overhead line). smaps-by-mapping.awk then sums each mapping's pages:
#   awk -f tools/bench/smaps-by-mapping.awk OUT.1.smaps | sort -rn | head
set -u
dir=$1; out=$2; rounds=${3:-2}; shift 2; [ $# -gt 0 ] && shift; extra="$*"
J=${JAVA_HOME:?needs JAVA_HOME (./panavisor sets it)}/bin/java
. "$dir/tools/bench/io-lib.sh"
JOPTS=$(jvm_options "$dir")
default_guest "$dir"
w=$(mktemp -d /tmp/mem-smaps.XXXXXX)
set -f # jvm.options has '*' in its CompileCommand patterns, and the options are expanded unquoted
# A recording run writes the cache as it exits, starting a JVM, which the system-call filter forbids.
$J $JOPTS $extra $(aot_recording "$dir") -XX:AOTCacheOutput="$w/c.aot" -Xlog:aot*=error \
    $(launch "$dir") run --no-seccomp --kernel "$kernel" --initrd "$initrd" --exec true > /dev/null 2>&1 < /dev/null
[ -s "$w/c.aot" ] || { echo "mem-smaps: recording the AOT cache failed" >&2; exit 1; }
r=1
while [ "$r" -le "$rounds" ]; do
    $J $JOPTS $extra -XX:AOTCache="$w/c.aot" $(launch "$dir") run --kernel "$kernel" --initrd "$initrd" \
        --exec 'sleep 8' --stats > "$w/run.out" 2>&1 < /dev/null &
    pid=$!
    n=0
    while kill -0 $pid 2>/dev/null; do
        sleep 1
        n=$((n + 1))
        if [ $n -ge 3 ] && cat /proc/$pid/smaps > "$w/s.tmp" 2>/dev/null && [ -s "$w/s.tmp" ]; then
            cp "$w/s.tmp" "$out.$r.smaps"
            cat /proc/$pid/status > "$out.$r.status" 2>/dev/null
        fi
    done
    wait $pid
    cp "$w/run.out" "$out.$r.out"
    grep 'VMM overhead' "$out.$r.out"
    r=$((r + 1))
done
