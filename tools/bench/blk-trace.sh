#!/bin/sh
# usage (inside the nested lab, as root; or on a hardware-KVM host as root):
#   panavisor lab --no-project -- sh $PWD/tools/bench/blk-trace.sh PANAVISOR_DIR [MIB] [ROUNDS] [seqread|seqwrite]
# Where a sequential 1 MiB O_DIRECT read's time goes, Panavisor against QEMU microvm, seen from L1's kernel: KVM's and
# the system calls' tracepoints (the guest's queue notification, eventfd reads and writes, preadv, the interrupt line)
# and the scheduler's (CPU time per thread). Each round boots each VMM once, alternating; the guest runs `io-load
# seqread MIB` (or seqwrite) twice (bench io's program, tools/bench/io-load.c) and the second pass is analysed:
# blk-trace.awk cuts it into request cycles, whose medians are printed, then cpu-by-thread.awk gives the CPU time of
# the busiest threads while it ran. QEMU runs as `bench io` starts it (cache=writeback, virtio-blk-device); Panavisor
# as ab-builds.sh does (PANAVISOR_DIR's jvm.options, the lab's JIT, no AOT cache).
set -u
dir=$1; mib=${2:-64}; rounds=${3:-3}; test=${4:-seqread}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/io-lib.sh"
io_setup "$dir" "$mib"
T=/sys/kernel/tracing
[ -d $T/events/kvm ] || mount -t tracefs none $T 2>/dev/null || true
[ -d $T/events/kvm ] || { echo "blk-trace: no KVM tracepoints in $T (needs root and tracefs)" >&2; exit 1; }
echo 131072 > $T/buffer_size_kb
EVENTS="sched/sched_switch kvm/kvm_mmio kvm/kvm_set_irq kvm/kvm_ioapic_set_irq syscalls/sys_enter_preadv
    syscalls/sys_exit_preadv syscalls/sys_enter_pwritev syscalls/sys_exit_pwritev syscalls/sys_exit_read
    syscalls/sys_enter_write"
trace() { # 1|0
    for e in $EVENTS; do echo "$1" > $T/events/$e/enable; done
    echo "$1" > $T/tracing_on
}
command="/bench/io-load /dev/vda $test $mib; /bench/io-load /dev/vda $test $mib"
panavisor() {
    $J $JOPTS -jar "$dir/target/panavisor.jar" run --kernel "$kernel" --initrd "$w/initrd" --disk "$w/disk.img" \
        --exec "$command"
}
qemu() {
    qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu max -m 256 -smp 1 -nographic -no-reboot \
        -no-user-config -kernel "$kernel" -initrd "$w/initrd" \
        -append "console=ttyS0 reboot=t panic=-1 quiet panavisor.exec=$(printf '%s' "$command" | base64 -w0)" \
        -drive id=d,file="$w/disk.img",format=raw,if=none,cache=writeback -device virtio-blk-device,drive=d
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }
stamp() { awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { sub(/:$/, "", $i); print $i } }'; }
i=1
while [ "$i" -le "$rounds" ]; do
    for vmm in panavisor qemu; do
        echo > $T/trace
        trace 1
        results=$($vmm < /dev/null 2>&1 | grep -o 'io-load: .*seconds=[0-9.]*' | sed 's/.*seconds=//' | tr '\n' ' ')
        trace 0
        cat $T/trace > "$w/trace"
        # The disk's QueueNotify: the busiest MMIO write address ending in 0x50.
        kick=$(grep 'kvm_mmio: mmio write' "$w/trace" | grep -o 'gpa 0x[0-9a-f]*50 ' | sort | uniq -c | sort -rn |
            awk 'NR == 1 { print $3 }')
        awk -v kick="$kick" -f "$here/blk-trace.awk" "$w/trace" | tail -n $((mib - 4)) > "$w/cycles"
        line="round $i $vmm: seconds per pass $results; medians (us):"
        for f in k2wake k2preadv preadv p2write p2irq p2kick cycle; do
            line="$line $f=$(tr ' ' '\n' < "$w/cycles" | sed -n "s/^$f=//p" | median)"
        done
        echo "$line"
        # The second pass: from the kick of its first request to its last.
        window=$(grep 'kvm_mmio: mmio write' "$w/trace" | grep " gpa $kick " | stamp | tail -n "$mib" | sed -n '1p;$p')
        span=$(echo $window | awk '{ printf "%.0f ms", ($2 - $1) * 1000 }')
        echo "  CPU ms by thread during the second pass ($span):" \
            "$(awk -v from="$(echo $window | cut -d' ' -f1)" -v to="$(echo $window | cut -d' ' -f2)" \
                -f "$here/cpu-by-thread.awk" "$w/trace" | sort -rn | head -5 | tr '\n' ';')"
    done
    i=$((i + 1))
done
echo > $T/trace
rm -rf "$w"
