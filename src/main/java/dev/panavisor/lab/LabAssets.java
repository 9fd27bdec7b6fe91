package dev.panavisor.lab;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything a lab run needs from the host, resolved and cached by {@link AssetCache}.
 *
 * @param qemu        qemu-system-x86_64: the host's (Debian package qemu-system-x86) or a newer one unpacked into
 *                    the cache ({@link BackportedQemu})
 * @param firmwareDirs QEMU's data directories to pass with {@code -L} (empty: its built-in ones)
 * @param busybox     a statically linked busybox (Debian package busybox-static): the L1 userland
 * @param kernel      the L1 kernel: an uncompressed ELF vmlinux (PVH boot) or, failing that, the bzImage
 * @param kernelName  the kernel package and version it came from, for messages
 * @param modulesDir  directory of the needed .ko files, uncompressed, named {@code <module name>.ko}
 * @param moduleOrder names of the modules to load, dependencies first
 */
public record LabAssets(Path qemu, List<Path> firmwareDirs, Path busybox, Path kernel, String kernelName, Path modulesDir,
        List<String> moduleOrder) {
    public LabAssets {
        moduleOrder = List.copyOf(moduleOrder);
        firmwareDirs = List.copyOf(firmwareDirs);
    }
}
