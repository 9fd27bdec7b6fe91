package dev.panavisor.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Boots a guest image under QEMU's microvm machine: the reference that proves the images before Panavisor's own
 * loader exists. microvm with {@code acpi=off} declares its virtio-mmio devices on the kernel command line
 * itself (its auto-kernel-cmdline option), which is exactly how Panavisor will.
 */
final class QemuMicrovm {
    /** What one run printed and how it ended. */
    record Run(String console, int exitStatus, Duration wallTime) {
    }

    private final Path kernel;
    private final List<String> extraArguments = new ArrayList<>();
    private String commandLine = "console=ttyS0 quiet reboot=t";
    private String accelerator = "tcg";

    QemuMicrovm(Path kernel) {
        this.kernel = kernel;
    }

    /** Root on the ext4 image as /dev/vda, on a virtio-mmio block device; writes go to a throwaway overlay. */
    QemuMicrovm rootDisk(Path ext4) {
        extraArguments.addAll(List.of("-drive", "id=root,file=" + ext4 + ",format=raw,if=none,snapshot=on",
                "-device", "virtio-blk-device,drive=root"));
        commandLine += " root=/dev/vda rw";
        return this;
    }

    QemuMicrovm initramfs(Path initramfs) {
        extraArguments.addAll(List.of("-initrd", initramfs.toString()));
        return this;
    }

    QemuMicrovm append(String parameters) {
        commandLine += " " + parameters;
        return this;
    }

    QemuMicrovm device(String device) {
        extraArguments.addAll(List.of("-device", device));
        return this;
    }

    QemuMicrovm accelerator(String name) {
        accelerator = name;
        return this;
    }

    List<String> arguments() {
        List<String> arguments = new ArrayList<>(List.of("qemu-system-x86_64",
                "-M", "microvm,acpi=off", "-accel", accelerator, "-cpu", "max", "-m", "256", "-smp", "1",
                "-nographic", "-no-reboot", "-no-user-config",
                "-kernel", kernel.toString(), "-append", commandLine));
        arguments.addAll(extraArguments);
        return arguments;
    }

    /**
     * Runs the same QEMU command inside the nested lab, with {@code -accel kvm} on L1's kvm_amd: the reference boot
     * on hardware-style KVM, as Panavisor's own boots run here.
     */
    Run runInLab(Duration timeout) {
        accelerator = "kvm";
        java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
        long start = System.nanoTime();
        int status = dev.panavisor.lab.Lab.run(dev.panavisor.lab.LabConfig.defaults().withTimeout(timeout),
                arguments(), console, console);
        return new Run(console.toString(StandardCharsets.ISO_8859_1), status,
                Duration.ofNanos(System.nanoTime() - start));
    }

    /** Root on a writable copy of an ext4 image as /dev/vda (no snapshot: inside the lab /var/tmp is read-only). */
    QemuMicrovm writableRootDisk(Path ext4) {
        extraArguments.addAll(List.of("-drive", "id=root,file=" + ext4 + ",format=raw,if=none",
                "-device", "virtio-blk-device,drive=root"));
        commandLine += " root=/dev/vda rw";
        return this;
    }

    /** Runs QEMU until the guest ends (reset = exit, thanks to -no-reboot) or the timeout kills it. */
    Run run(Duration timeout) throws IOException, InterruptedException {
        Path output = Files.createTempFile("qemu-microvm-", ".log");
        try {
            long start = System.nanoTime();
            Process qemu = new ProcessBuilder(arguments()).redirectErrorStream(true)
                    .redirectOutput(output.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!qemu.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                qemu.destroyForcibly().waitFor();
                throw new AssertionError("QEMU did not finish within " + timeout + "; console:\n"
                        + Files.readString(output, StandardCharsets.ISO_8859_1));
            }
            Duration wall = Duration.ofNanos(System.nanoTime() - start);
            return new Run(Files.readString(output, StandardCharsets.ISO_8859_1), qemu.exitValue(), wall);
        } finally {
            Files.deleteIfExists(output);
        }
    }
}
