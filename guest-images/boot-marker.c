/*
 * boot-marker: tells the VMM "user space is running" by writing one byte to an I/O port.
 *
 * The guest's /init runs this as its very first command. A VMM that watches port 0x440 (Panavisor does)
 * sees the write as a port-I/O VM exit and can measure the boot time from VM start to this moment, the way
 * Firecracker's boot timer device does with an MMIO write. On a VMM that does not watch the port the write
 * is simply dropped, so it is harmless everywhere.
 *
 * Busybox has no command to write an I/O port, and /dev/port needs PCI or ISA support in the kernel, so this
 * is a 30-line program with no C library: two system calls (ioperm(2), exit(2)) and one `out` instruction.
 * It needs CONFIG_X86_IOPL_IOPERM in the kernel and CAP_SYS_RAWIO (init runs as root).
 *
 * Exit status: 0 when the byte was written, 1 when ioperm(2) was refused.
 *
 * Build: gcc -static -nostdlib -ffreestanding -fno-pie -no-pie -fno-asynchronous-unwind-tables -fno-stack-protector
 *        -Os -s -Wl,--build-id=none
 */

#define BOOT_MARKER_PORT 0x440 /* unused by PC hardware and by QEMU's microvm machine */
#define BOOT_MARKER_VALUE 123  /* the byte the VMM looks for */

#define SYS_ioperm 173 /* x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl) */
#define SYS_exit 60

static long syscall3(long number, long a, long b, long c) {
    long result;
    /* x86-64 Linux system call convention: number in rax, arguments in rdi, rsi, rdx; rcx and r11 clobbered. */
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(number), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return result;
}

static void outb(unsigned short port, unsigned char value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

__attribute__((noreturn)) void _start(void) {
    long status = 1;
    if (syscall3(SYS_ioperm, BOOT_MARKER_PORT, 1, 1) == 0) {
        outb(BOOT_MARKER_PORT, BOOT_MARKER_VALUE);
        status = 0;
    }
    syscall3(SYS_exit, status, 0, 0);
    for (;;) {
    }
}
