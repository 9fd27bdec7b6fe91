#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host):
#   panavisor lab --no-project -- sh $PWD/tools/bench/idle-threads.sh DIR [ROUNDS] ["EXTRA_JVM_OPTIONS"]
# What an idle VMM costs, thread by thread: Panavisor (DIR's build, its jvm.options as JavaCommand gives them
# inside the lab) and QEMU microvm, each running `sleep 80` in the default guest, one after the other in each round.
# 25 s after the start (the guest has booted) and 40 s later each thread's /proc/PID/task/TID/schedstat is read: the
# difference is its CPU time (ns, exact, where the kernel accounts it: a vCPU thread's includes its guest's) and how
# often it was put on a CPU (its wake-ups, near enough). With EXTRA_JVM_OPTIONS, a second Panavisor arm (B) runs
# with them added, for an A/B of JVM options. docs/performance.md, "An idle VMM's threads".
set -uf
export LC_ALL=C # sort and join must agree on the order
d=$1; rounds=${2:-3}; extra=${3:-}
. "$(dirname "$0")/io-lib.sh"
guest_setup "$d" idle-threads
snap() { # PID: "tid name ns runs" per thread, sorted by tid for join
    set +f # the one glob here; JOPTS' patterns (jvm.options' CompileCommands) must not expand
    for t in /proc/$1/task/*; do
        printf '%s %s %s\n' "$(basename "$t")" "$(tr ' ' _ < "$t/comm")" "$(awk '{print $1, $3}' "$t/schedstat")"
    done | sort
    set -f
}
measure() { # ARM PID
    sleep 25; snap "$2" > "$w/a"; sleep 40; snap "$2" > "$w/b"
    join "$w/a" "$w/b" | awk -v arm="$1" '
        { ms = ($6 - $3) / 1e6; runs = $7 - $4; total += ms; wakeups += runs
          if (runs > 0) printf "  %-9s %-24s %8.1f ms %6d runs\n", arm, $2, ms, runs }
        END { printf "  %-9s %-24s %8.1f ms %6d runs in 40 s\n", arm, "TOTAL", total, wakeups }'
}
exec64=$(printf 'sleep 80' | base64)
i=1
while [ "$i" -le "$rounds" ]; do
    echo "round $i"
    for arm in panavisor ${extra:+panavisor-B} qemu; do
        case $arm in
            panavisor) $J $JOPTS $(launch "$d") run --kernel "$kernel" --initrd "$initrd" --exec 'sleep 80' \
                > "$w/out" 2>&1 < /dev/null & ;;
            panavisor-B) $J $JOPTS $extra $(launch "$d") run --kernel "$kernel" --initrd "$initrd" \
                --exec 'sleep 80' > "$w/out" 2>&1 < /dev/null & ;;
            qemu) qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu max -m 256 -smp 1 -nographic -no-reboot \
                -no-user-config -kernel "$kernel" -initrd "$initrd" \
                -append "console=ttyS0 reboot=t panic=-1 quiet panavisor.exec=$exec64" > "$w/out" 2>&1 < /dev/null & ;;
        esac
        pid=$!
        measure "$arm" "$pid"
        wait "$pid" || { echo "idle-threads: $arm ended with status $? (its last lines below)"; tail -5 "$w/out"; }
    done
    i=$((i + 1))
done
rm -rf "$w"
