# Reads an L1 trace of one VM running sequential 1 MiB reads or writes (see blk-trace.sh) and prints one line per
# request cycle: from a queue notification (the guest's write to QueueNotify at kick, e.g. -v kick=0xd0000050) to the
# next.
# Fields, in microseconds (-1 where that event did not come):
#   k2wake   the kick to the first 8-byte read(2) that returns (an eventfd: Panavisor's worker, QEMU's main loop)
#   k2preadv the kick to the preadv(2) (or pwritev) that serves the request
#   preadv   the preadv itself: the copy between L1's page cache and guest memory
#   p2write  the preadv's end to the first 8-byte write(2) (an eventfd: Panavisor's irqfd, QEMU's completion)
#   p2irq    the preadv's end to KVM setting the interrupt line (kvm_set_irq or kvm_ioapic_set_irq)
#   p2kick   the preadv's end to the next kick: the interrupt, the guest's completion and its next request
#   cycle    one kick to the next
function stamp(    i, s) {
    for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { s = $i; sub(/:$/, "", s); return s * 1e6 }
    return -1
}
function emit(next_kick) {
    printf "k2wake=%.0f k2preadv=%.0f preadv=%.0f p2write=%.0f p2irq=%.0f p2kick=%.0f cycle=%.0f\n",
        (wake ? wake - kicked : -1), penter - kicked, pexit - penter, (wr ? wr - pexit : -1),
        (inj ? inj - pexit : -1), next_kick - pexit, next_kick - kicked
}
/kvm_mmio: mmio write/ && index($0, " gpa " kick " ") {
    t = stamp()
    if (kicked && pexit) emit(t)
    if (!kicked || pexit) { kicked = t; wake = 0; penter = 0; pexit = 0; wr = 0; inj = 0 }
    next
}
/sys_read -> 0x8$/ { if (kicked && !wake && !penter) wake = stamp(); next }
/sys_p(read|write)v\(/ { if (kicked && !penter) penter = stamp(); next }
/sys_p(read|write)v -> / { if (penter && !pexit) pexit = stamp(); next }
/sys_write\(/ && /count: 8\)/ { if (pexit && !wr) wr = stamp(); next }
/kvm_set_irq:|kvm_ioapic_set_irq:/ { if (pexit && !inj) inj = stamp(); next }
