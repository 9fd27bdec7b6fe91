/*
 * Baseline for Panavisor's exit benchmark: the same tiny guest as TinyPrograms.portWrites(count), run by the
 * smallest possible C loop around KVM_RUN. Panavisor's Java run loop is compared against this in the same run
 * (see `panavisor bench exits` and docs/performance.md).
 *
 * Build: gcc -O2 -o exit-loop exit-loop.c        Run: ./exit-loop COUNT
 * Prints: exits=<n> seconds=<s>
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
    perror(what);
    exit(1);
}

int main(int argc, char **argv) {
    uint32_t count = argc > 1 ? (uint32_t) strtoul(argv[1], NULL, 0) : 100000;
    /* mov ecx, count; mov dx, 0x10; next: out dx, al; loop next (ECX); hlt */
    uint8_t code[] = {0x66, 0xb9, count & 0xff, (count >> 8) & 0xff, (count >> 16) & 0xff, count >> 24,
                      0xba, 0x10, 0x00, 0xee, 0x67, 0xe2, 0xfc, 0xf4};

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("open /dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    size_t memory_size = 2 << 20;
    uint8_t *memory = mmap(NULL, memory_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                           -1, 0);
    if (memory == MAP_FAILED) die("mmap");
    memcpy(memory + 0x1000, code, sizeof code);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = memory_size, .userspace_addr = (uint64_t) memory};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) die("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) die("mmap kvm_run");

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
    struct kvm_regs regs = {.rip = 0x1000, .rflags = 2};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");

    struct timespec start, end;
    uint64_t exits = 0;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
        if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x10) {
            exits++;
        } else if (run->exit_reason == KVM_EXIT_HLT) {
            break;
        } else {
            fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    printf("exits=%llu seconds=%.6f\n", (unsigned long long) exits, seconds);
    return exits == count ? 0 : 1;
}
