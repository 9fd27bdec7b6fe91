#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host):
#   panavisor lab --no-project -- sh $PWD/tools/bench/start-threads.sh DIR [ROUNDS] ["EXTRA_JVM_OPTIONS"]
# What a start costs in CPU, thread by thread: whole runs of `run --exec true --boot-time` under Panavisor (DIR's
# build with its AOT cache, recorded first as users' is, and its jvm.options as JavaCommand gives them inside the
# lab) and under QEMU microvm with the same guest and command, alternating round by round, free memory cleared
# before each run. While a VMM runs, each thread's /proc/PID/task/TID/stat is read every 0.2 s and its last reading
# kept: user and system CPU time by thread name (a vCPU thread's user time includes its guest's; a thread's last
# 0.2 s or less can be missed). With EXTRA_JVM_OPTIONS, a second Panavisor arm (B) runs with them added, with its
# own AOT cache, for an A/B of JVM options. Ends with each arm's medians. A VMM that never ends holds the script:
# the lab's --timeout bounds it. docs/performance.md, "A start's CPU, thread by thread".
set -uf
export LC_ALL=C
d=$1; rounds=${2:-3}; extra=${3:-}
. "$(dirname "$0")/io-lib.sh"
guest_setup "$d" start-threads
poll() { # PID: "TID STAT-LINE" for each thread, every 0.2 s while the process lives
    while kill -0 "$1" 2>/dev/null; do
        set +f # the one glob here; JOPTS' patterns (jvm.options' CompileCommands) must not expand
        for t in /proc/$1/task/*; do read -r l 2>/dev/null < "$t/stat" && echo "${t##*/} $l"; done # a thread may end
        set -f
        sleep 0.2
    done
}
# Sums a poll's last reading per thread by name (digits at the end folded: vcpu-0 and vcpu-1 are "vcpu-#"):
# "ARM ROUND NAME USER_MS SYS_MS" lines, a TOTAL line among them. stat's comm is in parentheses and may hold
# spaces; utime and stime are the 12th and 13th fields after it, in clock ticks.
summarize() { # ARM ROUND FILE
    awk -v arm="$1" -v round="$2" -v hz="$(getconf CLK_TCK)" '
        { rest = $0; sub(/^[^(]*\(/, "", rest); name = rest; sub(/\)[^)]*$/, "", name); sub(/^.*\) /, "", rest)
          split(rest, f, " "); user[$1] = f[12]; sys[$1] = f[13]; gsub(/ /, "_", name); sub(/[0-9]+$/, "#", name)
          who[$1] = name }
        END { for (t in user) { u[who[t]] += user[t]; s[who[t]] += sys[t]; tu += user[t]; ts += sys[t] }
              for (n in u) if (u[n] + s[n] > 0) printf "%s %s %s %d %d\n", arm, round, n, u[n] * 1000 / hz,
                  s[n] * 1000 / hz
              printf "%s %s TOTAL %d %d\n", arm, round, tu * 1000 / hz, ts * 1000 / hz }' "$3"
}
record_cache() { # ARM EXTRA: a recording run as AotTraining's, with its flags (the system-call filter forbids the
    # JVM the recording starts, hence --no-seccomp here only)
    $J $JOPTS $2 $(aot_recording "$d") -XX:AOTCacheOutput="$w/$1.aot" -Xlog:aot*=error $(launch "$d") run \
        --no-seccomp --kernel "$kernel" --initrd "$initrd" --exec true --boot-time --timeline \
        > /dev/null 2>&1 < /dev/null
    [ -s "$w/$1.aot" ] || { echo "start-threads: recording the AOT cache for $1 failed" >&2; rm -rf "$w"; exit 1; }
}
record_cache panavisor ""
[ -z "$extra" ] || record_cache panavisor-B "$extra"
exec64=$(printf 'true' | base64)
i=1
while [ "$i" -le "$rounds" ]; do
    for arm in panavisor ${extra:+panavisor-B} qemu; do
        clear_free_memory "$d"
        start=$(date +%s%3N)
        case $arm in
            panavisor) $J $JOPTS -XX:AOTCache="$w/$arm.aot" $(launch "$d") run --kernel "$kernel" --initrd "$initrd" \
                --exec true --boot-time > "$w/out" 2>&1 < /dev/null & ;;
            panavisor-B) $J $JOPTS $extra -XX:AOTCache="$w/$arm.aot" $(launch "$d") run --kernel "$kernel" \
                --initrd "$initrd" --exec true --boot-time > "$w/out" 2>&1 < /dev/null & ;;
            qemu) qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu max -m 256 -smp 1 -nographic -no-reboot \
                -no-user-config -name qemu,debug-threads=on -kernel "$kernel" -initrd "$initrd" \
                -append "console=ttyS0 reboot=t panic=-1 quiet panavisor.exec=$exec64" > "$w/out" 2>&1 < /dev/null & ;;
        esac
        pid=$!
        poll "$pid" > "$w/stat"
        wait "$pid" || { echo "start-threads: $arm ended with status $? (its last lines below)"; tail -5 "$w/out"; }
        # WALL: start to the end as the poll saw it (up to 0.2 s late); BOOT: Panavisor's --boot-time (VMM start
        # to /init); QEMU has no such line.
        echo "$arm $i WALL $(( $(date +%s%3N) - start )) 0" >> "$w/all"
        boot=$(sed -n 's/.*boot time \([0-9.]*\) ms.*/\1/p' "$w/out" | head -1)
        [ -z "$boot" ] || echo "$arm $i BOOT ${boot%.*} 0" >> "$w/all"
        summarize "$arm" "$i" "$w/stat" | tee -a "$w/all" | sort -k4,4nr -k3 | head -8 | sed 's/^/  /'
    done
    i=$((i + 1))
done
echo "medians (ms; CPU = user + system; the lower middle value of an even count):"
for arm in panavisor ${extra:+panavisor-B} qemu; do
    for n in $(awk -v a="$arm" '$1 == a {print $3}' "$w/all" | sort -u); do
        awk -v a="$arm" -v n="$n" '$1 == a && $3 == n {print $4 + $5}' "$w/all" | sort -n |
            awk -v a="$arm" -v n="$n" '{v[NR] = $1} END {printf "  %-12s %-20s %6d  (%d rounds)\n", a, n,
                v[int((NR + 1) / 2)], NR}'
    done
done
rm -rf "$w"
