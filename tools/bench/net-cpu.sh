#!/bin/sh
# usage (inside the nested lab, as root; or on a hardware-KVM host as root):
#   panavisor lab --no-project -- sh $PWD/tools/bench/net-cpu.sh PANAVISOR_DIR [ROUNDS] [OTHER_DIR]
# Who uses the CPU while 16 MiB cross the TAP link of tools/bench-net.sh each way, Panavisor against QEMU microvm
# (or, with OTHER_DIR, a second build of Panavisor: an A/B of a change), from L1's scheduler tracepoint. Each
# round runs each VMM once (the order alternates from round to round) with bench-net.sh's guest command: the guest
# fetches L1's file (host -> guest), then L1 fetches the guest's (guest -> host). For each direction the window
# runs over the large file's large frames (over 30,000 bytes, TCP segments of the offloads) crossing the TAP, and
# cpu-by-thread.awk gives the CPU time of the busiest threads in it and how often each went to sleep (a wake-up
# each), net-cpu.awk the guest's queue notifications, its interrupts, its exits to the VMM and the frames that
# crossed the TAP each way. QEMU runs with debug-threads=on, so that its threads have names too
# ("CPU 0/KVM" is its vCPU; its main loop keeps the process's name). The guest's own work is inside its VMM's vCPU
# thread. Panavisor runs as users run it (jvm.options, the lab's JIT).
set -u
a=$(cd "$1" && pwd); rounds=${2:-3}; b=${3:-}
[ -n "$b" ] && b=$(cd "$b" && pwd)
NET_MIB=16
here=$(cd "$(dirname "$0")" && pwd)
. "$here/io-lib.sh"
J=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
set -f # jvm.options has '*' in its CompileCommand patterns, and the options are expanded unquoted
default_guest "$a"
tracefs net-cpu sched
net_bench_setup "$a" net-cpu
run_panavisor() { # DIR NAME
    $J $(jvm_options "$1") $(launch "$1") run --kernel "$kernel" --initrd "$initrd" --net tap=$TAP \
        --cmdline "$GUEST_IP" --exec "$GUEST_COMMAND" > "$2.out" 2> "$2.err" < /dev/null
}
run_qemu() { # NAME
    qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu max -m 256 -smp 1 -nographic -no-reboot \
        -name bench,debug-threads=on -no-user-config -kernel "$kernel" -initrd "$initrd" \
        -append "console=ttyS0 quiet reboot=t $GUEST_IP panavisor.exec=$(printf '%s' "$GUEST_COMMAND" | base64 -w0)" \
        -netdev tap,id=n,ifname=$TAP,script=no,downscript=no \
        -device virtio-net-device,netdev=n,mac=02:70:76:00:00:01 > "$1.out" 2> "$1.err" < /dev/null
}
vmm() { # panavisor|other|qemu NAME
    case $1 in
        panavisor) run_panavisor "$a" "$2" ;;
        other) run_panavisor "$b" "$2" ;;
        qemu) run_qemu "$2" ;;
    esac
}
EVENTS="sched/sched_switch net/net_dev_queue net/netif_receive_skb
    kvm/kvm_mmio kvm/kvm_set_irq kvm/kvm_userspace_exit"
second=qemu; [ -n "$b" ] && second=other
i=1
while [ "$i" -le "$rounds" ]; do
    order="panavisor $second"; [ $((i % 2)) = 0 ] && order="$second panavisor"
    for v in $order; do
        name=$v$i
        echo > $T/trace
        for e in $EVENTS; do echo 1 > $T/events/$e/enable; done
        echo 1 > $T/tracing_on
        vmm $v $name &
        net_timed_run $name $!
        echo 0 > $T/tracing_on
        cat $T/trace > $name.trace
        # Host -> guest: L1 queueing large frames on the TAP; guest -> host: L1 receiving them from it.
        for d in h2g:net_dev_queue g2h:netif_receive_skb; do
            grep "${d#*:}: dev=$TAP " $name.trace | awk '{
                for (k = 1; k <= NF; k++) if ($k ~ /^len=/ && substr($k, 5) + 0 > 30000)
                    for (j = 1; j <= NF; j++) if ($j ~ /^[0-9]+\.[0-9]+:$/) print substr($j, 1, length($j) - 1) }' \
                > $name.${d%%:*}
            # The large file's transfer: from the last pause of over 0.2 s (the small file's went before it).
            window=$(awk 'NR == 1 || $1 - p > 0.2 { from = $1; n = 0 } { p = $1; n++ } END { print from, p, n }' \
                $name.${d%%:*})
            set -- $window
            [ $# = 3 ] || continue
            from=$1; to=$2
            echo "round $i $v ${d%%:*}: $3 large frames in" \
                "$(awk -v f="$from" -v t="$to" 'BEGIN { printf "%.0f", (t - f) * 1000 }') ms; CPU ms by thread:" \
                "$(awk -v from="$from" -v to="$to" -f "$here/cpu-by-thread.awk" $name.trace | sort -rn | head -6 |
                    tr '\n' ';')"
            awk -v from="$from" -v to="$to" -v tap="$TAP" -f "$here/net-cpu.awk" $name.trace
        done
        echo "round $i $v h2g_s=$H2G g2h_s=$G2H"
        if [ "$H2G" = "?" ] || [ "$G2H" = "?" ]; then # a run that gave no result shows why
            echo "  $v's output ends:"; tail -n 5 $name.out $name.err | sed 's/^/    /'
        fi
    done
    i=$((i + 1))
done
echo > $T/trace
net_teardown
echo "details: $WORK"
