#!/bin/sh
# usage (inside the nested lab, as root; or on a hardware-KVM host as root):
#   panavisor lab --no-project -- sh $PWD/tools/bench/kvm-exits.sh PANAVISOR_DIR [ROUNDS] [boot|console] [OTHER_DIR]
# Where a VM's time goes, seen from the kernel that runs it: KVM's own tracepoints (kvm_entry, kvm_exit,
# kvm_userspace_exit, kvm_pio, kvm_mmio) recorded while Panavisor and QEMU microvm run the same kernel and
# initramfs, alternating, one lab session. Panavisor runs as users run it (jvm.options, the lab's JIT, an AOT cache
# recorded first); QEMU as `bench boot` starts it. The workload:
#   boot     `--exec true`, up to the init's boot marker (its write to port 0x440)
#   console  `seq 1 500` with the 8250 as the command's terminal (Panavisor: --console serial --tty), to the end
# For each run, kvm-exits.awk splits the time into the guest's own running, KVM handling exits in the kernel
# (nested page faults: first touches of guest memory), and the VMM handling exits in user space; then the medians,
# and the exits by reason and the dearest user-space exits of the last round. Each round's line also gives its
# first exit to user space (microseconds and kind). With OTHER_DIR, the second VMM is not QEMU but OTHER_DIR's
# Panavisor build ("other", with its own AOT cache): an A/B of two builds (docs/kvm-traces.md).
set -u
dir=$1; rounds=${2:-3}; workload=${3:-boot}; other=${4:-}
case $workload in
    boot) command=true; panavisor_console=""; to_end=0 ;;
    console) command='seq 1 500'; panavisor_console="--console serial --tty"; to_end=1 ;;
    *) echo "kvm-exits: unknown workload $workload (boot or console)" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
J=${JAVA_HOME:?needs JAVA_HOME (./panavisor sets it)}/bin/java
. "$here/io-lib.sh"
JOPTS=$(jvm_options "$dir")
w=$(mktemp -d /tmp/kvm-exits.XXXXXX)
paths=$($J $JOPTS -jar "$dir/target/panavisor.jar" image path)
kernel=$(echo "$paths" | awk '$1 == "bzImage:" {print $2}')
initrd=$(echo "$paths" | awk '$1 == "initramfs:" {print $2}')
T=/sys/kernel/tracing
[ -d $T/events/kvm ] || mount -t tracefs none $T 2>/dev/null || true
[ -d $T/events/kvm ] || { echo "kvm-exits: no KVM tracepoints in $T (needs root and tracefs)" >&2; exit 1; }
echo 65536 > $T/buffer_size_kb
EVENTS="kvm_entry kvm_exit kvm_userspace_exit kvm_pio kvm_mmio"
trace() { # 1|0
    for e in $EVENTS; do echo "$1" > $T/events/kvm/$e/enable; done
    echo "$1" > $T/tracing_on
}
panavisor() { # [BUILD_DIR AOT_NAME]
    $J $JOPTS -XX:AOTCache="$w/${2:-pv}.aot" -jar "${1:-$dir}/target/panavisor.jar" run --kernel "$kernel" \
        --initrd "$initrd" $panavisor_console --exec "$command"
}
other() {
    panavisor "$other" other
}
qemu() { # the machine and kernel parameters of `bench boot` (BenchBootCommand.qemu)
    qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu max -m 256 -smp 1 -nographic -no-reboot \
        -no-user-config -kernel "$kernel" -initrd "$initrd" \
        -append "console=ttyS0 reboot=t panic=-1 quiet panavisor.exec=$(printf '%s' "$command" | base64 -w0)"
}
vmms="panavisor qemu"
[ -n "$other" ] && vmms="panavisor other"
# A recording run writes the cache as it exits, starting a JVM, which the system-call filter forbids.
for build in "pv $dir" "other $other"; do
    set -- $build
    [ $# -eq 2 ] || continue
    $J $JOPTS $(aot_recording "$2") -XX:AOTCacheOutput="$w/$1.aot" -Xlog:aot*=error \
        -jar "$2/target/panavisor.jar" run --no-seccomp --kernel "$kernel" --initrd "$initrd" --exec true \
        > /dev/null 2>&1 < /dev/null
    [ -s "$w/$1.aot" ] || { echo "kvm-exits: recording the AOT cache for $2 failed" >&2; exit 1; }
done
i=1
while [ "$i" -le "$rounds" ]; do
    for vmm in $vmms; do
        echo > $T/trace
        trace 1
        s=$(date +%s%3N)
        $vmm > "$w/out" 2>&1 < /dev/null
        rc=$?; ms=$(( $(date +%s%3N) - s ))
        trace 0
        cat $T/trace > "$w/$vmm.trace"
        # KEEP=DIR keeps each trace, for a closer look (kvm-exits.awk -v each=1 lists every exit to user space).
        [ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$w/$vmm.trace" "$KEEP/$vmm-$i.trace"
        awk -v to_end=$to_end -f "$here/kvm-exits.awk" "$w/$vmm.trace" > "$w/$vmm-$i.split"
        first=$(awk -v to_end=$to_end -v each=1 -f "$here/kvm-exits.awk" "$w/$vmm.trace" |
            awk '$1 == "each" && $2 == 1 {print $4 " us " $5}')
        echo "round $i $vmm: rc=$rc whole run ${ms} ms; first exit ${first:-?};" \
            "$(grep '^split' "$w/$vmm-$i.split" | cut -d' ' -f2-)"
        grep '^split' "$w/$vmm-$i.split" | sed "s/^split/$vmm/" >> "$w/splits"
    done
    i=$((i + 1))
done
echo "medians in ms (all: from the VM's first exit, kernel: from the kernel's first exit; to the boot marker or, for"
echo "the console, the end):"
for vmm in $vmms; do
    line=$vmm
    for key in $(grep "^$vmm " "$w/splits" | head -1 | tr ' ' '\n' | sed -n 's/=.*//p'); do
        # The middle value; of an even count, the lower of the two middle ones.
        m=$(grep "^$vmm " "$w/splits" | tr ' ' '\n' | sed -n "s/^$key=//p" | sort -n |
            awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
        line="$line $key=$m"
    done
    echo "$line"
done
for vmm in $vmms; do
    echo "$vmm, round $rounds: exits by reason (count, ms in L1's kernel), then the dearest exits to user space:"
    grep '^exit ' "$w/$vmm-$rounds.split" | sort -k3 -rn | awk '{printf "  %-14s %6d %9.1f\n", $2, $3, $4}'
    grep '^user ' "$w/$vmm-$rounds.split" | sort -k4 -rn | head -8 | awk '{printf "  %-28s %6d %9.1f\n", $2, $3, $4}'
done
rm -rf "$w"
