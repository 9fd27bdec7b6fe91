package dev.panavisor.cli;

import dev.panavisor.image.GuestImages;
import dev.panavisor.image.ImageException;
import dev.panavisor.image.ImageSources;
import dev.panavisor.lab.LinuxGuests;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code panavisor image}: build the default guest kernel and root file system, or show where they are. */
@Command(name = "image", mixinStandardHelpOptions = true,
        description = "Build and locate the default guest (kernel + busybox root file system).",
        subcommands = {ImageCommand.Build.class, ImageCommand.ShowPath.class})
final class ImageCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "build", mixinStandardHelpOptions = true,
            description = {"Build the guest kernel and root file system (minutes the first time, then cached).",
                    "Installs the Debian packages it needs when run as root."})
    static final class Build implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--sources", paramLabel = "DIR",
                description = "Build from this copy of guest-images/ instead of the one packed into Panavisor.")
        Path sources;

        @Option(names = "--kernel-only", description = "Build only the kernel.")
        boolean kernelOnly;

        @Option(names = "--rootfs-only", description = "Build only the root file system.")
        boolean rootfsOnly;

        @Option(names = "--no-aot", description = "Do not record the JVM's AOT cache (a training boot of the new "
                + "guest, through the nested lab where guests run there; docs/performance.md, \"Start-up\").")
        boolean noAot;

        @Override
        public Integer call() {
            if (kernelOnly && rootfsOnly) {
                throw new UsageException("--kernel-only and --rootfs-only leave nothing to build; give neither to "
                        + "build both");
            }
            PrintWriter err = spec.commandLine().getErr();
            GuestImages images = new GuestImages(
                    dev.panavisor.image.ImageCache.forUser(System.getenv()),
                    sources == null ? ImageSources.bundled() : ImageSources.fromDirectory(sources),
                    line -> {
                        err.println("panavisor: " + line);
                        err.flush();
                    });
            PrintWriter out = spec.commandLine().getOut();
            if (!rootfsOnly) {
                GuestImages.Kernel kernel = images.kernel();
                print(out, "bzImage", kernel.bzImage());
                print(out, "vmlinux", kernel.vmlinux());
                print(out, "config", kernel.config());
            }
            if (!kernelOnly) {
                GuestImages.Rootfs rootfs = images.rootfs();
                print(out, "rootfs", rootfs.ext4());
                print(out, "initramfs", rootfs.initramfs());
            }
            out.flush();
            if (!noAot && !kernelOnly && !rootfsOnly) {
                GuestImages.GuestImage guest = images.guest();
                AotTraining.ensure(LinuxGuests.locate().route(), guest.kernel().bzImage(),
                        guest.rootfs().initramfs(), err);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "path", mixinStandardHelpOptions = true,
            description = "Print the paths of the most recently built guest images (builds nothing).")
    static final class ShowPath implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            GuestImages images = GuestImages.forUser(line -> { });
            GuestImages.GuestImage guest = images.newestBuilt().orElseThrow(() -> new ImageException(
                    "no guest image in " + images.cache().root() + " yet; run: panavisor image build"));
            PrintWriter out = spec.commandLine().getOut();
            print(out, "bzImage", guest.kernel().bzImage());
            print(out, "vmlinux", guest.kernel().vmlinux());
            print(out, "config", guest.kernel().config());
            print(out, "rootfs", guest.rootfs().ext4());
            print(out, "initramfs", guest.rootfs().initramfs());
            out.flush();
            return ExitCodes.OK;
        }
    }

    /** One artifact per line: a name, the path and its size, easy to read and to cut. */
    static void print(PrintWriter out, String name, Path path) {
        out.printf("%-10s %s (%s)%n", name + ":", path, size(path));
    }

    private static String size(Path path) {
        try {
            long bytes = Files.size(path);
            return bytes >= 1 << 20 ? String.format("%.1f MiB", bytes / 1048576.0)
                    : String.format("%.1f KiB", bytes / 1024.0);
        } catch (IOException e) {
            return "missing";
        }
    }
}
