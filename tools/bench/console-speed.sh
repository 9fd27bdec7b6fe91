#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host):
#   panavisor lab --no-project -- tools/bench/console-speed.sh PANAVISOR_DIR [ROUNDS]
# Console throughput, Panavisor against QEMU microvm, same kernel and initramfs, one run: the time of
# `--exec true` and of `--exec 'seq 1 20000'` (129 KB of output). Panavisor three ways: with --tty on the 8250 and
# on the virtio console (the command's terminal is the console, so it writes line by line to it, as QEMU's guest
# below does on its 8250), and without --tty (run's default: the command's stdout is a pipe to a virtio-console
# port). The difference between the two commands is what printing costs. One line per measurement, then medians
# (over the measurements that ended with status 0; a failed one says so, with its last lines, and is left out).
set -u
dir=$1; rounds=${2:-3}
J=${JAVA_HOME:?needs JAVA_HOME (./panavisor sets it)}/bin/java
. "$(dirname "$0")/io-lib.sh"
set -f # jvm.options has '*' in its CompileCommand patterns, and the options are expanded unquoted
# Panavisor runs as JavaCommand starts it inside the lab: its jvm.options and the lab's JIT (jvm_options).
JOPTS="$(jvm_options "$dir") $(launch "$dir")"
paths=$($J $JOPTS image path)
kernel=$(echo "$paths" | awk '$1 == "bzImage:" {print $2}')
initrd=$(echo "$paths" | awk '$1 == "initramfs:" {print $2}')
SEQ='seq 1 20000'
b64() { printf '%s' "$1" | base64 -w0; }
ms() { date +%s%3N; }
pv() { # CONSOLE TTY(--tty or "") COMMAND
    $J $JOPTS run --kernel "$kernel" --initrd "$initrd" --console "$1" $2 --exec "$3" > /tmp/cs.out 2>&1 < /dev/null
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
    if [ "$rc" -eq 0 ]; then
        echo "$label $t" >> /tmp/cs.times
    else # left out of the medians; the VMM's own lines say why (a stalled guest: status 123 and where it stood)
        echo "$label: no result, left out of the medians; the run's last lines:"
        grep -a -v '^[0-9]*.$' /tmp/cs.out | tail -n 5 | sed 's/^/    /'
    fi
}
rm -f /tmp/cs.times
i=1
while [ $i -le "$rounds" ]; do
    measure "panavisor-serial-tty-true" pv serial --tty true
    measure "panavisor-serial-tty-seq" pv serial --tty "$SEQ"
    measure "panavisor-virtio-tty-true" pv virtio --tty true
    measure "panavisor-virtio-tty-seq" pv virtio --tty "$SEQ"
    measure "panavisor-port-true" pv serial "" true
    measure "panavisor-port-seq" pv serial "" "$SEQ"
    measure "qemu-serial-true" qemu true
    measure "qemu-serial-seq" qemu "$SEQ"
    i=$((i + 1))
done
echo "medians (ms):"
for label in panavisor-serial-tty-true panavisor-serial-tty-seq panavisor-virtio-tty-true \
        panavisor-virtio-tty-seq panavisor-port-true panavisor-port-seq qemu-serial-true qemu-serial-seq; do
    printf '%s %s\n' "$label" "$(grep "^$label " /tmp/cs.times | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
