#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host):
#   panavisor lab --no-project -- tools/bench/console-speed.sh PANAVISOR_DIR [ROUNDS]
# Console throughput, Panavisor against QEMU microvm, same kernel and initramfs, one run: the time of
# `--exec true` and of `--exec 'seq 1 20000'` (129 KB of output). Panavisor three ways: with --tty on the 8250 and
# on the virtio console (the command's terminal is the console, so it writes line by line to it, as QEMU's guest
# below does on its 8250), and without --tty (run's default: the command's stdout is a pipe to a virtio-console
# port). The difference between the two commands is what printing costs. On the port the cost of 129 KB is below
# what two boots differ by, so that path also prints `seq 1 400000` (2,688,895 bytes), and its rate is compared with
# the 8250's. One line per measurement, then medians (over the measurements that ended with status 0; a failed one
# says so, with its last lines, and is left out), then each round's printing costs and rates, and two ratios,
# medians over the rounds that have both their measurements (the mean of the two middle rounds for an even count,
# where the per-label medians above take the lower one):
#   ratio 8250 printing time panavisor/qemu: X       (issue 9's goal: <= 1)
#   ratio port rate / panavisor 8250 rate: Y          (issue 9's goal: >= 100)
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
BIG='seq 1 400000'
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
        echo "$label $t $i" >> /tmp/cs.times
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
    measure "panavisor-port-big" pv serial "" "$BIG"
    measure "qemu-serial-true" qemu true
    measure "qemu-serial-seq" qemu "$SEQ"
    i=$((i + 1))
done
echo "medians (ms):"
for label in panavisor-serial-tty-true panavisor-serial-tty-seq panavisor-virtio-tty-true \
        panavisor-virtio-tty-seq panavisor-port-true panavisor-port-seq panavisor-port-big qemu-serial-true \
        qemu-serial-seq; do
    printf '%s %s\n' "$label" "$(grep "^$label " /tmp/cs.times | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
# Each round's costs: seq minus true within the round; the 8250 as a terminal carries 128,894 bytes (ONLCR adds a
# CR to each of the 108,894 bytes' 20,000 lines), the port 2,688,895.
awk '{ t[$1, $3] = $2; if ($3 > n) n = $3 }
function median(a, k,   i, j, x) {
    for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
END {
    nr = 0; np = 0
    for (r = 1; r <= n; r++) {
        line = ""
        p = ""; q = ""; b = ""
        if ((("panavisor-serial-tty-seq", r) in t) && (("panavisor-serial-tty-true", r) in t))
            p = t["panavisor-serial-tty-seq", r] - t["panavisor-serial-tty-true", r]
        if ((("qemu-serial-seq", r) in t) && (("qemu-serial-true", r) in t))
            q = t["qemu-serial-seq", r] - t["qemu-serial-true", r]
        if ((("panavisor-port-big", r) in t) && (("panavisor-port-true", r) in t))
            b = t["panavisor-port-big", r] - t["panavisor-port-true", r]
        if (p != "" && p <= 0) p = ""
        if (q != "" && q <= 0) q = ""
        if (p != "") line = sprintf("panavisor 8250 %.1f s (%.2f KB/s)", p / 1000, 128.894 / (p / 1000))
        if (q != "") line = line (line == "" ? "" : ", ") sprintf("qemu 8250 %.1f s", q / 1000)
        if (p != "" && q != "") { nr++; ratio[nr] = p / q; line = line sprintf(" (ratio %.2f)", p / q) }
        if (b != "" && b > 0) {
            line = line (line == "" ? "" : ", ") sprintf("port 2,688,895 bytes in %.1f s (%.1f KB/s", b / 1000, \
                2688.895 / (b / 1000))
            if (p != "") {
                np++; rate[np] = (2688.895 / b) / (128.894 / p)
                line = line sprintf(", %.0fx the 8250", rate[np])
            }
            line = line ")"
        }
        print "round " r ": " (line == "" ? "no result" : line)
    }
    if (nr > 0) printf "ratio 8250 printing time panavisor/qemu: %.2f\n", median(ratio, nr)
    if (np > 0) printf "ratio port rate / panavisor 8250 rate: %.0f\n", median(rate, np)
}' /tmp/cs.times
