#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host):
#   panavisor lab --no-project --workdir OUT -- sh $PWD/tools/bench/dmesg-boots.sh PANAVISOR_DIR OUT [ROUNDS]
#   python3 tools/bench/dmesg-align.py OUT
# Quiet boots of Panavisor and QEMU microvm, alternating, each printing its kernel log and interrupt counts at the
# end (`dmesg; cat /proc/interrupts`, so the console does not slow the boot). The logs go to OUT/P<n>.txt and
# OUT/Q<n>.txt; dmesg-align.py lines them up. Panavisor runs as users run it (jvm.options, the lab's JIT, an AOT
# cache recorded first); QEMU as `bench boot` starts it.
set -u
dir=$1; out=$2; rounds=${3:-5}
J=${JAVA_HOME:?needs JAVA_HOME (./panavisor sets it)}/bin/java
. "$(dirname "$0")/io-lib.sh"
JOPTS=$(jvm_options "$dir")
w=$(mktemp -d /tmp/dmesg-boots.XXXXXX)
paths=$($J $JOPTS -jar "$dir/target/panavisor.jar" image path)
kernel=$(echo "$paths" | awk '$1 == "bzImage:" {print $2}')
initrd=$(echo "$paths" | awk '$1 == "initramfs:" {print $2}')
command='dmesg; cat /proc/interrupts'
# A recording run writes the cache as it exits, starting a JVM, which the system-call filter forbids.
$J $JOPTS $(aot_recording "$dir") -XX:AOTCacheOutput="$w/pv.aot" -Xlog:aot*=error \
    -jar "$dir/target/panavisor.jar" run --no-seccomp --kernel "$kernel" --initrd "$initrd" --exec true \
    > /dev/null 2>&1 < /dev/null
mkdir -p "$out"
i=1
while [ "$i" -le "$rounds" ]; do
    $J $JOPTS -XX:AOTCache="$w/pv.aot" -jar "$dir/target/panavisor.jar" run --kernel "$kernel" --initrd "$initrd" \
        --exec "$command" --show-console > "$out/P$i.txt" 2>&1 < /dev/null
    qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu max -m 256 -smp 1 -nographic -no-reboot \
        -no-user-config -kernel "$kernel" -initrd "$initrd" \
        -append "console=ttyS0 reboot=t panic=-1 quiet panavisor.exec=$(printf '%s' "$command" | base64 -w0)" \
        > "$out/Q$i.txt" 2>&1 < /dev/null
    banner() { grep -o 'booted in [0-9.]* s' "$1"; }
    echo "round $i: panavisor $(banner "$out/P$i.txt"), qemu $(banner "$out/Q$i.txt")"
    i=$((i + 1))
done
rm -rf "$w"
