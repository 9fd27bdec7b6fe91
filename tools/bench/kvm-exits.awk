# Reads an L1 trace of KVM's tracepoints (kvm_entry, kvm_exit, kvm_userspace_exit, kvm_pio, kvm_mmio; see
# kvm-exits.sh) for one VM and splits its time up to the init's boot marker (its write to port 0x440), or with
# -v to_end=1 up to the trace's last event.
# Two stretches: "all" starts at the VM's first exit (the VMM's firmware or loader, the kernel's decompressor);
# "kernel" at the first exit from the kernel proper (a rip in the kernel's text mapping, 0xffffffff8...).
# Each is cut into time in the guest (KVM_RUN entered to the next exit), in L1's kernel (an exit to the next
# entry, when KVM handled it itself) and in the VMM (an exit to user space to the next entry).
# npf is L1's time in nested page faults that KVM handled itself (mostly the guest's first touches of its memory;
# also MMIO that KVM emulates), npf_max the longest single one.
# Output: one line "split ..." of numbers, then "exit REASON COUNT MS" and "user KIND COUNT MS" lines. With
# -v each=1, first one line per exit to user space up to the boot marker (the marker's own exit, which ends the
# stretch, is not listed): "each N MS_FROM_FIRST_EVENT MICROSECONDS KIND".
function stamp(    i) {
    for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { ev = $(i + 1); at = i + 1; return $i + 0 }
    return -1
}
{ t = stamp() }
t < 0 || done { next }
!begun { begun = 1; t0 = t }
ev == "kvm_exit:" && !kernel && / rip 0xffffffff8/ { kernel = 1; k0 = t; kg = guest; kl = l1; ku = user; kn = nuser }
ev == "kvm_pio:" { what = $(at + 1) "@" $(at + 3) }              # "pio_write at 0x3f8 size 1 count 1 val 0x48"
# "mmio write len 4 gpa 0xd0000070 val 0xf": the register's page and the last byte of its offset hidden
ev == "kvm_mmio:" { what = "mmio_" $(at + 2) "@" substr($(at + 6), 1, length($(at + 6)) - 2) "xx" }
ev == "kvm_entry:" {
    if (state == "guest-exit") {
        l1 += t - since; l1_by[reason] += t - since
        if (reason == "npf" && t - since > npf_max) npf_max = t - since # the lab's stalls (docs/kvm-traces.md)
    }
    if (state == "user") {
        user += t - since; user_by[kind] += t - since; user_n[kind]++
        if (each) printf "each %d %.3f %.0f %s\n", nuser, (since - t0) * 1e3, (t - since) * 1e6, kind
    }
    state = "in-guest"; since = t
}
ev == "kvm_exit:" {
    if (state == "in-guest") guest += t - since
    for (j = at; j <= NF; j++) if ($j == "reason") { reason = $(j + 1); break }
    exits[reason]++; state = "guest-exit"; since = t; what = ""
}
ev == "kvm_userspace_exit:" {
    if (state == "guest-exit") { l1 += t - since; l1_by[reason] += t - since }
    kind = what == "" ? reason : what; state = "user"; since = t; nuser++
    if (what == "pio_write@0x440" && !to_end) { done = 1; t1 = t }
}
{ last = t }
END {
    if (to_end) t1 = last
    else if (!done) { print "no boot marker in the trace"; exit 1 }
    printf "split all=%.1f guest=%.1f l1=%.1f vmm=%.1f vmm_exits=%d kernel=%.1f kguest=%.1f kl1=%.1f kvmm=%.1f" \
        " kvmm_exits=%d npf=%.1f npf_max=%.1f\n", (t1 - t0) * 1e3, guest * 1e3, l1 * 1e3, user * 1e3, nuser,
        (t1 - k0) * 1e3, (guest - kg) * 1e3, (l1 - kl) * 1e3, (user - ku) * 1e3, nuser - kn, l1_by["npf"] * 1e3,
        npf_max * 1e3
    for (r in exits) printf "exit %s %d %.1f\n", r, exits[r], l1_by[r] * 1e3
    for (k in user_n) printf "user %s %d %.1f\n", k, user_n[k], user_by[k] * 1e3
}
