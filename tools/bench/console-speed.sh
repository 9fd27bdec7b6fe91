#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host):
#   panavisor lab --no-project -- tools/bench/console-speed.sh PANAVISOR_DIR [ROUNDS]
# Console throughput, Panavisor against QEMU microvm, same kernel and initramfs, one run: the time of
# `--exec true` and of `--exec 'seq 1 20000'` (129 KB of output), on the 8250 and (Panavisor) the virtio console.
# The difference between the two is what printing costs. Prints one line per measurement, medians at the end.
set -u
dir=$1; rounds=${2:-3}
J=${JAVA_HOME:?needs JAVA_HOME (./panavisor sets it)}/bin/java
jar=$dir/target/panavisor.jar
paths=$($J --enable-native-access=ALL-UNNAMED -jar "$jar" image path)
kernel=$(echo "$paths" | awk '$1 == "bzImage:" {print $2}')
initrd=$(echo "$paths" | awk '$1 == "initramfs:" {print $2}')
SEQ='seq 1 20000'
b64() { printf '%s' "$1" | base64 -w0; }
ms() { date +%s%3N; }
pv() { # CONSOLE COMMAND
    $J --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -jar "$jar" run --kernel "$kernel" \
        --initrd "$initrd" --console "$1" --exec "$2" > /tmp/cs.out 2>&1 < /dev/null
}
qemu() { # COMMAND
    qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu max -m 256 -smp 1 -nographic -no-reboot \
        -no-user-config -kernel "$kernel" -initrd "$initrd" \
        -append "console=ttyS0 reboot=t panic=-1 quiet panavisor.exec=$(b64 "$1")" > /tmp/cs.out 2>&1 < /dev/null
}
measure() { # LABEL FUNCTION ARGS...
    label=$1; shift
    s=$(ms); "$@"; rc=$?; t=$(( $(ms) - s ))
    lines=$(grep -c . /tmp/cs.out)
    echo "$label ${t} ms rc=$rc lines=$lines"
    echo "$label $t" >> /tmp/cs.times
}
rm -f /tmp/cs.times
i=1
while [ $i -le "$rounds" ]; do
    measure "panavisor-serial-true" pv serial true
    measure "panavisor-serial-seq" pv serial "$SEQ"
    measure "panavisor-virtio-true" pv virtio true
    measure "panavisor-virtio-seq" pv virtio "$SEQ"
    measure "qemu-serial-true" qemu true
    measure "qemu-serial-seq" qemu "$SEQ"
    i=$((i + 1))
done
echo "medians (ms):"
for label in panavisor-serial-true panavisor-serial-seq panavisor-virtio-true panavisor-virtio-seq \
        qemu-serial-true qemu-serial-seq; do
    printf '%s %s\n' "$label" "$(grep "^$label " /tmp/cs.times | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
