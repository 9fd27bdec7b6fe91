# Cuts a trace of net-trace.sh into ping echoes (see there): one line per echo with each step in microseconds.
# An echo starts when L1 queues a 98-byte frame (an ICMP echo request) on the TAP, and its steps are the first of
# each event after the one before: a read(2) that returns 110 bytes (the frame and its 12-byte virtio-net
# header), KVM raising an interrupt line, a guest write of 1 (the transmit queue) to a QueueNotify register
# (offset 0x50), and L1 receiving a frame from the TAP.
function stamp(   i) {
    for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) return substr($i, 1, length($i) - 1) * 1e6
    return -1
}
/net_dev_queue: dev=pvtap0 .* len=98$/ { if (step == 0) { t0 = stamp(); step = 1 }; next }
step == 1 && /sys_read -> 0x6e$/ { t1 = stamp(); step = 2; next }
step == 2 && /kvm_set_irq: gsi [0-9]+ level 1|kvm_ioapic_set_irq:/ { t2 = stamp(); step = 3; next }
step == 3 && /kvm_mmio: mmio write len 4 gpa 0x[0-9a-f]*50 val 0x1$/ { t3 = stamp(); step = 4; next }
step == 4 && /netif_receive_skb: dev=pvtap0/ {
    t4 = stamp()
    printf "tap2read=%.0f read2irq=%.0f irq2kick=%.0f kick2host=%.0f total=%.0f\n",
        t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0
    step = 0
}
