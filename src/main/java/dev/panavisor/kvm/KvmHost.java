package dev.panavisor.kvm;

import dev.panavisor.sys.FileType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What this host offers for KVM, found without opening the device: whether /dev/kvm exists and may be opened,
 * and which module backs it. This is the one place that decides whether Linux guests can boot directly here;
 * {@code panavisor check}, {@code run} and the lab all ask it.
 *
 * @param device      the KVM device path (normally /dev/kvm)
 * @param exists      whether the device node exists
 * @param accessible  whether this process may open it read-write
 * @param backing     the module behind it
 */
public record KvmHost(Path device, boolean exists, boolean accessible, KvmBacking backing) {
    public static final Path DEFAULT_DEVICE = Path.of("/dev/kvm");
    private static final Path SYS_MODULE = Path.of("/sys/module");

    /** Probes the default device and the running kernel's modules. */
    public static KvmHost probe() {
        return probe(DEFAULT_DEVICE, SYS_MODULE);
    }

    /** Probes {@code device}, reading loaded modules from {@code sysModule} (injectable for tests). */
    public static KvmHost probe(Path device, Path sysModule) {
        boolean exists = Files.exists(device);
        boolean accessible = exists && Files.isReadable(device) && Files.isWritable(device);
        KvmBacking backing;
        if (!exists) {
            backing = KvmBacking.NONE;
        } else if (node(device) == Node.OTHER_CHARACTER_DEVICE) {
            backing = KvmBacking.NOT_KVM;
        } else if (Files.isDirectory(sysModule.resolve("kvm_intel"))) {
            backing = KvmBacking.INTEL_VMX;
        } else if (Files.isDirectory(sysModule.resolve("kvm_amd"))) {
            backing = KvmBacking.AMD_SVM;
        } else if (Files.isDirectory(sysModule.resolve("kvm_pvm"))) {
            backing = KvmBacking.PVM;
        } else {
            backing = KvmBacking.UNKNOWN;
        }
        return new KvmHost(device, exists, accessible, backing);
    }

    /** KVM's device number: misc devices have major 10, and KVM_MINOR is 232 (include/linux/miscdevice.h). */
    static final int KVM_MAJOR = 10;
    static final int KVM_MINOR = 232;

    /** What a path given as the KVM device is, judged by its file type and device number (links followed). */
    public enum Node {
        /** A character device numbered 10:232, KVM's. */
        KVM,
        /** A character device with another number ({@code check --device /dev/null}): not what the modules describe. */
        OTHER_CHARACTER_DEVICE,
        /** Not a character device at all (a regular file, a directory). */
        NOT_CHARACTER_DEVICE,
        /** Missing, or its type could not be read: opening it will say what is wrong. */
        UNKNOWN
    }

    /** What {@code device} is; see {@link Node}. */
    public static Node node(Path device) {
        try {
            Path real = device.toRealPath();
            if (FileType.of(real) != FileType.CHARACTER_DEVICE) {
                return Node.NOT_CHARACTER_DEVICE;
            }
            long rdev = (Long) Files.getAttribute(real, "unix:rdev");
            return major(rdev) == KVM_MAJOR && minor(rdev) == KVM_MINOR ? Node.KVM : Node.OTHER_CHARACTER_DEVICE;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return Node.UNKNOWN;
        }
    }

    /** glibc's gnu_dev_major and gnu_dev_minor (sys/sysmacros.h): the two numbers in a 64-bit dev_t. */
    static long major(long dev) {
        return ((dev & 0x0000_0000_000f_ff00L) >>> 8) | ((dev & 0xffff_f000_0000_0000L) >>> 32);
    }

    static long minor(long dev) {
        return (dev & 0xffL) | ((dev & 0x0000_0fff_fff0_0000L) >>> 12);
    }

    /** True when a Linux guest can boot on this host's KVM directly (without the nested lab). */
    public boolean bootsLinux() {
        return exists && accessible && backing.isHardware();
    }

    /**
     * What this host's KVM is, in one phrase a user without KVM knowledge understands. The three kinds of host
     * Panavisor meets: no /dev/kvm at all (a VM without nested virtualization), a /dev/kvm that only runs tiny
     * guests (kvm_pvm), and hardware virtualization; plus the two ways a present device can still be unusable.
     */
    public String situation() {
        if (!exists) {
            return "this host has no " + device + " (no KVM: a virtual machine without nested virtualization, "
                    + "or KVM not loaded)";
        }
        if (!accessible) {
            return device + " exists but this user cannot open it read-write (join its group, e.g. kvm, or run "
                    + "as root)";
        }
        return switch (backing) {
            case INTEL_VMX, AMD_SVM -> device + " is " + backing.description();
            case PVM -> device + " here is kvm_pvm, which runs tiny guests only (it emulates guest kernel code in "
                    + "software, so Linux cannot boot on it)";
            case UNKNOWN -> device + " is backed by an unknown module, so Panavisor does not boot Linux on it "
                    + "directly";
            case NOT_KVM -> device + " is a character device, but not KVM's (/dev/kvm is 10:232)";
            case NONE -> "this host has no " + device;
        };
    }
}
