# What the guest asked of its VMM between two trace times (-v from=S -v to=S, seconds) of a net-cpu.sh trace: its
# notifications of the transmit queue (a write of 1 to a QueueNotify register, offset 0x50) and of the receive
# queue (a write of 0), the interrupts raised for it (KVM setting a line to 1: an irqfd or KVM_IRQ_LINE), and its
# exits that KVM handed to the VMM. A notification through an ioeventfd is counted too: KVM sees the write first.
# With -v tap=NAME, also the frames L1 queued on the TAP for the guest and those it received from the guest.
{
    t = -1
    for (k = 1; k <= NF; k++) if ($k ~ /^[0-9]+\.[0-9]+:$/) { t = substr($k, 1, length($k) - 1) + 0; break }
    if (t < from || t > to) next
}
/kvm_mmio: mmio write len 4 gpa 0x[0-9a-f]*50 val 0x1$/ { tx++ }
/kvm_mmio: mmio write len 4 gpa 0x[0-9a-f]*50 val 0x0$/ { rx++ }
/kvm_set_irq: gsi [0-9]+ level 1/ { irq++ }
/kvm_userspace_exit:/ { exits++ }
tap != "" && index($0, "net_dev_queue: dev=" tap " ") { toguest++ }
tap != "" && index($0, "netif_receive_skb: dev=" tap " ") { fromguest++ }
END {
    printf "    transmit kicks %d, receive kicks %d, interrupts %d, exits to the VMM %d", tx, rx, irq, exits
    if (tap != "") printf "; frames on the TAP: %d to the guest, %d from it", toguest, fromguest
    printf "\n"
}
