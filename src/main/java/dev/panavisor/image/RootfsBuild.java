package dev.panavisor.image;

import dev.panavisor.host.DebianPackages;
import dev.panavisor.host.HostCommand;
import dev.panavisor.host.StaticElf;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * Builds the guest's root file system from busybox-static, {@code guest-images/init} and the boot marker, in both
 * forms: {@value #EXT4_FILE} (the root disk, {@code root=/dev/vda}) and {@value #INITRAMFS_FILE}.
 */
public final class RootfsBuild {
    public static final String EXT4_FILE = "rootfs.ext4";
    public static final String INITRAMFS_FILE = "initramfs.cpio.gz";
    /** Size of the ext4 image: busybox takes 2 MB, the rest is room for what a guest writes (sparse on disk). */
    public static final long EXT4_SIZE = 64L << 20;
    /** Debian's busybox-static installs its binary here. */
    static final Path BUSYBOX = Path.of("/bin/busybox");

    /** gcc flags for the boot marker: no C library, no startup files, no build ID (which would vary). */
    static final List<String> BOOT_MARKER_FLAGS = List.of("-static", "-nostdlib", "-ffreestanding", "-fno-pie",
            "-no-pie", "-fno-asynchronous-unwind-tables", "-fno-stack-protector", "-Os", "-s",
            "-Wl,--build-id=none");

    private final ImageSources sources;
    private final Consumer<String> progress;

    public RootfsBuild(ImageSources sources, Consumer<String> progress) {
        this.sources = sources;
        this.progress = progress;
    }

    /** The inputs whose change makes a different root file system. */
    public record Inputs(byte[] busybox, String gccVersion) {
    }

    /** Finds the inputs on this host, installing busybox-static if needed (as root). */
    public Inputs hostInputs(DebianPackages packages) {
        packages.require("busybox-static", "the guest root file system");
        packages.ensureInstalled(List.of("gcc", "e2fsprogs"), "the guest root file system");
        try {
            byte[] busybox = Files.readAllBytes(BUSYBOX);
            if (!StaticElf.isStatic(busybox)) {
                throw new ImageException(BUSYBOX + " is not a static executable; the guest has no C library: "
                        + "install busybox-static instead of busybox");
            }
            return new Inputs(busybox, HostCommand.of("gcc", "-dumpfullversion").output().strip());
        } catch (IOException e) {
            throw new ImageException("cannot read " + BUSYBOX + ": " + e.getMessage(), e);
        }
    }

    /** The cache entry name of a root file system built from these inputs. */
    public CacheKey key(Inputs inputs) {
        return CacheKey.of("rootfs")
                .add("builder", GuestImages.BUILDER_VERSION)
                .add("busybox", inputs.busybox())
                .add("init", sources.init())
                .add("boot-marker.c", sources.bootMarkerSource())
                .add("gcc", inputs.gccVersion())
                .add("ext4-size", Long.toString(EXT4_SIZE));
    }

    /** Builds both images into {@code output}, using {@code scratch} for intermediate files. */
    public void build(Inputs inputs, Path output, Path scratch) throws IOException {
        progress.accept("rootfs: compiling the boot marker");
        byte[] bootMarker = compileBootMarker(scratch);
        List<String> applets = HostCommand.of(BUSYBOX.toString(), "--list-full").output().lines().toList();
        RootfsLayout layout = RootfsLayout.busyboxSystem(inputs.busybox(), applets, sources.init(), bootMarker);

        progress.accept("rootfs: writing " + EXT4_FILE + " (" + applets.size() + " busybox applets)");
        Ext4Image.write(layout, output.resolve(EXT4_FILE), EXT4_SIZE, GuestImages.SOURCE_DATE_EPOCH, scratch);
        progress.accept("rootfs: writing " + INITRAMFS_FILE);
        try (OutputStream out = Files.newOutputStream(output.resolve(INITRAMFS_FILE))) {
            Initramfs.write(layout, out, GuestImages.SOURCE_DATE_EPOCH);
        }
    }

    byte[] compileBootMarker(Path scratch) throws IOException {
        Path source = scratch.resolve(ImageSources.BOOT_MARKER_FILE);
        Path binary = scratch.resolve("boot-marker");
        Files.writeString(source, sources.bootMarkerSource(), StandardCharsets.UTF_8);
        List<String> command = new java.util.ArrayList<>(List.of("gcc"));
        command.addAll(BOOT_MARKER_FLAGS);
        command.addAll(List.of("-o", binary.toString(), source.toString()));
        new HostCommand(command, scratch, java.util.Map.of()).check();
        return Files.readAllBytes(binary);
    }
}
