#!/bin/sh
# usage (inside the nested lab, as root; or on a hardware-KVM host as root):
#   panavisor lab --no-project -- sh $PWD/tools/bench/net-trace.sh PANAVISOR_DIR [ROUNDS] [PINGS]
# Where one ping's round trip goes, Panavisor against QEMU microvm on the same TAP link (docs/network.md), seen from
# L1's kernel: the network stack's, KVM's and the system calls' tracepoints. Each round boots each VMM once,
# alternating, with the default guest idle (`sleep`) on the link of tools/bench-net.sh; L1 pings it PINGS times,
# 0.2 s apart, with tracing on, and net-trace.awk cuts each echo into steps:
#   tap2read   L1 queues the request on the TAP -> the VMM's read(2) of it returns
#   read2irq   -> KVM raises the card's interrupt line (irqfd or KVM_IRQ_LINE)
#   irq2kick   -> the guest's driver notifies the transmit queue with the reply (its interrupt handler and the
#                 ICMP stack ran meanwhile)
#   kick2host  -> L1's stack receives the reply from the TAP (the VMM took it from the queue and wrote it)
#   total      L1 queues the request -> L1 receives the reply
# and prints each step's median in microseconds. Panavisor runs as users run it (its jvm.options, the lab's JIT).
set -u
dir=$(cd "$1" && pwd); rounds=${2:-2}; pings=${3:-20}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/io-lib.sh"
J=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
set -f # jvm.options has '*' in its CompileCommand patterns
JOPTS=$(jvm_options "$dir")
default_guest "$dir"
tracefs net-trace kvm
net_bench_setup "$dir" net-trace
EVENTS="net/net_dev_queue net/netif_receive_skb syscalls/sys_exit_read kvm/kvm_set_irq kvm/kvm_mmio"
trace() { # 1|0
    for e in $EVENTS; do echo "$1" > $T/events/$e/enable; done
    echo "$1" > $T/tracing_on
}
idle='sleep 40'
panavisor() {
    $J $JOPTS $(launch "$dir") run --kernel "$kernel" --initrd "$initrd" --net tap=$TAP --cmdline "$GUEST_IP" \
        --exec "$idle"
}
qemu() {
    qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu max -m 256 -smp 1 -nographic -no-reboot \
        -no-user-config -kernel "$kernel" -initrd "$initrd" \
        -append "console=ttyS0 quiet reboot=t $GUEST_IP panavisor.exec=$(printf '%s' "$idle" | base64 -w0)" \
        -netdev tap,id=n,ifname=$TAP,script=no,downscript=no -device virtio-net-device,netdev=n,mac=02:70:76:00:00:01
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }
i=1
while [ "$i" -le "$rounds" ]; do
    for vmm in panavisor qemu; do
        $vmm > "$vmm$i.out" 2>&1 < /dev/null &
        pid=$!
        waited=0
        until busybox ping -c 1 -W 1 172.30.0.2 > /dev/null 2>&1 || [ $waited -ge 120 ]; do
            sleep 1; waited=$((waited + 1))
        done
        busybox ping -c 3 -i 0.2 172.30.0.2 > /dev/null 2>&1 # the first echoes: ARP, and code run once
        echo > $T/trace
        trace 1
        busybox ping -c "$pings" -i 0.2 172.30.0.2 > "$vmm$i.ping" 2>&1
        trace 0
        cat $T/trace > "$vmm$i.trace"
        kill "$pid" 2> /dev/null; wait "$pid" 2> /dev/null
        awk -f "$here/net-trace.awk" "$vmm$i.trace" > "$vmm$i.steps"
        line="round $i $vmm: $(grep -c total= "$vmm$i.steps") echoes; medians (us):"
        for f in tap2read read2irq irq2kick kick2host total; do
            line="$line $f=$(tr ' ' '\n' < "$vmm$i.steps" | sed -n "s/^$f=//p" | median)"
        done
        echo "$line; ping avg $(sed -n 's/.*min\/avg\/max = [0-9.]*\/\([0-9.]*\)\/.*/\1/p' "$vmm$i.ping") ms"
    done
    i=$((i + 1))
done
echo > $T/trace
net_teardown
echo "details: $WORK"
