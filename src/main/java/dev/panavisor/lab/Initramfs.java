package dev.panavisor.lab;

import dev.panavisor.image.CpioArchive;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Builds the L1 initramfs, an uncompressed newc cpio archive (no compression: L1 would spend emulated time
 * decompressing it):
 * <pre>
 *   /init                 init.sh (this package's resource)
 *   /bin/busybox          the host's static busybox; init links the applets at boot
 *   /dev/console          char 5:1, so the kernel has a console before devtmpfs is mounted
 *   /lab/modules/*.ko     the kernel modules, /lab/modules.order their load order
 *   /lab/run.conf         this run's shares, working directory and command ({@link RunConfig})
 * </pre>
 */
final class Initramfs {
    static final String INIT_RESOURCE = "init.sh";
    /** Fixed timestamp for every entry: the archive depends only on its inputs. */
    private static final long MTIME = 0;

    private Initramfs() {
    }

    static void write(Path target, LabAssets assets, String runConf) throws IOException {
        try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(target), 1 << 16);
                CpioArchive cpio = new CpioArchive(file, MTIME)) {
            for (String dir : List.of("bin", "dev", "proc", "sys", "run", "mnt", "mnt/host", "lab", "lab/modules")) {
                cpio.directory(dir, 0755);
            }
            cpio.characterDevice("dev/console", 0600, 5, 1);
            cpio.file("init", 0755, initScript());
            cpio.file("bin/busybox", 0755, Files.readAllBytes(assets.busybox()));
            for (String module : assets.moduleOrder()) {
                cpio.file("lab/modules/" + module + ".ko", 0644,
                        Files.readAllBytes(assets.modulesDir().resolve(module + ".ko")));
            }
            cpio.file("lab/modules.order", 0644,
                    (String.join("\n", assets.moduleOrder()) + "\n").getBytes(StandardCharsets.UTF_8));
            cpio.file("lab/run.conf", 0644, runConf.getBytes(StandardCharsets.UTF_8));
        }
    }

    static byte[] initScript() throws IOException {
        try (InputStream in = Initramfs.class.getResourceAsStream(INIT_RESOURCE)) {
            if (in == null) {
                throw new LabException("resource " + INIT_RESOURCE + " is missing from the Panavisor jar");
            }
            return in.readAllBytes();
        }
    }
}
