package dev.panavisor.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.kvm.abi.KvmCap;
import dev.panavisor.sys.Errno;
import dev.panavisor.testing.Requires;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KvmTest {
    @Test
    void a_missing_device_gives_a_clear_message() {
        KvmException e = assertThrows(KvmException.class, () -> Kvm.open(Path.of("/nonexistent/kvm")));
        assertTrue(e.getMessage().startsWith("/nonexistent/kvm does not exist: KVM is not available"),
                e.getMessage());
    }

    @Test
    void a_file_that_is_not_kvm_is_rejected() {
        KvmException e = assertThrows(KvmException.class, () -> Kvm.open(Path.of("/dev/null")));
        assertEquals("/dev/null is not a KVM device: ioctl(KVM_GET_API_VERSION): "
                + "Inappropriate ioctl for device (errno 25)", e.getMessage());
    }

    @Test
    void permission_problems_say_what_to_do() {
        // Root bypasses file permissions, so the mapping from errno to advice is checked directly.
        String message = Kvm.explainOpenFailure(Path.of("/dev/kvm"), Errno.EACCES);
        assertEquals("no permission to open /dev/kvm (run as root or add your user to the group that owns it,"
                + " usually 'kvm')", message);
    }

    @Test
    void host_probe_reads_the_backing_from_loaded_modules(@TempDir Path dir) throws Exception {
        Path device = Files.createFile(dir.resolve("kvm"));
        Path modules = Files.createDirectories(dir.resolve("module"));
        Files.createDirectories(modules.resolve("kvm"));
        assertEquals(KvmBacking.UNKNOWN, KvmHost.probe(device, modules).backing());
        Files.createDirectories(modules.resolve("kvm_pvm"));
        KvmHost pvm = KvmHost.probe(device, modules);
        assertEquals(KvmBacking.PVM, pvm.backing());
        assertFalse(pvm.bootsLinux());
        Files.createDirectories(modules.resolve("kvm_amd"));
        assertTrue(KvmHost.probe(device, modules).bootsLinux());
        assertEquals(KvmBacking.NONE, KvmHost.probe(dir.resolve("missing"), modules).backing());
        KvmHost devNull = KvmHost.probe(Path.of("/dev/null"), modules); // kvm_amd is "loaded", but not for this one
        assertEquals(KvmBacking.NOT_KVM, devNull.backing());
        assertFalse(devNull.bootsLinux());
        assertEquals("/dev/null is a character device, but not KVM's (/dev/kvm is 10:232)", devNull.situation());
    }

    /** The one judgement of a device path that {@code check --device} and {@link KvmHost#probe} share. */
    @Test
    void a_device_path_is_judged_by_its_type_and_number(@TempDir Path dir) throws Exception {
        assertEquals(KvmHost.Node.OTHER_CHARACTER_DEVICE, KvmHost.node(Path.of("/dev/null")));
        Path link = Files.createSymbolicLink(dir.resolve("null-link"), Path.of("/dev/null"));
        assertEquals(KvmHost.Node.OTHER_CHARACTER_DEVICE, KvmHost.node(link), "links are followed");
        assertEquals(KvmHost.Node.NOT_CHARACTER_DEVICE, KvmHost.node(Files.writeString(dir.resolve("f"), "x")));
        assertEquals(KvmHost.Node.NOT_CHARACTER_DEVICE, KvmHost.node(dir));
        assertEquals(KvmHost.Node.UNKNOWN, KvmHost.node(dir.resolve("missing")));
        // /dev/kvm itself is judged in real_kvm_answers_version_capabilities_and_cpuid, where there is one.
    }

    /** dev_t's two numbers as glibc packs them (sys/sysmacros.h): 32 bits each, split across the 64-bit word. */
    @Test
    void device_numbers_unpack_as_glibc_packs_them() {
        assertEquals(10, KvmHost.major(0xae8));
        assertEquals(232, KvmHost.minor(0xae8));
        long major = 0x4567;
        long minor = 0xabcde;
        long big = ((major & 0xfff) << 8) | ((major & ~0xfffL) << 32) | (minor & 0xff) | ((minor & ~0xffL) << 12);
        assertEquals(major, KvmHost.major(big));
        assertEquals(0xabcde, KvmHost.minor(big));
    }

    @Test
    @Tag("kvm")
    void real_kvm_answers_version_capabilities_and_cpuid() {
        Requires.kvm();
        assertEquals(KvmHost.Node.KVM, KvmHost.node(KvmHost.DEFAULT_DEVICE), "/dev/kvm is character device 10:232");
        try (Kvm kvm = Kvm.open()) {
            assertEquals(12, kvm.apiVersion());
            assertTrue(kvm.has(KvmCap.USER_MEMORY));
            // kvm_run in page 0 and port I/O data in page 1 (KVM_PIO_PAGE_OFFSET), which Vcpu reads; KVM's
            // coalesced ring (page 2) may be absent, and CoalescedRing then goes without it.
            assertTrue(kvm.vcpuMmapSize() >= 2 * 4096, "kvm_run plus the PIO page: " + kvm.vcpuMmapSize());
            List<CpuidEntry> cpuid = kvm.supportedCpuid();
            CpuidEntry leaf0 = cpuid.stream().filter(e -> e.function() == 0).findFirst().orElseThrow();
            assertTrue(leaf0.eax() >= 1, "CPUID leaf 0 reports the highest basic leaf");
            try (Vm vm = kvm.createVm()) {
                Vcpu vcpu = vm.createVcpu(0);
                vcpu.setCpuid(cpuid);
                vcpu.setFpu(0x37f, 0x1f80);
                int[] control = vcpu.fpuControl();
                assertEquals(0x37f, control[0]);
                // MXCSR is not asserted: kvm_pvm reads it back as 0 (it keeps SSE state elsewhere).
                int tscAux = 0xc000_0103;
                vcpu.setMsrs(Map.of(tscAux, 5L));
                assertEquals(5L, vcpu.msr(tscAux));
                Regs regs = vcpu.regs().set(Reg.RSI, 0x7000);
                vcpu.setRegs(regs);
                assertEquals(0x7000, vcpu.regs().get(Reg.RSI));
            }
        }
    }

    @Test
    @Tag("kvm")
    void in_kernel_irqchip_gives_each_vcpu_a_local_apic() {
        Requires.kvm();
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm()) {
            vm.setTssAddress(dev.panavisor.memory.GuestLayout.KVM_TSS_ADDRESS);
            vm.createIrqchip();
            vm.createPit2();
            Vcpu vcpu = vm.createVcpu(0);
            byte[] lapic = vcpu.lapic();
            assertEquals(1024, lapic.length);
            // APIC version register (offset 0x30): an integrated APIC reports version 0x1x.
            assertEquals(0x10, lapic[0x30] & 0xf0);
            vcpu.setLapic(lapic);
            assertEquals(0x10, vcpu.lapic()[0x30] & 0xf0, "the state written back reads back");
        }
    }
    /**
     * A stop that races the VM's end (a SIGTERM hook or Ctrl-A x kicking every vCPU while the main thread closes
     * them): a kick after close does nothing. It used to write kvm_run's immediate_exit into the page close had
     * unmapped, a SIGSEGV that ended the JVM.
     */
    @Test
    @Tag("kvm")
    void a_kick_after_close_touches_nothing() {
        Requires.kvm();
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm()) {
            Vcpu vcpu = vm.createVcpu(0);
            vcpu.kick();
            vcpu.close();
            vcpu.kick();
            vcpu.close();
        }
    }
}
